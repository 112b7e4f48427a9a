"""The hardware-in-the-loop set: runs against a board on --hil-port (skipped without one).
In CI, tests/workbench/test_hil_harness.py runs it against the emulated board on a pty."""

import pytest
from lorafield_codec import decode

pytestmark = pytest.mark.hil


def test_test_build_deployed_and_verified(hil):
    first = hil.deploys[0]
    assert first.written or first.unchanged
    again = hil.deploy()  # nothing changed on the host: nothing is written
    assert again.written == []
    assert set(again.unchanged) == set(first.written) | set(first.unchanged)


def test_radio_driver_self_test(hil):
    radio = hil.report.get("radio")
    assert radio is not None, "\n".join(hil.lines[-20:])
    assert radio["version"] == "0x12"  # SX1276 RegVersion
    assert radio["lora"] == "1"


def test_join_and_uplink_through_the_gateway(hil):
    join = hil.report.get("join")
    assert join is not None and join["ok"] == "1", "\n".join(hil.lines[-20:])
    assert int(join["dev_addr"], 16) != 0
    uplink = hil.report["uplink"]
    kind, data = decode(int(uplink["fport"]), bytes.fromhex(uplink["hex"]))
    sensor = hil.report["sensor"]
    assert kind == sensor["kind"]
    for name, value in data.items():
        assert float(sensor[name]) == pytest.approx(value, abs=0.01)
    assert "done" in hil.report


def test_measurements_are_plausible(hil):
    sensor = hil.report.get("sensor")
    assert sensor is not None, "\n".join(hil.lines[-20:])
    if sensor["kind"] == "temperature":
        assert -40 <= float(sensor["temperature_c"]) <= 85
        if "humidity_pct" in sensor:
            assert 0 <= float(sensor["humidity_pct"]) <= 100
    else:
        assert 2500 <= int(sensor["battery_mv"]) <= 4300
