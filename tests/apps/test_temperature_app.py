"""Temperature app end to end: DS18B20 / SHT31 readings on the air, config downlinks, a
sensor unplugged, a power cut mid-cycle."""

from appfield import AppField
from lorafield_hw.scenarios import DiurnalTemperature
from lorafield_hw.sensors import DS18B20, SHT31
from lorafield_node import board as contract


def ds18b20_field(**settings):
    climate = DiurnalTemperature(seed=2)

    def sensors(clock):
        return [DS18B20(climate=climate, clock=clock, seed=3)]

    f = AppField("temperature", sensors, settings)
    f.climate = climate
    return f


def test_periodic_readings_match_the_climate():
    f = ds18b20_field()
    f.run_for(3 * 3600 + 60)
    temps = f.readings("temperature")
    assert 12 <= len(temps) <= 13
    for t, data in temps:
        assert abs(data["temperature_c"] - f.climate.temperature_c(t)) < 0.6
    gaps = [b[0] - a[0] for a, b in zip(temps, temps[1:], strict=False)]
    assert all(880 <= g <= 960 for g in gaps), gaps
    (status, *_) = f.readings("status")
    assert status[1]["reset_cause"] == "power_on"
    assert f.board.reset_causes.count(4) >= 11  # deep sleep between readings


def sht31_field(**settings):
    climate = DiurnalTemperature(seed=5)

    def sensors(clock):
        return [SHT31(climate=climate, clock=clock, seed=6)]

    settings.setdefault("sensor", "sht31")
    f = AppField("temperature", sensors, settings)
    f.climate = climate
    return f


def test_sht31_humidity_and_a_config_downlink_changing_the_interval():
    f = sht31_field()
    f.run_for(1800 + 60)
    before = f.readings("temperature")
    assert len(before) == 3
    for t, data in before:
        assert abs(data["humidity_pct"] - f.climate.humidity_pct(t)) < 3.0
    f.configure({"interval_s": 300})  # delivered in RX1 after the next uplink
    f.run_for(900)
    f.run_for(1500)
    temps = f.readings("temperature")
    sent_at = [t for t, _ in temps]
    changed = next(t for t, d in f.readings("status") if d.get("interval_s") == 300)
    after = [t for t in sent_at if t > changed]
    gaps = [b - a for a, b in zip(after, after[1:], strict=False)]
    assert len(gaps) >= 4 and all(290 <= g <= 330 for g in gaps), gaps
    # The new interval is persisted: a reset keeps it.
    f.board.reset()
    f.run_for(700)
    last = [t for t, _ in f.readings("temperature")][-3:]
    assert all(290 <= b - a <= 330 for a, b in zip(last, last[1:], strict=False))


def test_sensor_unplugged_is_reported_not_invented():
    f = ds18b20_field()
    f.run_for(1000)
    n = len(f.readings("temperature"))
    (sensor,) = f.sensors
    sensor.present = lambda: False  # the one-wire cable is cut
    f.run_for(1800)
    assert len(f.readings("temperature")) == n  # no made-up reading
    errors = [d for _, d in f.readings("status") if "errors" in d]
    assert errors and errors[0]["errors"] == ["sensor"]
    del sensor.present  # plugged back in: readings resume
    f.run_for(1800)
    assert len(f.readings("temperature")) >= n + 1


def test_power_cut_mid_cycle_keeps_fcnt_and_interval():
    f = ds18b20_field()
    f.configure({"interval_s": 600})
    f.run_for(1300)
    # cut the power in the middle of a wake (during the DS18B20 conversion)
    f.until_next_boot()
    f.hold(0.3)
    assert f.awake() and f.sensors[0].converting()
    f.board.power_cut()
    f.hold(5)
    f.board.power_on()
    f.run_for(3000)
    fcnts = f.fcnts()
    assert fcnts == list(range(len(fcnts)))  # none reused, none skipped
    assert f.events("uplink_rejected") == []
    assert len(f.events("join")) == 1  # the session survived the cut
    causes = [d.get("reset_cause") for _, d in f.readings("status")]
    assert causes[:2] == ["power_on", "power_on"]
    sent_at = [t for t, _ in f.readings("temperature")][-3:]
    assert all(590 <= b - a <= 630 for a, b in zip(sent_at, sent_at[1:], strict=False))


def test_request_status_rejoin_and_reboot_commands():
    f = ds18b20_field()
    f.run_for(1000)
    statuses = len(f.readings("status"))
    f.configure({"request_status": True})
    f.run_for(900)
    assert len(f.readings("status")) == statuses + 1  # answered in the same wake
    f.configure({"rejoin": True})
    f.run_for(1800)
    first, second = f.events("join")  # a new session; uplinks continue in it from FCnt 0
    after = [e.detail["fcnt"] for e in f.events("uplink") if e.time_us > second.time_us]
    assert after and after == list(range(len(after)))
    assert f.events("uplink_rejected") == []
    boots = len(f.board.boots)
    f.configure({"reboot": True})
    f.run_for(1800)
    assert len(f.board.boots) > boots
    # the reboot's boot comes ~0.1 s after the wake that got the command, not 900 s later
    times = [t / 1e6 for t, _ in f.board.boots[boots - 1 :]]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) < 10


def test_a_short_watchdog_is_fed_through_the_join_windows_and_conversions():
    # Join-accept windows open 5 s and 6 s after the request; the DS18B20 converts 750 ms:
    # with a 3 s watchdog the node only survives if every wait is fed in pieces.
    f = ds18b20_field(watchdog_ms=3000)
    f.run_for(2 * 3600)
    assert contract.WDT_RESET not in f.board.reset_causes
    assert len(f.readings("temperature")) >= 8
    assert len(f.events("join")) == 1


def test_no_network_at_install_then_it_joins_and_reports():
    f = ds18b20_field()
    f.gateway.stop()
    f.run_for(3600)
    outage_frames = f.air.frames_sent
    wakes = len(f.board.boots)
    assert 0 < outage_frames <= 3 * wakes  # at most three Join-requests a wake, then sleep
    assert f.readings() == []
    f.gateway.start()
    f.run_for(2 * 900 + 60)
    assert len(f.events("join")) == 1
    assert f.readings("temperature")
    (first, *_) = f.readings("status")
    assert first[1]["errors"] == ["join"]  # the outage is reported once a session exists


def test_a_hung_bus_is_ended_by_the_watchdog_and_reported():
    f = sht31_field()
    f.run_for(1000)
    (sensor,) = f.sensors
    sensor.i2c_stretch_us = lambda: 120_000_000  # SCL held low for two minutes
    f.run_for(900)
    assert contract.WDT_RESET in f.board.reset_causes
    del sensor.i2c_stretch_us
    f.run_for(1800)
    causes = [d.get("reset_cause") for _, d in f.readings("status") if "reset_cause" in d]
    assert "watchdog" in causes
    assert f.readings("temperature")[-1][0] > f.board.boots[-1][0] / 1e6 - 1000


def test_low_battery_threshold_is_reported_in_the_status():
    f = ds18b20_field(thresholds={"low_battery_mv": 4300})  # a full LiPo is 4.2 V
    f.run_for(60)
    ((_, status),) = f.readings("status")
    assert status["battery_mv"] < 4300 and status["errors"] == ["low_battery"]


def test_confirmed_downlink_is_acked_before_the_node_sleeps():
    """A confirmed config downlink that changes nothing (no status uplink follows): the
    framework's flush sends the ACK in an empty frame in the same wake, not 15 min later."""
    f = ds18b20_field()
    f.run_for(120)
    f.server.enqueue_config(bytes.fromhex("70b3d57ed0002001"), {"interval_s": 900}, True)
    f.run_for(1000)
    (sent,) = f.events("downlink_sent")
    (acked,) = f.events("downlink_acked")
    assert acked.detail["ref"] == sent.detail["ref"]
    assert acked.time_us - sent.time_us < 30_000_000  # same wake (the interval is 900 s)
    assert f.events("uplink")[-1].detail["fport"] is None  # the empty frame carried it
    assert f.events("downlink_nacked") == []
