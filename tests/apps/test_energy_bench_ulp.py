"""`lorafield bench energy` rows with ULP sampling: the parking sensor's CPU deep-sleeps,
the emulated ULP's runs are charged at the datasheet's current, and the bare ESP32 module
reaches the issue's 5 years on 2 x AA (in emulation: nothing ULP is measured on a chip)."""

import pytest
from lorafield_hw import ulp
from lorafield_tools.bench.energy import configurations, measure
from lorafield_tools.cli import main

ROWS = {setup.name: setup for setup in configurations()}


def test_parking_with_the_ulp_on_a_bare_esp32_lasts_five_years():
    light = measure("parking", ROWS["esp32_bare"], hours=2.0)
    deep = measure("parking", ROWS["esp32_bare+ulp"], hours=2.0)
    assert light["life_years"] < 0.5  # 0.8 mA of light sleep
    assert deep["life_years"] >= 5 and deep["average_ua"] < 59.3
    t = deep["time_s"]
    assert t["mcu deepsleep"] > 0.99 * 2 * 3600  # the CPU sleeps; it does not sample
    assert t.get("mcu lightsleep", 0) < 2 * deep["uplinks_per_day"] / 12  # RX windows only
    # one run per 5 s, each ~8 ms (5 ms WAIT + 8 RTC I2C transactions at 100 kHz)
    assert deep["ulp_runs_per_day"] == pytest.approx(86400 / 5, rel=0.01)
    assert 6 < deep["ulp_ms_per_run"] < 12
    run_s = deep["ulp_runs_per_day"] * 2 / 24 * deep["ulp_ms_per_run"] / 1000
    low = ulp.ACTIVE_MA * run_s / 3600  # at least the ULP's current over its run time
    high = (ulp.ACTIVE_MA + ulp.PULLUP_MA) * run_s / 3600  # pull-ups only while on the bus
    assert 2 * low < deep["charge_mah"]["ulp"] < high
    assert deep["uplinks_per_day"] == light["uplinks_per_day"]


def test_cli_prints_the_ulp_rows_for_parking_only_with_the_assumption(capsys):
    args = ["bench", "energy", "--hours", "1", "--app", "parking", "--app", "temperature"]
    assert main(args + ["--board", "esp32_bare+ulp"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["parking"]]
    assert [r[1] for r in rows] == ["esp32_bare+ulp"] and float(rows[0][4]) >= 5
    assert not [line for line in out.splitlines() if line.startswith("temperature")]
    assert "runs/day" in out and "ASSUMED" in out and "150 uA" in out
