"""`lorafield bench console` at a tiny size: it builds, serves, measures and prints every
figure (the figures themselves are not asserted: timing belongs to the benchmark)."""

import re
import sqlite3

from lorafield_tools.cli import main

ROUTES = (
    "overview",
    "map",
    "device_page",
    "api_devices",
    "api_readings_week",
    "api_events",
    "devices_page",
    "events_page",
)


def _run(capsys, *arguments):
    assert main(["bench", "console", *arguments]) == 0
    return capsys.readouterr().out


def test_bench_console_builds_serves_and_prints_the_figures(capsys, tmp_path):
    db = tmp_path / "lns.sqlite3"
    arguments = ["--devices", "20", "--readings", "6000", "--requests", "3", "--warmup", "1"]
    out = _run(capsys, *arguments, "--db", str(db))
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["database"] == f"{db} (built)"
    assert lines["devices"].startswith("20 (10 parking, 4 water_level, 6 temperature;")
    assert lines["readings"].startswith("6000 over ")
    assert float(lines["build_s"]) >= 0 and float(lines["db_size_mib"]) > 0
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/ \(pid \d+, started in [\d.]+ s\)", lines["console"]
    )
    for name in ROUTES:
        figures = re.match(r"p50 ([\d.]+), p95 ([\d.]+), max ([\d.]+) \(GET /", lines[f"{name}_ms"])
        p50, p95, peak = map(float, figures.groups())
        assert 0 < p50 <= p95 <= peak
    assert int(lines["readings_per_device_week"].split()[0]) > 0
    for name in ("console_rss_start_mib", "console_peak_rss_mib", "console_rss_mib"):
        assert float(lines[name]) > 10
    verdicts = [line for line in out.splitlines() if re.search(r" <= \d+ (ms|MiB): ", line)]
    assert len(verdicts) == 5
    assert all(re.search(r": (yes|NO) \(.*[\d.]+ (ms|MiB)\)$", line) for line in verdicts)

    # What the console reads: the server's schema and the generated rows, consistently.
    con = sqlite3.connect(db)
    frames, readings, uplinks = (
        con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("frames", "readings", "events WHERE kind='uplink'")
    )
    assert frames == readings == uplinks == 6000
    copies = con.execute("SELECT sum(json_array_length(copies)) FROM frames").fetchone()[0]
    assert con.execute("SELECT sum(frames) FROM gateway_hours").fetchone()[0] == copies
    assert dict(con.execute("SELECT key, value FROM meta WHERE key != 'bench_console'")) == {
        "schema": "1",
        "clock": "emulated",
    }
    con.close()

    # A second run reuses the file.
    out = _run(capsys, *arguments, "--db", str(db))
    assert "(reused: 20 devices, 6000 readings, 10 gateways, seed 18;" in out
    assert "build_s" not in out


def test_bench_console_refuses_bad_arguments():
    assert main(["bench", "console", "--devices", "0"]) == 2
    assert main(["bench", "console", "--devices", "20", "--readings", "5"]) == 2
    assert main(["bench", "console", "--quick", "--rebuild"]) == 2
