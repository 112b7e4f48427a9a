"""SCENARIO.toml: clear located errors; `lorafield emulate SCENARIO.toml` runs it with the
demo's outputs (summary, report with plots, database, --export files); CLI user errors are
one line, exit 2."""

import json
import re
import sqlite3
import subprocess
import sys

import pytest
from lorafield_tools.cli import main
from lorafield_tools.field.spec import FARM, ScenarioError, default_town, parse_scenario

GOOD = """
[field]
name = "two streets"
hours = 1
seed = 3

[[gateway]]
name = "roof"
position = [0, 0]

[[node]]
kind = "parking"
name = "bay"
position = [50, 10]
count = 2
step = [6, 0]
settings = { sample_s = 10 }
events = [[600, "arrive"], [2400, "depart"]]

[[node]]
kind = "temperature"
name = "t"
position = [80, -30]

[[downlink]]
node = "t"
at_s = 1200
config = { interval_s = 300 }
"""


def base():
    return {
        "gateway": [{"position": [0, 0]}],
        "node": [{"kind": "temperature", "position": [1, 1]}],
    }


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda s: s.update(nodes=[]), "unknown table 'nodes'"),
        (lambda s: s.update(gateway=[]), "needs at least one [[gateway]]"),
        (lambda s: s["node"][0].update(kind="humidity"), "node 1: kind must be one of"),
        (lambda s: s["node"][0].pop("position"), "node 1 (temperature): position is missing"),
        (lambda s: s["node"][0].update(position=[1]), "position must be a list of [x, y]"),
        (lambda s: s["node"][0].update(floods=[[1, 2, 3, 4]]), "floods does not apply"),
        (lambda s: s["node"][0].update(board="esp8266"), "board must be a board or setup"),
        (
            lambda s: s["node"][0].update(board="esp32_bare+ulp"),
            "board esp32_bare+ulp cannot run a temperature node",
        ),
        (
            lambda s: s["node"][0].update(settings={"check_s": "x"}),
            "node 1 (temperature): settings: check_s must be an integer 10..3600",
        ),
        (
            lambda s: s["node"].append(
                {"kind": "parking", "position": [0, 0], "settings": {"sample_s": "x"}}
            ),
            "node 2 (parking): settings: sample_s must be an integer 1..3600",
        ),
        (
            lambda s: s["node"][0].update(settings={"sampel_s": 5}),
            "settings: unknown setting 'sampel_s' for a temperature node",
        ),
        (lambda s: s["node"][0].update(colour="red"), "unknown key 'colour'"),
        (lambda s: s.update(field={"hours": -1}), "[field]: hours must be in"),
        (lambda s: s.update(field={"hours": "a day"}), "hours must be a number"),
        (lambda s: s["gateway"][0].update(id="xyz"), "id must be 16 hex digits"),
        (
            lambda s: s.update(
                downlink=[{"node": "nobody", "at_s": 1, "config": {"reboot": True}}]
            ),
            "downlink for unknown node 'nobody'",
        ),
        (
            lambda s: s.update(
                downlink=[{"node": "temperature", "at_s": 1, "config": {"interval_s": "x"}}]
            ),
            "config is not a valid config command",
        ),
        (
            lambda s: s["node"].append(
                {"kind": "parking", "position": [0, 0], "events": [[5, "depart"]]}
            ),
            "events must alternate",
        ),
        (
            lambda s: s["node"].append({"kind": "temperature", "position": [0, 0]}),
            "node name 'temperature' used twice",
        ),
    ],
)
def test_scenario_errors_name_the_place(change, needle):
    raw = base()
    change(raw)
    with pytest.raises(ScenarioError) as error:
        parse_scenario(raw, "my.toml")
    message = str(error.value)
    assert needle in message and message.startswith("my.toml") and "\n" not in message


def test_the_default_town_is_laid_out_within_radio_range_but_the_farm():
    spec = default_town()
    assert [n.kind for n in spec.nodes].count("parking") == 12
    assert [n.kind for n in spec.nodes].count("water_level") == 4
    assert [n.kind for n in spec.nodes].count("temperature") == 8
    assert len(spec.gateways) == 2 and spec.downlinks and any(n.power_cycles for n in spec.nodes)
    from lorafield_hw.air import PathLoss, sensitivity_dbm

    loss = PathLoss(
        spec.path_loss["exponent"],
        spec.path_loss["reference_loss_db"],
        spec.path_loss["reference_distance_m"],
    )
    reach = loss.range_m(14 - sensitivity_dbm(7, 125_000))  # SF7 at 14 dBm, no shadowing
    assert 1200 < reach < 2000

    def nearest(node):
        return min(
            ((node.position[0] - g.position[0]) ** 2 + (node.position[1] - g.position[1]) ** 2)
            ** 0.5
            for g in spec.gateways
        )

    farms = []
    for node in spec.nodes + default_town(nodes=600).nodes:  # a bigger town stays in town
        if node.position == FARM:
            farms.append(node)
            continue
        assert nearest(node) < reach * 0.7, node.name  # a 3 dB shadowing margin and more
    # One sensor per town is out of SF7 and SF8 reach (lost to range), within SF10's.
    assert [n.kind for n in farms] == ["temperature", "temperature"]
    sf8 = loss.range_m(14 - sensitivity_dbm(8, 125_000))
    sf10 = loss.range_m(14 - sensitivity_dbm(10, 125_000))
    assert sf8 < nearest(farms[0]) < sf10
    assert len(default_town(nodes=100).nodes) == 100


def test_emulate_runs_a_scenario_with_every_output(tmp_path, capsys):
    scenario = tmp_path / "two-streets.toml"
    scenario.write_text(GOOD)
    out = tmp_path / "out"
    status = main(
        ["emulate", str(scenario), "--out", str(out), "--export", str(tmp_path / "x"), "--quiet"]
    )
    stdout, stderr = capsys.readouterr()
    assert status == 0, stderr
    assert "two streets: 3 nodes (2 parking, 1 temperature), 1 gateway, 1 h emulated" in stdout
    for title in ("uplinks sent", "lost: collision", "lost: range", "joins", "airtime s/day"):
        assert title in stdout
    # the downlink's 5-minute interval cannot be kept by the temperature node's TPL5110
    assert "warning: t: downlink interval_s 300 is not a multiple of its TPL5110's" in stderr
    assert f"report: {out / 'report.html'}" in stdout
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 3  # map, parking, temperature (no water level here)
    assert "two streets" in html and "<table>" in html
    db = sqlite3.connect(out / "lns.sqlite3")
    readings = db.execute("SELECT count(*) FROM readings").fetchone()[0]
    frames = db.execute("SELECT phy_hex, fcnt FROM frames ORDER BY id").fetchall()
    sessions = db.execute("SELECT dev_eui, nwk_s_key FROM sessions").fetchall()
    db.close()
    exported = [
        json.loads(line) for line in (tmp_path / "x" / "frames.jsonl").read_text().splitlines()
    ]
    assert [(f["phy_hex"], f["fcnt"]) for f in exported] == frames
    keys = {"phy_hex", "dev_eui", "dev_addr", "fcnt", "fport", "gateway_id", "rssi", "snr"}
    assert keys | {"freq_hz", "sf", "time"} == set(exported[0])
    assert exported[0]["time"].startswith("2026-01-01T00:") and exported[0]["sf"] == 7
    assert isinstance(exported[0]["freq_hz"], int)
    lines = (tmp_path / "x" / "readings.jsonl").read_text().splitlines()
    assert len(lines) == readings
    assert {"dev_eui", "kind", "fcnt", "time", "data"} == set(json.loads(lines[0]))
    exported_sessions = json.loads((tmp_path / "x" / "sessions.json").read_text())
    assert "EMULATION TEST KEYS" in exported_sessions["note"]
    assert {(s["dev_eui"], s["nwk_s_key"]) for s in exported_sessions["sessions"]} == set(sessions)
    fleet = (out / "fleet.toml").read_text()
    assert fleet.count("[[device]]") == 3 and "location" in fleet


def lorafield(*argv):
    return subprocess.run(
        [sys.executable, "-m", "lorafield_tools", *argv], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["emulate", "/nonexistent/field.toml"], "no such file"),
        (["demo", "--hours", "0"], "--hours"),
        (["demo", "--nodes", "2"], "--nodes"),
        (["demo", "--also-forward", "http://x:1", "--hours", "0.1"], "udp://HOST:PORT"),
    ],
)
def test_user_errors_are_one_line(argv, needle):
    result = lorafield(*argv)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and needle in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_toml_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[field\nhours = 1\n")
    result = lorafield("emulate", str(bad))
    assert result.returncode == 2 and "not valid TOML" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_demo_refuses_to_replace_a_database_that_is_not_its_own(tmp_path):
    other = tmp_path / "precious.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    result = lorafield("demo", "--hours", "0.1", "--db", str(other), "--out", str(tmp_path))
    assert result.returncode == 2 and "not a lorafield network server database" in result.stderr


def test_what_a_scenario_schedules_past_its_end_is_a_warning_not_a_note(tmp_path, capsys):
    raw = base()
    raw["field"] = {"hours": 1}
    raw["node"][0].update(power_cycle=[[7200, 60]])
    raw["node"].append(
        {"kind": "water_level", "position": [5, 5], "floods": [[5000, 600, 1500, 600]]}
    )
    scenario = tmp_path / "late.toml"
    from lorafield_gateway.toml_text import toml_value

    lines = ["[field]", "hours = 1", "", "[[gateway]]", "position = [0, 0]"]
    for node in raw["node"]:
        lines += ["", "[[node]]"] + [f"{k} = {toml_value(v)}" for k, v in node.items()]
    scenario.write_text("\n".join(lines) + "\n")
    assert main(["emulate", str(scenario), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    stdout, stderr = capsys.readouterr()
    assert "warning: temperature: power_cycle at 7200 s: at or after the end of the run" in stderr
    assert "warning: water_level: flood at 5000 s" in stderr
    assert "power-cycled" not in stdout  # the summary does not report a cut that never was


def test_the_shipped_examples_load_without_warnings_and_the_town_is_the_demos():
    import tomllib

    from lorafield_tools.field.spec import TOWN_COMMENT, examples, load_scenario, scenario_toml

    shipped = examples()
    assert set(shipped) == {"town", "market-street", "river-flood"}
    for name, (path, about) in shipped.items():
        assert about and load_scenario(path).warnings() == [], name
    town = default_town()
    with open(shipped["town"][0], encoding="utf-8") as handle:
        assert handle.read() == scenario_toml(town, TOWN_COMMENT)  # regenerate it if not
    assert parse_scenario(tomllib.loads(scenario_toml(town))) == town


def test_the_field_readmes_example_loads_without_warnings():
    import tomllib
    from pathlib import Path

    readme = Path(__file__).parents[2] / "tools/lorafield_tools/field/README.md"
    (block,) = re.findall(r"```toml\n(.*?)```", readme.read_text(), re.S)
    assert parse_scenario(tomllib.loads(block), "README").warnings() == []


def test_examples_are_listed_and_run_by_name(tmp_path, capsys):
    assert main(["emulate", "--list-examples"]) == 0
    listing = capsys.readouterr().out
    assert "river-flood" in listing and "lorafield emulate NAME" in listing
    out = tmp_path / "river"
    assert main(["emulate", "river-flood", "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("River Lune: 6 nodes (5 water_level, 1 temperature), 2 gateways")
    assert re.search(r"water_level on pico_rfm95w\+tpl5110: .*a flood [\d.]+ mAh", stdout)
    assert (out / "report.html").exists()


def test_a_scenario_that_is_not_utf8_is_a_scenario_error(tmp_path):
    from lorafield_tools.field.spec import load_scenario

    path = tmp_path / "field.toml"
    path.write_bytes('[field]\nname = "Straße"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        load_scenario(path)
