"""The field's plan: nodes at their fleet positions as an SVG, in Web Mercator pixels.

Without a tile URL the plan is drawn on a plain grid with a scale bar (a field gateway is
often offline; nothing is fetched). With one (`tiles = "https://.../{z}/{x}/{y}.png"`), the
map tiles of the zoom that fits the field are placed under the nodes, with the attribution
the tile server asks for.
"""

import math
from html import escape

WIDTH, HEIGHT = 960, 600  # the plan's most; its height shrinks to a flat field's
MIN_HEIGHT = 320
MARGIN = 40
MARGIN_X = 90  # room for a label right of the easternmost node
TILE = 256
MAX_ZOOM = 19
BAY_NEAR = 16  # px: bays closer than this are drawn side by side
BAY_ROW = 8


def _pixel(lat, lon, zoom):
    scale = TILE * 2**zoom
    x = (lon + 180.0) / 360.0 * scale
    s = math.sin(math.radians(max(-85.0, min(85.0, lat))))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


def _zoom(located, whole):
    """The zoom at which the field fills the plan; a tile server has whole zoom levels only."""
    xs, ys = zip(
        *(_pixel(d["location"]["lat"], d["location"]["lon"], 0) for d in located), strict=True
    )
    fits = []
    for span, room in (
        (max(xs) - min(xs), WIDTH - 2 * MARGIN_X),
        (max(ys) - min(ys), HEIGHT - 2 * MARGIN),
    ):
        if span > 0:
            fits.append(math.log2(room / span))
    zoom = min([MAX_ZOOM, *fits])
    return math.floor(zoom) if whole else zoom


def _bay_groups(bays):
    """Bays closer than a symbol's size on the plan, as groups: [(x, y, [device, ...])]."""
    groups = []
    for device, x, y in sorted(bays, key=lambda b: (b[1], b[2])):
        for group in groups:
            if abs(group[0] - x) < BAY_NEAR and abs(group[1] - y) < BAY_NEAR:
                group[2].append(device)
                break
        else:
            groups.append((x, y, [device]))
    return groups


def _bay_group(x, y, devices):
    """Bays side by side, rows of BAY_ROW, centred on the group's first position; each keeps
    its own link and colour."""
    if len(devices) == 1:
        return _symbol(devices[0], x, y)
    columns = min(BAY_ROW, len(devices))
    rows = math.ceil(len(devices) / columns)
    x0 = x - columns * 15 / 2 + 7.5
    y0 = y - rows * 19 / 2 + 9.5
    parts = []
    for i, device in enumerate(devices):
        parts.append(_symbol(device, x0 + (i % columns) * 15, y0 + (i // columns) * 19))
    free = sum(1 for d in devices if d.get("bay") == "free")
    parts.append(
        f'<text class="node-label" x="{x0 - 6:.1f}" y="{y0 + rows * 19 + 6:.1f}">'
        f"{free} of {len(devices)} free</text>"
    )
    return "".join(parts)


def _symbol(device, x, y):
    kind = device["kind"]
    name = escape(device["name"])
    href = f"/devices/{escape(device['dev_eui'])}"
    if kind == "parking":
        state = device.get("bay", "unknown")
        shape = (
            f'<rect class="bay {state}" data-state="{state}" x="{x - 6:.1f}" y="{y - 8:.1f}" '
            'width="12" height="16" rx="2"/>'
        )
        label = ""
    elif kind == "water_level":
        level, high = device.get("level_mm"), device.get("high_mm")
        fraction = 0.0
        if level is not None and high:
            fraction = max(0.0, min(1.0, level / high))
        alarm = " alarm" if device["alarms"] else ""
        fill = 30 * fraction
        shape = (
            f'<rect class="gauge{alarm}" x="{x - 5:.1f}" y="{y - 15:.1f}" width="10" height="30"/>'
            f'<rect class="gauge-level{alarm}" x="{x - 5:.1f}" y="{y + 15 - fill:.1f}" '
            f'width="10" height="{fill:.1f}"/>'
        )
        label = "?" if level is None else f"{level / 1000:.2f} m"
    else:
        state = device.get("state") or {}
        value = state.get("temperature_c")
        shape = f'<circle class="thermo" cx="{x:.1f}" cy="{y:.1f}" r="6"/>'
        label = "?" if value is None else f"{value:.1f} °C"
    silent = " silent" if device["silent"] else ""
    text = ""
    if label:
        text = f'<text class="node-label" x="{x + 9:.1f}" y="{y + 4:.1f}">{escape(label)}</text>'
    return (
        f'<a class="node {kind}{silent}" href="{href}" data-dev-eui="{escape(device["dev_eui"])}">'
        f"<title>{name}</title>{shape}{text}</a>"
    )


def plan_svg(devices, tiles_url=""):
    """The SVG of the located `devices` (the read model's summaries)."""
    located = [d for d in devices if d.get("location")]
    if not located:
        return ""
    zoom = _zoom(located, whole=bool(tiles_url))
    points = [_pixel(d["location"]["lat"], d["location"]["lon"], zoom) for d in located]
    xs, ys = zip(*points, strict=True)
    ox = (min(xs) + max(xs)) / 2 - WIDTH / 2
    height = round(max(MIN_HEIGHT, min(HEIGHT, max(ys) - min(ys) + 2 * MARGIN)))
    oy = (min(ys) + max(ys)) / 2 - height / 2
    parts = [
        f'<svg class="plan" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="field plan">'
    ]
    if tiles_url:
        parts.append(_tiles(tiles_url, zoom, ox, oy, height))
    else:
        parts.append(_grid(height))
    lat = sum(d["location"]["lat"] for d in located) / len(located)
    parts.append(_scale_bar(lat, zoom, height))
    bays = []
    for device, (x, y) in zip(located, points, strict=True):
        if device["kind"] == "parking":
            bays.append((device, x - ox, y - oy))
        else:
            parts.append(_symbol(device, x - ox, y - oy))
    for x, y, group in _bay_groups(bays):
        parts.append(_bay_group(x, y, group))
    if tiles_url:
        parts.append(
            f'<text class="attribution" x="{WIDTH - 6}" y="{height - 6}">'
            "© OpenStreetMap contributors</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _grid(height):
    lines = [f'<rect class="ground" x="0" y="0" width="{WIDTH}" height="{height}"/>']
    for x in range(0, WIDTH + 1, 80):
        lines.append(f'<line class="grid" x1="{x}" x2="{x}" y1="0" y2="{height}"/>')
    for y in range(0, height + 1, 80):
        lines.append(f'<line class="grid" x1="0" x2="{WIDTH}" y1="{y}" y2="{y}"/>')
    return "".join(lines)


def _scale_bar(lat, zoom, height):
    metres_per_px = 156_543.03392 * math.cos(math.radians(lat)) / 2**zoom
    target = metres_per_px * 120
    step = 10 ** math.floor(math.log10(target))
    length_m = max(s for s in (step, 2 * step, 5 * step) if s <= target)
    px = length_m / metres_per_px
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    y = height - 14
    return (
        f'<line class="scale" x1="12" x2="{12 + px:.1f}" y1="{y}" y2="{y}"/>'
        f'<text class="scale-label" x="12" y="{y - 6}">{label}</text>'
    )


def _tiles(url, zoom, ox, oy, height):
    out = []
    count = 2**zoom
    for tx in range(math.floor(ox / TILE), math.floor((ox + WIDTH) / TILE) + 1):
        for ty in range(
            max(0, math.floor(oy / TILE)), min(count, math.floor((oy + height) / TILE) + 1)
        ):
            href = url.replace("{z}", str(zoom)).replace("{x}", str(tx % count))
            href = href.replace("{y}", str(ty))
            out.append(
                f'<image href="{escape(href)}" x="{tx * TILE - ox:.1f}" y="{ty * TILE - oy:.1f}" '
                f'width="{TILE}" height="{TILE}"/>'
            )
    return "".join(out)
