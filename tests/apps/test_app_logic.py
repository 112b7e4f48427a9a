"""The apps' pure logic on CPython (the same code runs in the VM tests): ping filter, water
alarms and batches, parking hysteresis and debounce, temperature thresholds."""

from lorafield_node.apps.parking import ParkingDetector
from lorafield_node.apps.temperature import TemperatureLogic
from lorafield_node.apps.water_level import WaterLogic, filter_pings, median


def test_ping_filter():
    assert median([3, 1, 2]) == 2 and median([1, 2, 3, 5]) == 2 and median([]) is None
    assert filter_pings([2000, 2003, 1998, 4500, 30]) == 2000  # lost echo, wall echo
    assert filter_pings([2000, 2010, 2020, 2030, 2040]) == 2020  # spread within 30 mm kept
    assert filter_pings([1000, 1005, 3000, 3005]) is None  # two clusters: no reading
    assert filter_pings([2000, 2500, 4500]) is None  # no two pings agree
    assert filter_pings([]) is None


def test_water_batches_and_alarms():
    w = WaterLogic(interval_s=900, batch=4, alarm_interval_s=60)
    w.set_thresholds({"high_mm": 1200, "rise_mm": 300})
    out = [w.step(400 + i, 900 * i) for i in range(4)]
    assert out[:3] == [None, None, None]
    assert out[3] == {"levels_mm": [400, 401, 402, 403], "interval_s": 900}
    assert w.levels  # kept until sent() (a power cut during the uplink loses nothing)
    w.sent(out[3])
    assert w.levels == [] and w.next_interval_s() == 900
    rise = w.step(500, 900 * 4)  # +97 mm in 15 min = 388 mm/h >= 300
    assert rise == {"level_mm": 500, "alarm": "rise"} and w.next_interval_s() == 60
    assert w.step(1210, 900 * 4 + 60, 1790)["alarm"] == "high"
    assert w.step(1180, 900 * 4 + 120)["alarm"] == "high"  # within 50 mm: still alarmed
    clear = w.step(1140, 900 * 4 + 10_000)
    assert clear == {"level_mm": 1140} and w.alarm == 0
    state = w.pack()
    again = WaterLogic()
    assert again.unpack(state) and again.last_level == 1140 and again.alarm == 0
    assert not again.unpack(b"\x00\x01")


def test_parking_hysteresis_debounce_and_tracking():
    d = ParkingDetector(threshold_ut=8, debounce=3)
    base = (18000, 2000, -44000)  # nT
    for i in range(8):
        assert d.update(*base, i) is None
    assert d.calibrated
    car = (18000, 2000, -64000)  # 20 uT down
    assert d.update(*car, 10) is None and d.update(*car, 15) is None
    assert d.update(*base, 20) is None  # a car passing over: the count restarts
    assert [d.update(*car, t) for t in (25, 30, 35)] == [
        None,
        None,
        (True, 28, 20),
    ]  # free since calibration (t=7)
    six = (18000, 2000, -50000)  # 6 uT: between off (5) and on (8)
    assert [d.update(*six, t) for t in range(40, 100, 5)] == [None] * 12  # stays occupied
    assert [d.update(*base, t) for t in (100, 105, 110)] == [None, None, (False, 75, 0)]
    drifted = d.baseline
    for t in range(200, 2000, 5):
        d.update(18000, 2000, -44000 - 3000, t)  # 3 uT of slow drift, below "off": followed
    assert d.baseline != drifted and not d.occupied
    restored = ParkingDetector()
    assert restored.unpack(d.pack()) and restored.baseline == d.baseline


def test_temperature_thresholds():
    t = TemperatureLogic(interval_s=900, check_s=300)
    assert t.next_interval_s() == 900
    t.set_thresholds({"high_c": 30.0})
    assert t.next_interval_s() == 300
    assert t.step(2500, 0)  # first reading is due
    t.sent(0)
    assert not t.step(2600, 300)
    assert t.step(3010, 600)  # crossed: sent at once
    t.sent(600)
    assert not t.step(3100, 900)  # still high: no repeat before the interval
    assert not t.step(2980, 1200)  # inside the 0.5 degC hysteresis: still alerting
    assert t.step(2900, 1500)  # the interval is due
    assert t.alert == 0
