"""Parking with "sampling": "ulp" end to end: the real firmware on an emulated ESP32 board
whose emulated ULP-FSM runs the assembled sampler against the emulated QMC5883L, over the
air to the network server. The CPU deep-sleeps and boots only for changes and heartbeats.
(Everything ULP is checked in emulation only: lorafield_hw.ulp.)"""

from appfield import AppField
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario
from lorafield_hw.sensors import QMC5883L
from lorafield_node.ulp import parking as prog
from test_parking_app import parking_field

DEEP = 4  # DEEPSLEEP_RESET


def ulp_field(**kw):
    return parking_field(sampling="ulp", **kw)


def test_changes_reach_the_network_server_with_since_s_and_the_cpu_sleeps_between():
    f = ulp_field()
    f.run_for(2 * 3600)
    changes = f.readings("parking")
    # own bay: 600 arrive, 2400 depart, 3000-3004 a car driving over, 3600 arrive, 5400
    # depart; a truck in the next bay 1000-4200: neither of the last two may count
    assert [d["occupied"] for _, d in changes] == [True, False, True, False], changes
    for (t, _), expected in zip(changes, (600, 2400, 3600, 5400), strict=True):
        assert expected < t < expected + 3 + 4 * 5 + 5  # ramp, debounce, boot and uplink
    assert abs(changes[1][1]["since_s"] - 1800) <= 10
    assert abs(changes[2][1]["since_s"] - 1200) <= 10
    assert abs(changes[3][1]["since_s"] - 1800) <= 10
    assert all(d["mag_uT"] >= 8 for _, d in changes[0::2])
    status = f.readings("status")
    assert status[0][1]["reset_cause"] == "power_on"
    assert len(status) == 2 and 3595 <= status[1][0] - status[0][0] <= 3630
    assert abs(status[1][1]["uptime_s"] - status[1][0]) <= 15  # the clock across ULP wakes
    # one boot per change (the heartbeat rode on the 3600 s arrival's wake), no sampling boots
    causes = f.board.reset_causes
    assert causes[0] == 1 and set(causes[1:]) == {DEEP} and 5 <= len(causes) <= 6
    assert f.board.ulp.runs >= 2 * 3600 // 5 - 5 and f.board.ulp.i2c_errors == 0
    report = f.board.energy_report()["time_s"]
    assert report["mcu deepsleep"] > 0.99 * 2 * 3600


def test_heartbeats_alone_wake_the_cpu_hourly():
    f = ulp_field(own=[], neighbour=[])
    f.run_for(3 * 3600 + 60)
    assert f.readings("parking") == []
    times = [t for t, _ in f.readings("status")]
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(3595 <= g <= 3620 for g in gaps), gaps
    assert f.board.reset_causes == [1, DEEP, DEEP, DEEP]


def test_drift_is_tracked_by_the_ulp_on_a_day_without_cars():
    hot_day = DiurnalTemperature(mean_c=20.0, amplitude_c=12.0, weather_sd_c=0.0)
    f = ulp_field(own=[], neighbour=[], temperature=hot_day, drift=8.0)
    f.run_for(24 * 3600)
    assert f.readings("parking") == []
    assert len(f.board.reset_causes) <= 26  # heartbeats only


def test_power_cut_while_occupied_restores_the_state_and_restarts_the_ulp():
    f = ulp_field(neighbour=None)
    f.run_for(1200)  # occupied since ~600 s
    f.board.power_cut()
    f.hold(30)
    f.board.power_on()
    f.run_for(1500)
    assert [d["occupied"] for _, d in f.readings("parking")] == [True, False]
    assert f.board.ulp.running
    fcnts = f.fcnts()
    assert fcnts == list(range(len(fcnts)))


def test_a_stopped_ulp_is_restarted_by_the_fallback_timer():
    f = ulp_field(own=[(5000, "arrive")], neighbour=None)
    f.run_for(600)
    f.board.ulp.stop()  # a ULP that died while the CPU sleeps
    f.run_for(4400 + 600)
    reasons = f.board.ulp.running, [d["occupied"] for _, d in f.readings("parking")]
    assert reasons == (True, [True])
    # the fallback timer woke it a few samples after the heartbeat was due
    status = [t for t, _ in f.readings("status")]
    assert len(status) == 2 and 3600 <= status[1] - status[0] <= 3640


def test_threshold_config_downlink_reaches_the_ulp():
    f = ulp_field(own=[(600, "arrive"), (3000, "depart"), (4000, "arrive")], neighbour=None)
    f.run_for(700)
    f.configure({"thresholds": {"mag_uT": 30}})  # above this bay's cars (<= 34 uT capped)
    f.run_for(3600)  # the downlink rides on the hourly heartbeat's answer
    on, _ = prog.thresholds(30)
    assert f.board.ulp.read(prog.V_ON) & 0xFFFF == on


def test_boards_without_a_ulp_fall_back_to_light_sleep_sampling():
    def sensors(clock):
        bay = ParkingScenario([(600, "arrive"), (2400, "depart")], seed=11)
        return [QMC5883L(parking=bay, clock=clock, seed=13)]

    f = AppField("parking", sensors, {"sampling": "ulp"}, profile="pico_rfm95w")
    f.run_for(3000)
    assert [d["occupied"] for _, d in f.readings("parking")] == [True, False]
    assert f.board.reset_causes == [1]  # one boot: light sleep between samples
