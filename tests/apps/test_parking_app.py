"""Parking end to end: cars arriving and leaving, a passing car and a truck in the next bay
that must not trigger, temperature drift, heartbeats, a sensor unplugged, a power cut."""

from appfield import AppField
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario
from lorafield_hw.sensors import QMC5883L

OWN_BAY = [(600, "arrive"), (2400, "depart"), (3000, "arrive"), (3004, "depart")]
OWN_BAY += [(3600, "arrive"), (5400, "depart")]
TRUCK_NEXT_BAY = [(1000, "arrive"), (4200, "depart")]


class Bays:
    """The field at the sensor: its own bay plus a neighbour's. A dipole's field falls with
    the cube of the distance: a truck 2.5 m away instead of 0.5 m above gives a few uT."""

    def __init__(self, *scenarios):
        self.scenarios = scenarios

    def field_offset_ut(self, t_s):
        x = y = z = 0.0
        for s in self.scenarios:
            dx, dy, dz = s.field_offset_ut(t_s)
            x, y, z = x + dx, y + dy, z + dz
        return x, y, z


def parking_field(own=OWN_BAY, neighbour=TRUCK_NEXT_BAY, temperature=None, drift=1.0, **kw):
    bay = ParkingScenario(own, seed=11)
    scenarios = [bay]
    if neighbour:
        scenarios.append(ParkingScenario(neighbour, seed=12, signature_ut=(3.0, 4.0)))

    def sensors(clock):
        return [
            QMC5883L(
                parking=Bays(*scenarios),
                temperature=temperature,
                drift_mg_per_c=drift,
                clock=clock,
                seed=13,
            )
        ]

    f = AppField("parking", sensors, kw)
    f.bay = bay
    return f


def test_cars_arriving_and_leaving_one_uplink_per_change():
    f = parking_field()
    f.run_for(2 * 3600)
    changes = f.readings("parking")
    states = [d["occupied"] for _, d in changes]
    assert states == [True, False, True, False], changes  # no passing car, no truck
    for (t, _), expected in zip(changes, (600, 2400, 3600, 5400), strict=True):
        assert expected < t < expected + 3 + 3 * 5 + 5  # ramp + debounce (3 samples of 5 s)
    # since_s: how long the previous state lasted
    assert abs(changes[1][1]["since_s"] - 1800) <= 10
    assert abs(changes[2][1]["since_s"] - 1200) <= 10
    assert abs(changes[3][1]["since_s"] - 1800) <= 10
    assert all(d["mag_uT"] >= 8 for _, d in changes[0::2])
    # heartbeats: at power-on, then hourly
    status = f.readings("status")
    assert status[0][1]["reset_cause"] == "power_on" and status[0][1]["interval_s"] == 3600
    assert len(status) == 2 and 3595 <= status[1][0] - status[0][0] <= 3615
    assert f.board.reset_causes == [1]  # light sleep between samples: one boot


def test_drift_is_tracked_on_a_day_without_cars():
    hot_day = DiurnalTemperature(mean_c=20.0, amplitude_c=12.0, weather_sd_c=0.0)
    # 8 mG/degC: a 24 degC swing moves the field by ~19 uT, more than a small car
    f = parking_field(own=[], neighbour=[], temperature=hot_day, drift=8.0, sample_s=15)
    f.run_for(24 * 3600)
    assert f.readings("parking") == []


def test_magnetometer_unplugged_is_reported_and_recovered():
    f = parking_field(neighbour=None)
    f.run_for(300)
    (sensor,) = f.sensors
    sensor.present = lambda: False
    f.run_for(400)  # the car arrives (600 s) while the sensor is gone: nothing invented
    assert f.readings("parking") == []
    errors = [d["errors"] for _, d in f.readings("status") if "errors" in d]
    assert errors == [["sensor"]]  # once, not every 5 s
    del sensor.present
    f.run_for(600)
    assert [d["occupied"] for _, d in f.readings("parking")] == [True]


def test_power_cut_restores_state_and_counter():
    f = parking_field(neighbour=None)
    f.run_for(1200)  # occupied since ~600 s
    f.board.power_cut()
    f.hold(30)
    f.board.power_on()
    f.run_for(2400)
    changes = [d["occupied"] for _, d in f.readings("parking")]
    # the restored state is "occupied": no second arrival, the departure is seen
    assert changes[:2] == [True, False]
    fcnts = f.fcnts()
    assert fcnts == list(range(len(fcnts)))
    assert len(f.events("join")) == 1
    causes = [d.get("reset_cause") for _, d in f.readings("status") if "reset_cause" in d]
    assert causes == ["power_on", "power_on"]


def test_config_downlink_changes_the_heartbeat_and_threshold():
    f = parking_field(own=[(600, "arrive"), (3000, "depart")], neighbour=None)
    f.run_for(700)  # the arrival's uplink carries the downlink back
    f.configure({"interval_s": 900, "thresholds": {"mag_uT": 32000}})  # absurdly high
    f.run_for(2 * 3600)
    status = f.readings("status")
    assert status[-1][1]["interval_s"] == 900
    later = [t for t, _ in status if t > 1000]
    gaps = [b - a for a, b in zip(later, later[1:], strict=False)]
    assert gaps and all(895 <= g <= 915 for g in gaps), gaps
    # the departure is still seen (below 5/8 of any threshold), but no new arrival could be
    assert [d["occupied"] for _, d in f.readings("parking")] == [True, False]


def test_changes_queue_for_the_duty_cycle_while_sampling_goes_on():
    # At SF12 an uplink silences the sub-band for ~2 min (1 % duty cycle): a departure 60 s
    # after the arrival and a new arrival 40 s later all go out, in order, when allowed.
    own = [(600, "arrive"), (660, "depart"), (700, "arrive")]
    f = parking_field(own=own, neighbour=None)
    f.settings["dr"] = 0
    f.run_for(1200)
    changes = f.readings("parking")
    assert [d["occupied"] for _, d in changes] == [True, False, True]
    gaps = [b[0] - a[0] for a, b in zip(changes, changes[1:], strict=False)]
    assert all(100 <= g <= 200 for g in gaps), gaps  # held back by the duty cycle
    # each says how long the previous state lasted, measured when it happened
    assert abs(changes[1][1]["since_s"] - 60) <= 10
    assert abs(changes[2][1]["since_s"] - 40) <= 10
    assert not [d for _, d in f.readings("status") if "errors" in d]


def test_no_network_at_install_parking_retries_the_join_every_15_minutes():
    f = parking_field(own=[(2400, "arrive")], neighbour=None)
    f.gateway.stop()
    f.run_for(1800)
    f.gateway.start()
    f.run_for(1800)
    assert len(f.events("join")) == 1
    assert [d["occupied"] for _, d in f.readings("parking")] == [True]
    assert f.air.frames_sent < 3 * 4 + 6  # three Join-requests per 15 min, not per sample
