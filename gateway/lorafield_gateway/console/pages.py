"""The console's HTML, rendered on the server from the read model's dicts.

Every value from the database goes through `e()` (html.escape, quotes included): a device
named `<script>` is shown as that text. No inline script or style: the Content-Security-
Policy (app.py) allows only /static files, so markup injected anyway would not run.
The `<main id="live">` part is what a live update replaces (console.js).
"""

import json
from html import escape
from urllib.parse import urlencode

from . import charts
from .plan import plan_svg
from .readmodel import DAY_US, level_points

KIND_LABELS = {"parking": "parking bay", "water_level": "water level", "temperature": "temperature"}
RANGES = {"1": 1, "7": 7, "30": 30}  # device page: days shown


def e(value):
    return "" if value is None else escape(str(value), quote=True)


def _ago(seconds):
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172_800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _device_link(device):
    return f'<a href="/devices/{e(device["dev_eui"])}">{e(device["name"])}</a>'


def _battery(battery):
    if not battery:
        return "—"
    text = f"{battery['mv']} mV"
    if battery["days"] is not None:
        days = battery["days"]
        text += " (" + ("> 10 years" if days > 3650 else f"{days} days left") + ")"
    elif battery["mv_per_day"] is not None:
        text += " (not falling)"
    return e(text)


def _state(device):
    state = device.get("state")
    if not state:
        return "—"
    kind = device["kind"]
    if kind == "parking":
        return e(device.get("bay", "unknown"))
    if kind == "water_level":
        level = device.get("level_mm")
        text = "—" if level is None else f"{level} mm"
        if state.get("alarm"):
            text += f" (alarm: {state['alarm']})"
        return e(text)
    if kind == "temperature":
        parts = []
        if "temperature_c" in state:
            parts.append(f"{state['temperature_c']} °C")
        if "humidity_pct" in state:
            parts.append(f"{state['humidity_pct']} %")
        if "pressure_hpa" in state:
            parts.append(f"{state['pressure_hpa']} hPa")
        return e(", ".join(parts) or "—")
    return e(json.dumps(state))


def _table(headers, rows, cls=""):
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="none">none</td></tr>'
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def layout(ctx, title, main, active=""):
    nav = "".join(
        f'<a href="{href}"{" class=active" if key == active else ""}>{label}</a>'
        for key, href, label in (
            ("overview", "/", "Overview"),
            ("map", "/map", "Map"),
            ("devices", "/devices", "Devices"),
            ("events", "/events", "Events"),
        )
    )
    clock = "emulated time" if ctx["emulated"] else "UTC"
    account = (
        f'<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" '
        f'value="{e(ctx["csrf"])}"><button type="submit">Sign out</button></form>'
        if ctx["signed_in"]
        else '<a href="/login">Sign in</a>'
    )
    live = ""
    if ctx["version"]:  # a sign-in or error page has nothing to refresh
        live = f' id="live" data-version="{e(ctx["version"])}"'
        status = '<span id="live-status" class="live" data-updates="0">live</span>'
    else:
        status = ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · lorafield console</title>"
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head><body>'
        f'<header><span class="brand">lorafield</span><nav>{nav}</nav>'
        f'<span class="clock">as of <span id="as-of">{e(ctx["now"])}</span> ({clock})</span>'
        f"{status}{account}</header>"
        f"<main{live}>{main}</main>"
        f"<div class=below>{ctx.get('after_main', '')}</div></body></html>"
    )


def overview(data):
    gateways = _table(
        ("gateway", "last seen", "frames/h", "frames (24 h)"),
        [
            (
                e(g["gateway_id"]),
                f"{e(g['last_seen'])}<br><small>{e(_ago(g['last_seen_s_ago']))}</small>",
                e(g["frames_per_hour"]),
                e(g["frames_24h"]),
            )
            for g in data["gateways"]
        ],
        "gateways",
    )
    kinds = _table(
        ("kind", "devices", "silent", "with alarms"),
        [
            (e(KIND_LABELS.get(k, k)), e(v["devices"]), e(v["silent"]), e(v["alarms"]))
            for k, v in sorted(data["kinds"].items())
        ],
        "kinds",
    )
    alarms = _table(
        ("device", "kind", "alarm"),
        [(_device_link(a), e(a["kind"]), e(", ".join(a["alarms"]))) for a in data["alarms"]],
        "alarms",
    )
    silent = _table(
        ("device", "kind", "last seen", "interval"),
        [
            (_device_link(s), e(s["kind"]), e(s["last_seen"] or "never"), e(f"{s['interval_s']} s"))
            for s in data["silent"]
        ],
        "silent",
    )
    batteries = _table(
        ("device", "kind", "battery", "trend"),
        [
            (
                _device_link(b),
                e(b["kind"]),
                _battery(b["battery"]),
                e(
                    "—"
                    if b["battery"]["mv_per_day"] is None
                    else f"{-b['battery']['mv_per_day']} mV/day"
                ),
            )
            for b in data["lowest_batteries"]
        ],
        "batteries",
    )
    bays = data["bays"]
    return (
        f"<h1>Field overview</h1>"
        f'<p class="summary">{e(data["devices"])} devices · bays '
        f'<span class="free">{bays["free"]} free</span> · '
        f'<span class="occupied">{bays["occupied"]} occupied</span> · '
        f'{bays["unknown"]} unknown · <a href="/map">map</a></p>'
        f'<div class="grid2"><section><h2>Gateways</h2>{gateways}</section>'
        f"<section><h2>Devices by kind</h2>{kinds}</section></div>"
        f'<section><h2>Alarms <span class="count">{len(data["alarms"])}</span></h2>'
        f"{alarms}</section>"
        f'<section><h2>Silent for more than twice their interval <span class="count">'
        f"{len(data['silent'])}</span></h2>{silent}</section>"
        f"<section><h2>Lowest batteries</h2>{batteries}</section>"
    )


def map_page(devices, tiles_url):
    bays = [d.get("bay") for d in devices if d["kind"] == "parking"]
    counts = {s: bays.count(s) for s in ("free", "occupied", "unknown")}
    unplaced = [d for d in devices if not d.get("location")]
    svg = plan_svg(devices, tiles_url)
    if not svg:
        svg = (
            '<p class="note">No device has a position: start the console with the fleet file '
            "(--fleet FLEET.toml, or local.fleet in the gateway configuration).</p>"
        )
    legend = (
        '<p class="legend">Parking bays: '
        f'<span class="swatch free"></span> free <b id="bays-free">{counts["free"]}</b> · '
        '<span class="swatch occupied"></span> occupied '
        f'<b id="bays-occupied">{counts["occupied"]}</b> · '
        f'<span class="swatch unknown"></span> unknown <b id="bays-unknown">{counts["unknown"]}</b>'
        " · gauges show the level against the alarm level (red: alarm)</p>"
    )
    extra = ""
    if unplaced:
        extra = (
            "<p class=note>Not on the map (no position in the fleet): "
            + ", ".join(_device_link(d) for d in unplaced)
            + "</p>"
        )
    return f"<h1>Map</h1>{legend}{svg}{extra}"


def devices_page(devices, kind):
    options = "".join(
        f'<a href="/devices{"?kind=" + k if k else ""}"{" class=active" if k == kind else ""}>'
        f"{e(label)}</a> "
        for k, label in (("", "all"), *KIND_LABELS.items())
    )
    rows = [
        (
            _device_link(d),
            e(d["kind"]),
            _state(d),
            e(d["last_seen"] or "never")
            + (' <span class="badge">silent</span>' if d["silent"] else ""),
            _battery(d["battery"]),
            e(", ".join(d["alarms"]) or "—"),
        )
        for d in devices
    ]
    table = _table(("device", "kind", "now", "last seen", "battery", "alarms"), rows, "devices")
    title = f"<h1>Devices <span class=count>{len(devices)}</span></h1>"
    return f"{title}<p class=filters>{options}</p>{table}"


def _series(readings, name, t0):
    return [
        (r["time_us"], r["data"][name])
        for r in readings
        if r["time_us"] >= t0 and r["data"] and name in r["data"]
    ]


def device_page(device, readings, status_readings, t0, t1, days):
    """`readings`: the device kind's, from a day before t0 (a water series reaches back, an
    occupancy state lasts into the range); `status_readings`: from t0."""
    kind = device["kind"]
    series = {}  # chart -> points in the range
    if kind == "water_level":
        series["water level"] = [p for p in level_points(readings) if p[0] >= t0]
    elif kind == "temperature":
        series["temperature"] = _series(readings, "temperature_c", t0)
        series["humidity"] = _series(readings, "humidity_pct", t0)
    series["battery"] = _series(status_readings, "battery_mv", t0)
    states = []
    if kind == "parking":
        states = [
            (r["time_us"], bool(r["data"]["occupied"]))
            for r in readings
            if r["data"] and "occupied" in r["data"]
        ]
        before = [s for s in states if s[0] < t0][-1:]  # the state the range starts in
        states = before + [s for s in states if s[0] >= t0]
    # A device heard for less than the range: its charts start at its first point.
    times = [p[0] for points in series.values() for p in points[:1]]
    times += [s[0] for s in states[:1] if s[0] >= t0]
    if times and min(times) - t0 > (t1 - t0) // 20:
        t0 = min(times) - (t1 - min(times)) // 40
    charts_html = []
    if kind == "water_level":
        high = device.get("high_mm")
        label = None if high is None else f"alarm {high} mm"
        charts_html.append(
            charts.line_chart(
                "water level", "mm", series["water level"], t0, t1, high, label, digits=0
            )
        )
    elif kind == "temperature":
        charts_html.append(charts.line_chart("temperature", "°C", series["temperature"], t0, t1))
        if series["humidity"]:
            charts_html.append(charts.line_chart("humidity", "%", series["humidity"], t0, t1))
    elif kind == "parking":
        charts_html.append(charts.timeline("occupancy", states, t0, t1, t1))
    charts_html.append(charts.line_chart("battery", "mV", series["battery"], t0, t1, digits=0))
    ranges = " ".join(
        f'<a href="?days={k}"{" class=active" if v == days else ""}>'
        f"{v} day{'s' if v > 1 else ''}</a>"
        for k, v in RANGES.items()
    )
    facts = [
        ("DevEUI", device["dev_eui"]),
        ("kind", kind),
        ("board", device["board"] or "—"),
        ("activation", device["activation"] or "—"),
        ("DevAddr", device["dev_addr"] or "not joined"),
        ("last join", device["last_join"] or "—"),
        ("last seen", device["last_seen"] or "never"),
        ("interval", f"{device['interval_s']} s"),
        ("uplinks", device["uplinks"]),
        ("FCnt up (next)", "—" if device["fcnt_up_next"] is None else device["fcnt_up_next"]),
        ("FCnt down", "—" if device["fcnt_down"] is None else device["fcnt_down"]),
        ("firmware", device["firmware"] or "—"),
    ]
    fact_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    fact_rows += f"<tr><th>now</th><td>{_state(device)}</td></tr>"
    fact_rows += f"<tr><th>battery</th><td>{_battery(device['battery'])}</td></tr>"
    alarms = ", ".join(device["alarms"]) or "none"
    radio = _table(
        ("time", "FCnt", "gateway", "RSSI dBm", "SNR dB", "SF", "DR", "gateways"),
        [
            (
                e(r["time"]),
                e(r["fcnt"]),
                e(r["gateway_id"]),
                e(r["rssi_dbm"]),
                e(r["snr_db"]),
                e(r["sf"]),
                e(r["dr"]),
                e(r["gateways"]),
            )
            for r in device["radio"]
        ],
        "radio",
    )
    status = ' <span class="badge">silent</span>' if device["silent"] else ""
    return (
        f"<h1>{e(device['name'])}{status}</h1>"
        f'<p class="alarms">alarms: {e(alarms)}</p>'
        f'<div class="grid2"><section><table class="facts">{fact_rows}</table></section>'
        f'<section><h2>Readings <span class="ranges">{ranges}</span></h2>'
        f"{''.join(charts_html)}</section></div>"
        f"<section><h2>Radio (newest frames)</h2>{radio}</section>"
    )


def _command(downlink):
    if downlink["config"] is not None:
        return json.dumps(downlink["config"])
    return downlink["payload_hex"]


def device_queue(device, downlinks, events, form):
    """The parts of a device page outside the live region: the downlink queue and its form
    (a live update must not wipe what a person is typing), and the device's events."""
    queue = _table(
        ("#", "config", "confirmed", "status", "FCnt down", "window", "error"),
        [
            (
                e(d["id"]),
                f"<code>{e(_command(d))}</code>",
                e("yes" if d["confirmed"] else "no"),
                f'<span class="status {e(d["status"])}">{e(d["status"])}</span>',
                e(d["fcnt_down"]),
                e(d["window"]),
                e(d["error"]),
            )
            for d in downlinks
        ],
        "queue",
    )
    token_field = (
        ""
        if form["signed_in"]
        else '<label>token <input type="password" name="token" autocomplete="off" required></label>'
    )
    message = ""
    if form.get("error"):
        message = f'<p class="error" role="alert">{e(form["error"])}</p>'
    elif form.get("queued"):
        message = (
            f'<p class="ok" role="status">queued as #{e(form["queued"])}: sent in the '
            "device's next receive window</p>"
        )
    event_rows = _table(
        ("time", "event", "reason", "detail"),
        [
            (
                e(v["time"]),
                e(v["kind"]),
                e(v["reason"]),
                f"<code>{e(json.dumps(v['detail']))}</code>",
            )
            for v in events
        ],
        "events",
    )
    eui = e(device["dev_eui"])
    return (
        f'<section id="downlinks"><h2>Downlink queue</h2>{queue}'
        f'<form method="post" action="/devices/{eui}/queue" class="queue-form">{message}'
        f'<input type="hidden" name="csrf" value="{e(form["csrf"])}">'
        '<label>config command (JSON) <textarea name="config" rows="2" required '
        f"placeholder='{{\"interval_s\": 600}}'>{e(form.get('config', ''))}</textarea></label>"
        '<label><input type="checkbox" name="confirmed" value="1"> confirmed</label>'
        f'{token_field}<button type="submit">Queue downlink</button>'
        "<small>Checked as <code>lorafield lns queue</code> checks it; the server sends it in "
        "the device's next receive window.</small></form></section>"
        f'<section><h2>Events <a href="/events?{e(urlencode({"dev_eui": device["dev_eui"]}))}">'
        "all</a></h2>"
        f"{event_rows}</section>"
    )


def events_page(data, kinds, kind, dev_eui, before):
    options = '<option value="">all kinds</option>' + "".join(
        f'<option value="{e(k)}"{" selected" if k == kind else ""}>{e(k)}</option>' for k in kinds
    )
    form = (
        '<form method="get" action="/events" class="filters">'
        f'<select name="kind">{options}</select>'
        f'<input name="dev_eui" placeholder="DevEUI" value="{e(dev_eui or "")}" maxlength="16">'
        '<button type="submit">Filter</button></form>'
    )
    rows = [
        (
            e(v["id"]),
            e(v["time"]),
            e(v["kind"]),
            f'<a href="/devices/{e(v["dev_eui"])}">{e(v["name"] or v["dev_eui"])}</a>'
            if v["dev_eui"]
            else "—",
            e(v["reason"] or ""),
            f"<code>{e(json.dumps(v['detail']))}</code>",
        )
        for v in data["events"]
    ]
    table = _table(("#", "time", "event", "device", "reason", "detail"), rows, "events")
    params = {k: v for k, v in (("kind", kind), ("dev_eui", dev_eui)) if v}
    pager = []
    if before is not None:
        pager.append(f'<a href="/events?{e(urlencode(params))}">newest</a>')
    if data["next_before"] is not None:
        older = urlencode({**params, "before": data["next_before"]})
        pager.append(f'<a class="older" href="/events?{e(older)}">older</a>')
    return f"<h1>Events</h1>{form}{table}<p class=pager>{' · '.join(pager)}</p>"


def login_page(error, next_path, csrf):
    message = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return (
        "<h1>Sign in</h1>"
        "<p>The token is in the console's token file (the console printed its path when it "
        "started; <code>cat</code> it on the gateway).</p>"
        f'<form method="post" action="/login" class="login">{message}'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        '<label>token <input type="password" name="token" autocomplete="current-password" '
        'required autofocus></label><button type="submit">Sign in</button></form>'
    )


def error_page(status, message):
    return f'<h1>{e(status)}</h1><p class="error">{e(message)}</p>'


def time_range(now_us, days):
    return now_us - days * DAY_US, now_us
