"""Every app on every emulated board profile (ESP32 byte-programmed flash and RP2040
256-byte pages, switched and unswitched sensor rails): it joins once, reports, takes
readings and never trips the watchdog."""

import pytest
from appfield import AppField
from lorafield_hw import profiles
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario, WaterLevelScenario
from lorafield_hw.sensors import A02YYUW, DS18B20, QMC5883L
from lorafield_node import board as contract


def sensors_for(kind):
    if kind == "parking":
        bay = ParkingScenario([(600, "arrive"), (1800, "depart")], seed=1)
        return lambda clock: [QMC5883L(parking=bay, clock=clock, seed=2)]
    if kind == "water_level":
        water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=400, seed=3)
        return lambda clock: [A02YYUW(water=water, clock=clock, seed=4)]
    climate = DiurnalTemperature(seed=5)
    return lambda clock: [DS18B20(climate=climate, clock=clock, seed=6)]


EXPECTED = {"parking": "parking", "water_level": "water_level", "temperature": "temperature"}


@pytest.mark.parametrize("profile", sorted(profiles.PROFILES))
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_app_runs_on_board(kind, profile):
    f = AppField(kind, sensors_for(kind), {"mount_height_mm": 3000}, profile=profile)
    f.run_for(3600 + 120)
    assert len(f.events("join")) == 1
    assert contract.WDT_RESET not in f.board.reset_causes
    (first, *_) = f.readings("status")
    assert first[1]["reset_cause"] == "power_on" and "errors" not in first[1]
    readings = f.readings(EXPECTED[kind])
    if kind == "parking":
        assert [d["occupied"] for _, d in readings] == [True, False]
    else:
        assert readings  # hourly batch or every 15 min
    fcnts = f.fcnts()
    assert fcnts == list(range(len(fcnts)))
