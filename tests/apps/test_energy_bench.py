"""`lorafield bench energy`: the figures follow from the emulated time-in-state and the
profiles' currents, and the table reads as the issue asks."""

import pytest
from lorafield_hw import profiles
from lorafield_tools.bench.energy import configurations, measure
from lorafield_tools.cli import main

ROWS = {setup.name: setup for setup in configurations()}


def test_mcu_charge_is_time_in_state_times_the_datasheet_current():
    r = measure("temperature", ROWS["esp32_bare"], hours=1.0)
    currents = profiles.get("esp32_bare").currents
    t = r["time_s"]
    expected_mas = sum(t.get(f"mcu {state}", 0) * currents[state] for state in currents)
    assert r["charge_mah"]["mcu"] == pytest.approx(expected_mas / 3600, rel=1e-6)
    assert sum(v for k, v in t.items() if k.startswith("mcu ")) == pytest.approx(3600, abs=1)
    assert r["uplinks_per_day"] == pytest.approx(96, abs=24)  # 4 in the hour
    # the cells supply the boost converter's factor times the rail's charge
    total = sum(r["charge_mah"].values()) * profiles.BOOST_3V3_FACTOR
    assert r["average_ua"] == pytest.approx(total * 1000, rel=1e-9)
    assert r["life_years"] == pytest.approx(2600 / (total * 24) / 365.25)


def test_the_board_floor_decides_and_a_tpl5110_removes_it():
    plain = measure("temperature", ROWS["heltec_lora32_v2"], hours=1.0)
    gated = measure("temperature", ROWS["heltec_lora32_v2+tpl5110"], hours=1.0)
    # 0.9 mA of CP2102 + LDO + charger: the Heltec alone cannot last a year on 2 x AA
    assert plain["average_ua"] > 900 and plain["life_years"] < 0.5
    assert gated["average_ua"] < 100 and gated["life_years"] >= 5
    assert gated["time_s"].get("mcu deepsleep", 0) == 0  # powered off, not asleep
    assert gated["time_s"]["board tpl5110 off"] > 0.9 * 3600
    assert gated["uplinks_per_day"] == plain["uplinks_per_day"]


def test_cli_prints_the_table_and_the_figures_used(capsys):
    args = ["bench", "energy", "--hours", "1", "--app", "water_level"]
    assert main(args + ["--board", "esp32_bare", "--board", "pico_rfm95w+tpl5110"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("water_level")]
    assert [r[1] for r in rows] == ["esp32_bare", "pico_rfm95w+tpl5110"]
    for r in rows:
        assert float(r[2]) > 0 and float(r[3]) == pytest.approx(float(r[2]) * 24 / 1000, rel=0.01)
    assert "ESP32 (Espressif ESP32 datasheet)" in out and "2 x AA alkaline" in out


def test_cli_refuses_an_unknown_board(capsys):
    assert main(["bench", "energy", "--board", "uno"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
