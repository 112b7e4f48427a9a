"""The field report: one self-contained HTML file with the summary table and plots (made with
matplotlib, embedded as SVG): the town map, parking occupancy per bay over the day (as the
network received it, over the ground truth), the water levels with the alarm threshold and
the alarms, and the temperatures."""

import html
import io

import matplotlib

matplotlib.use("Agg")  # no display: render to files only
import matplotlib.pyplot as plt  # noqa: E402

from .results import columns, count, summary_rows  # noqa: E402

KIND_STYLE = {
    "parking": ("tab:orange", "s", "parking bay"),
    "water_level": ("tab:blue", "D", "water level"),
    "temperature": ("tab:red", "o", "temperature"),
}


def _svg(fig):
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _hours(spec, t_s):
    return spec.start_hour + t_s / 3600.0


def plot_map(spec, results):
    fig, ax = plt.subplots(figsize=(9, 5))
    for street in spec.streets:
        xs, ys = zip(*street, strict=True)
        ax.plot(xs, ys, color="0.8", linewidth=6, solid_capstyle="round", zorder=1)
    if spec.river:
        xs, ys = zip(*spec.river, strict=True)
        ax.plot(xs, ys, color="lightskyblue", linewidth=8, zorder=1, label="river")
    for kind, (color, marker, label) in KIND_STYLE.items():
        nodes = [n for n in results.nodes if n.kind == kind]
        if nodes:
            ax.scatter(
                [n.position[0] for n in nodes],
                [n.position[1] for n in nodes],
                c=color,
                marker=marker,
                s=28,
                label=f"{label} ({len(nodes)})",
                zorder=3,
            )
    for gateway in spec.gateways:
        x, y = gateway.position
        ax.scatter([x], [y], c="black", marker="^", s=120, zorder=4)
        ax.annotate(gateway.name, (x, y), textcoords="offset points", xytext=(6, 6))
    ax.set_aspect("equal")
    ax.set_xlabel("m")
    ax.set_ylabel("m")
    ax.set_title(f"{spec.name}: nodes and gateways")
    ax.legend(loc="upper right", fontsize="small")
    return _svg(fig)


def plot_parking(spec, results, truths):
    bays = [n for n in results.nodes if n.kind == "parking"]
    if not bays:
        return None
    end_h = _hours(spec, spec.hours * 3600)
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(bays) + 1.2))
    by_eui = {}
    for t, eui, kind, data in results.readings:
        if kind == "parking":
            by_eui.setdefault(eui, []).append((t, data["occupied"]))
    for row, bay in enumerate(bays):
        truth = truths.get(bay.name)
        if truth is not None:
            ax.broken_barh(_truth_spans(spec, truth.events), (row - 0.38, 0.18), color="0.75")
        spans = []
        start = None
        for t, occupied in by_eui.get(bay.dev_eui, ()):
            if occupied and start is None:
                start = t
            elif not occupied and start is not None:
                spans.append((_hours(spec, start), (t - start) / 3600))
                start = None
        if start is not None:
            spans.append((_hours(spec, start), end_h - _hours(spec, start)))
        ax.broken_barh(spans, (row - 0.15, 0.5), color="tab:orange")
    ax.set_yticks(range(len(bays)), [b.name for b in bays])
    ax.set_xlim(spec.start_hour, end_h)
    ax.set_xlabel("hour of day")
    ax.set_title("Parking occupancy per bay (orange: as received, grey: ground truth)")
    return _svg(fig)


def _truth_spans(spec, events):
    end = spec.hours * 3600
    spans, start = [], None
    for t, what in events:
        if what == "arrive" and t < end:
            start = t
        elif what == "depart" and start is not None:
            spans.append((_hours(spec, start), (min(t, end) - start) / 3600))
            start = None
    if start is not None:
        spans.append((_hours(spec, start), (end - start) / 3600))
    return spans


def plot_water(spec, results, thresholds):
    gauges = [n for n in results.nodes if n.kind == "water_level"]
    if not gauges:
        return None
    fig, ax = plt.subplots(figsize=(9, 4))
    for gauge in gauges:
        points, alarms = [], []
        for t, eui, kind, data in results.readings:
            if eui != gauge.dev_eui or kind != "water_level":
                continue
            if "levels_mm" in data:
                step = data.get("interval_s", 900)
                n = len(data["levels_mm"])
                for i, level in enumerate(data["levels_mm"]):
                    points.append((t - step * (n - 1 - i), level))
            elif "level_mm" in data:
                points.append((t, data["level_mm"]))
                if data.get("alarm"):
                    alarms.append((t, data["level_mm"]))
        points.sort()
        if points:
            ax.plot([_hours(spec, t) for t, _ in points], [v for _, v in points], label=gauge.name)
        if alarms:
            ax.scatter(
                [_hours(spec, t) for t, _ in alarms],
                [v for _, v in alarms],
                c="red",
                s=8,
                zorder=3,
            )
    for value in sorted(set(thresholds)):
        ax.axhline(value, color="red", linestyle="--", linewidth=1)
        ax.annotate(
            f"alarm threshold {value} mm",
            (spec.start_hour, value),
            textcoords="offset points",
            xytext=(4, 4),
            color="red",
            fontsize="small",
        )
    ax.set_xlabel("hour of day")
    ax.set_ylabel("water level, mm")
    ax.set_title("Water level (red dots: alarm uplinks, one a minute while high)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return _svg(fig)


def plot_temperature(spec, results):
    sensors = [n for n in results.nodes if n.kind == "temperature"]
    if not sensors:
        return None
    fig, ax = plt.subplots(figsize=(9, 4))
    for sensor in sensors:
        points = [
            (_hours(spec, t), data["temperature_c"])
            for t, eui, kind, data in results.readings
            if eui == sensor.dev_eui and kind == "temperature" and "temperature_c" in data
        ]
        if points:
            ax.plot(*zip(*points, strict=True), marker=".", markersize=3, label=sensor.name)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("°C")
    ax.set_title("Temperatures")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", ncol=2)
    return _svg(fig)


def _table(results):
    rows = summary_rows(results)
    shown = columns(results)
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in shown)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(row[key])}</td>" for key, _ in shown) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _note_html(note):
    """A summary note as HTML: what stands in `backticks` (a command) as code."""
    parts = html.escape(note).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def write_report(path, spec, results, truths, notes=()):
    thresholds = [
        n.settings.get("thresholds", {}).get("high_mm")
        for n in spec.nodes
        if n.kind == "water_level" and n.settings.get("thresholds", {}).get("high_mm")
    ]
    figures = [
        plot_map(spec, results),
        plot_parking(spec, results, truths),
        plot_water(spec, results, thresholds),
        plot_temperature(spec, results),
    ]
    speed = results.speedup
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(spec.name)}: lorafield emulated field</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#eee}figure{margin:1.5em 0}li.sub{margin-left:2em}"
        "</style></head><body>",
        f"<h1>{html.escape(spec.name)}</h1>",
        f"<p>{count(len(results.nodes), 'node')}, {count(len(spec.gateways), 'gateway')}, "
        f"{spec.hours:g} h emulated in {results.wall_s:.1f} s "
        f"({speed:,.0f}x real time). Real firmware on emulated boards, the radio medium, "
        "the gateway service and the local network server (SQLite).</p>",
        _table(results),
    ]
    if notes:
        items = "".join(
            f"<li class='sub'>{_note_html(n[2:])}</li>"
            if n.startswith("  ")
            else f"<li>{_note_html(n)}</li>"
            for n in notes
        )
        parts.append(f"<ul>{items}</ul>")
    for figure in figures:
        if figure is not None:
            parts.append(f"<figure>{figure}</figure>")
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(parts))
    return path
