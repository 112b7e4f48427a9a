"""Charts as inline SVG, drawn on the server: no script library, nothing fetched.

Every stored point in the range is drawn (a `circle class="pt"`), so what a person counts
on the page is what the database holds; the chart's `data-points` says how many. A timeline
draws a band (`rect class="pt"`) per state: those that began in the range, and the one the
range begins in.
"""

import time
from html import escape

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28


def _x(t, t0, t1):
    span = max(1, t1 - t0)
    return LEFT + (t - t0) / span * (WIDTH - LEFT - RIGHT)


def _time_ticks(t0, t1, count=6):
    span = max(1, t1 - t0)
    fmt = "%d %b %H:%M" if span > 86_400_000_000 else "%H:%M"
    out = []
    for i in range(count + 1):
        t = t0 + span * i // count
        out.append((_x(t, t0, t1), time.strftime(fmt, time.gmtime(t // 1_000_000))))
    return out


def _frame(title, unit, t0, t1, y_ticks, points, extra=""):
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" data-points="{points}">',
        f"<title>{escape(title)}</title>",
    ]
    for y, label in y_ticks:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="ytick" x="{LEFT - 6}" y="{y + 4:.1f}">{escape(label)}</text>'
        )
    for x, label in _time_ticks(t0, t1):
        parts.append(f'<text class="xtick" x="{x:.1f}" y="{HEIGHT - 8}">{escape(label)} </text>')
    parts.append(f'<text class="unit" x="4" y="{TOP + 10}">{escape(unit)}</text>')
    parts.append(extra)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title, unit, points, t0, t1, line=None, line_label=None, digits=1):
    """`points`: (time_us, value) in time order; `line`: a horizontal line (an alarm level)."""
    values = [v for _, v in points]
    if line is not None:
        values.append(line)
    if not values:
        return _empty(title)
    low, high = min(values), max(values)
    least = 4 * 10**-digits  # a flat series still gets five distinct tick labels
    if high - low < least:
        middle = (high + low) / 2
        low, high = middle - least / 2, middle + least / 2
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad

    def y(v):
        return TOP + (high - v) / (high - low) * (HEIGHT - TOP - BOTTOM)

    ticks = [
        (y(low + (high - low) * i / 4), f"{low + (high - low) * i / 4:.{digits}f}")
        for i in range(5)
    ]
    body = []
    if line is not None:
        body.append(
            f'<line class="alarm" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(line):.1f}" '
            f'y2="{y(line):.1f}"/><text class="alarm-label" x="{WIDTH - RIGHT - 4}" '
            f'y="{y(line) - 4:.1f}">{escape(line_label or "")}</text>'
        )
    coords = [(_x(t, t0, t1), y(v)) for t, v in points]
    if len(coords) > 1:
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        body.append(f'<polyline class="series" points="{path}"/>')
    for (t, v), (cx, cy) in zip(points, coords, strict=True):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t // 1_000_000))
        body.append(
            f'<circle class="pt" cx="{cx:.1f}" cy="{cy:.1f}" r="2.2">'
            f"<title>{stamp}Z: {v:.{digits}f} {escape(unit)}</title></circle>"
        )
    return _frame(title, unit, t0, t1, ticks, len(points), "".join(body))


def timeline(title, states, t0, t1, now_us):
    """Occupancy as bands: `states` (time_us, occupied) in time order; each lasts until the
    next one (the last until now)."""
    if not states:
        return _empty(title)
    body = []
    y0, height = TOP + 20, HEIGHT - TOP - BOTTOM - 40
    for i, (t, occupied) in enumerate(states):
        end = states[i + 1][0] if i + 1 < len(states) else now_us
        x0, x1 = _x(max(t, t0), t0, t1), _x(min(end, t1), t0, t1)
        state = "occupied" if occupied else "free"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t // 1_000_000))
        body.append(
            f'<rect class="pt {state}" x="{x0:.1f}" y="{y0}" width="{max(1.0, x1 - x0):.1f}" '
            f'height="{height}"><title>{stamp}Z: {state}</title></rect>'
        )
    return _frame(title, "occupied / free", t0, t1, [], len(states), "".join(body))


def _empty(title):
    return (
        f'<svg class="chart empty" viewBox="0 0 {WIDTH} 60" data-points="0" role="img" '
        f'aria-label="{escape(title)}"><text x="{WIDTH / 2}" y="34">no readings in this '
        "time range</text></svg>"
    )
