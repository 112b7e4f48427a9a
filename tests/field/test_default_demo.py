"""The README's first command: `lorafield demo` with its defaults (a day of the small town).
One run, its shape checked: every node joined and reported, the flood raised alarms on every
gauge, the config downlink changed a node's interval, the power-cycled bay came back, the
report and the summary are there, and what the air delivered is what the server stored."""

import json
import re
import sqlite3

import pytest
from lorafield_tools.cli import main

HOUR = 3600 * 1_000_000
EPOCH = 1_767_225_600 * 1_000_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(["demo", "--out", str(out), "--quiet"])
    db = sqlite3.connect(out / "lns.sqlite3")
    yield status, buffer.getvalue(), out, db
    db.close()


def _rows(text):
    """The summary table's rows: {(kind, board): cells}."""
    lines = text.splitlines()
    dashes = lines[2]  # one run of dashes per column
    starts = [i for i, c in enumerate(dashes) if c == "-" and (i == 0 or dashes[i - 1] == " ")]
    body = []
    for line in lines[3:]:
        if line.startswith("- "):
            break
        body.append([line[a:b].strip() for a, b in zip(starts, starts[1:] + [None], strict=True)])
    return {(cells[0], cells[1]): cells for cells in body}


def test_the_summary_table_and_the_report(demo):
    status, text, out, _ = demo
    assert status == 0
    lines = text.splitlines()
    assert lines[0].startswith(
        "Lorafield town: 24 nodes (12 parking, 4 water_level, 8 temperature), 2 gateways"
    )
    rows = _rows(text)
    assert list(rows) == [
        ("parking", "esp32_bare+ulp"),
        ("water_level", "pico_rfm95w+tpl5110"),
        ("temperature", "pico_rfm95w+tpl5110"),
        ("temperature", "heltec_lora32_v2 (dev board)"),
    ]
    assert [rows[k][2] for k in rows] == ["12", "4", "7", "1"]
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 4
    assert "<code>lorafield lns queue</code>" in html and "`" not in html
    assert re.search(r"24 h emulated in [\d.]+ s wall", text)


def test_every_field_grade_kind_lasts_five_years_on_the_stated_battery(demo):
    _, text, _, _ = demo
    rows = _rows(text)
    for (kind, board), cells in rows.items():
        number, unit = cells[-1].split()
        if "dev board" in board:
            assert unit == "days" and float(number) < 365  # the contrast: a dev board as shipped
        else:
            assert unit == "years" and float(number) >= 5, (kind, board, cells[-1])
    assert "2 x AA alkaline (2,600 mAh rated) in every node" in text
    # where the demo's day differs from bench energy's, the summary says what it cost
    assert re.search(r"water_level on pico_rfm95w\+tpl5110: .*a flood [\d.]+ mAh", text)
    assert "the ESP32's ULP is emulated" in text


def test_every_loss_cause_has_its_column_and_the_air_note_names_them(demo):
    _, text, _, _ = demo
    header = text.splitlines()[1]
    for title in ("lost: collision", "lost: range", "lost: gateway busy", "lost: unheard"):
        assert title in header
    assert re.search(r"lost \(\d+ collision, \d+ range, \d+ gateway busy, \d+ unheard\)", text)


def test_every_node_joined_and_reported(demo):
    _, _, _, db = demo
    devices = db.execute("SELECT dev_eui, kind, name FROM devices").fetchall()
    assert len(devices) == 24
    joins = dict(db.execute("SELECT dev_eui, count(*) FROM events WHERE kind='join' GROUP BY 1"))
    # a node whose Join-accept is lost in the installation's join storm joins again
    assert all(1 <= joins.get(eui, 0) <= 2 for eui, _, _ in devices)
    assert sum(joins.values()) <= 26
    counts = dict(db.execute("SELECT dev_eui, count(*) FROM readings GROUP BY 1"))
    for eui, kind, name in devices:
        least = {"parking": 24, "water_level": 96, "temperature": 96}[kind]
        if name == "temp-1":
            least = 24 + 36  # every 15 min to 06:00, then every 30 min (the config downlink)
        assert counts.get(eui, 0) >= least, (name, counts.get(eui))


def test_the_fleet_file_holds_what_deploy_would_put_on_each_node(demo):
    from lorafield_gateway.fleet import load_fleet
    from lorafield_tools.workbench.config import device_config

    fleet = load_fleet(demo[2] / "fleet.toml")
    by_name = {d.name: d for d in fleet.devices}
    assert by_name["bay-1"].board == "esp32_bare"
    assert by_name["bay-1"].settings["sampling"] == "ulp"
    assert by_name["river-1"].settings["tpl5110"]["period_s"] == 900
    assert (
        by_name["temp-2"].board == "heltec_lora32_v2"
        and "tpl5110" not in by_name["temp-2"].settings
    )
    for device in fleet.devices:  # the device's own parser accepts every config
        assert json.loads(device_config(device, device.board))["app"] == device.kind


def test_the_flood_raised_alarms_on_every_gauge(demo):
    _, _, _, db = demo
    gauges = [e for (e,) in db.execute("SELECT dev_eui FROM devices WHERE kind='water_level'")]
    for eui in gauges:
        alarms = [
            (t - EPOCH) / HOUR
            for t, d in db.execute(
                "SELECT time_us, data FROM readings WHERE dev_eui=? AND kind='water_level'", (eui,)
            )
            if json.loads(d).get("alarm") == "high"
        ]
        assert len(alarms) > 30 and 9 < min(alarms) < 10.5, (eui, alarms[:3])


def test_the_config_downlink_changed_the_interval(demo):
    _, _, _, db = demo
    (eui,) = db.execute("SELECT dev_eui FROM devices WHERE name='temp-1'").fetchone()
    assert db.execute("SELECT status FROM downlinks").fetchall() == [("sent",)]
    times = [
        (t - EPOCH) / 1e6
        for (t,) in db.execute(
            "SELECT time_us FROM readings WHERE dev_eui=? AND kind='temperature' ORDER BY id",
            (eui,),
        )
    ]
    before = [b - a for a, b in zip(times, times[1:], strict=False) if b < 6 * 3600]
    after = [b - a for a, b in zip(times, times[1:], strict=False) if a > 7 * 3600]
    # its TPL5110 powers it every 15 min; from 06:00 it sends every other wake
    assert all(880 <= g <= 960 for g in before) and all(1780 <= g <= 1860 for g in after)


def test_the_power_cycled_bay_came_back_on_its_session(demo):
    _, text, _, db = demo
    assert "bay-3 power-cycled at 10 h for 1800 s: booted again at 10.50 h" in text
    (eui,) = db.execute("SELECT dev_eui FROM devices WHERE name='bay-3'").fetchone()
    causes = [
        ((t - EPOCH) / HOUR, json.loads(d).get("reset_cause"))
        for t, d in db.execute(
            "SELECT time_us, data FROM readings WHERE dev_eui=? AND kind='status'", (eui,)
        )
    ]
    assert any(10.5 <= t < 10.6 and cause == "power_on" for t, cause in causes), causes


def test_what_the_air_delivered_is_what_the_server_stored(demo):
    _, text, _, db = demo
    (heard,) = re.search(r"(\d+) heard by at least one gateway", text).groups()
    joins = db.execute("SELECT count(*) FROM events WHERE kind='join'").fetchone()[0]
    frames = db.execute("SELECT count(*) FROM frames").fetchone()[0]
    assert joins + frames == int(heard)
    rejected = db.execute("SELECT count(*) FROM events WHERE kind LIKE '%rejected'").fetchone()
    assert rejected == (0,)


def test_the_demo_prints_the_command_that_opens_its_console(demo):
    import shlex

    from lorafield_gateway.console import Console
    from lorafield_tools.cli import build_parser

    _, text, out, _ = demo
    (line,) = [line for line in text.splitlines() if line.startswith("console: ")]
    argv = shlex.split(line.removeprefix("console: "))
    assert argv[:2] == ["lorafield", "console"]
    args = build_parser().parse_args(argv[1:])
    assert args.db == str(out / "lns.sqlite3") and args.fleet == str(out / "fleet.toml")
    console = Console(args.db, port=0, fleet_path=args.fleet).start()
    try:
        devices = console.app.model().devices()
        assert len(devices) == 24 and all(d["location"] for d in devices)
    finally:
        console.close()
