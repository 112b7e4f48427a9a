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


def test_the_summary_table_and_the_report(demo):
    status, text, out, _ = demo
    assert status == 0
    lines = text.splitlines()
    assert lines[0].startswith(
        "Lorafield town: 24 nodes (12 parking, 4 water_level, 8 temperature)"
    )
    rows = {line.split()[0]: line.split() for line in lines[3:6]}
    assert set(rows) == {"parking", "water_level", "temperature"}
    assert [rows[k][1] for k in ("parking", "water_level", "temperature")] == ["12", "4", "8"]
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 4
    assert re.search(r"24 h emulated in [\d.]+ s wall", text)


def test_every_node_joined_once_and_reported(demo):
    _, _, _, db = demo
    devices = db.execute("SELECT dev_eui, kind, name FROM devices").fetchall()
    assert len(devices) == 24
    joins = dict(db.execute("SELECT dev_eui, count(*) FROM events WHERE kind='join' GROUP BY 1"))
    assert all(joins.get(eui) == 1 for eui, _, _ in devices)
    counts = dict(db.execute("SELECT dev_eui, count(*) FROM readings GROUP BY 1"))
    for eui, kind, name in devices:
        least = {"parking": 24, "water_level": 96, "temperature": 96}[kind]
        assert counts.get(eui, 0) >= least, (name, counts.get(eui))


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
    assert all(880 <= g <= 960 for g in before) and all(580 <= g <= 640 for g in after)


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
