"""Water level end to end: hourly batches on a dry day, a flood wave (alarm within one
sampling interval, faster sampling, all-clear), speed-of-sound compensation, a sensor
unplugged, a power cut mid-cycle."""

from appfield import AppField
from lorafield_hw.scenarios import DiurnalTemperature, WaterLevelScenario
from lorafield_hw.sensors import A02YYUW, DS18B20, JSNSR04T

FLOOD = (3 * 3600.0, 1800.0, 1600.0, 3 * 3600.0)  # start, rise, peak, fall


def a02_field(floods=(), **settings):
    water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=400, floods=floods, seed=4)

    def sensors(clock):
        return [A02YYUW(water=water, clock=clock, seed=7)]

    settings.setdefault("mount_height_mm", 3000)
    f = AppField("water_level", sensors, settings)
    f.water = water
    return f


def test_dry_day_batches_four_readings_an_hour():
    f = a02_field()
    f.run_for(3 * 3600 + 120)
    batches = f.readings("water_level")
    assert len(batches) == 3
    for t, data in batches:
        assert data["interval_s"] == 900 and len(data["levels_mm"]) == 4
        assert "alarm" not in data
        # the readings were taken 900 s apart, the last one just before the uplink
        for i, level in enumerate(reversed(data["levels_mm"])):
            assert abs(level - f.water.level_mm(t - 900 * i)) < 30


def crossing_s(water, threshold, step=1.0):
    t = 0.0
    while water.level_mm(t) < threshold:
        t += step
    return t


def test_flood_wave_alarm_within_one_interval_then_fast_sampling_then_all_clear():
    f = a02_field(floods=[FLOOD], thresholds={"high_mm": 1200})
    f.run_for(10 * 3600)
    ups = f.readings("water_level")
    crossed = crossing_s(f.water, 1200)
    alarms = [(t, d) for t, d in ups if d.get("alarm") == "high"]
    assert alarms, ups
    first = alarms[0][0]
    assert crossed < first <= crossed + 900 + 5  # within one sampling interval
    assert alarms[0][1]["level_mm"] >= 1200 - 30
    # while alarmed: one reading a minute, each sent
    gaps = [b[0] - a[0] for a, b in zip(alarms, alarms[1:], strict=False)]
    assert len(alarms) > 30 and max(gaps) < 75, gaps
    for t, d in alarms:
        assert abs(d["level_mm"] - f.water.level_mm(t)) < 40
        assert abs(d["distance_mm"] - f.water.distance_mm(t)) < 40
    # the all-clear comes once the level is 50 mm below the threshold, then batches again
    clear = [(t, d) for t, d in ups if t > first and "alarm" not in d and "level_mm" in d]
    assert clear and f.water.level_mm(clear[0][0]) < 1200 - 20
    assert any("levels_mm" in d for t, d in ups if t > clear[0][0])


def test_rise_rate_alarm_before_the_level_threshold():
    f = a02_field(floods=[FLOOD], thresholds={"high_mm": 2500, "rise_mm": 600})
    f.run_for(5 * 3600)
    rises = [t for t, d in f.readings("water_level") if d.get("alarm") == "rise"]
    assert rises
    assert FLOOD[0] < rises[0] < FLOOD[0] + FLOOD[1]  # during the rise, before any peak


def test_speed_of_sound_compensated_from_the_ds18b20():
    cold = DiurnalTemperature(mean_c=-10.0, amplitude_c=0.0, weather_sd_c=0.0)

    def run(air_sensor):
        water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=400, seed=4)

        def sensors(clock):
            return [
                JSNSR04T(water=water, climate=cold, clock=clock, seed=8, bad_echo_rate=0.1),
                DS18B20(climate=cold, clock=clock, seed=9),
            ]

        settings = {"sensor": "jsn_sr04t", "mount_height_mm": 3000, "batch": 1}
        if air_sensor:
            settings["air_sensor"] = "ds18b20"
        f = AppField("water_level", sensors, settings)
        f.run_for(3600)
        return [(d["levels_mm"][0] - water.level_mm(t)) for t, d in f.readings("water_level")]

    compensated = run(True)
    assumed_20c = run(False)
    assert len(compensated) >= 4 and all(abs(e) < 20 for e in compensated), compensated
    # at -10 degC sound is 5.5 % slower: 2.6 m read as ~2.74 m without compensation
    assert all(-180 < e < -110 for e in assumed_20c), assumed_20c


def test_sensor_unplugged_flushes_the_batch_and_reports():
    f = a02_field()
    f.run_for(2 * 900 + 120)  # three readings in the batch (at 0, 900 and 1800 s)
    assert f.readings("water_level") == []
    (sensor,) = f.sensors
    sensor.uart_receive = lambda now_us: []  # the cable is cut: the UART stays silent
    f.run_for(900)
    ups = f.readings("water_level")
    assert len(ups) == 1 and len(ups[0][1]["levels_mm"]) == 3  # nothing lost, nothing made up
    errors = [d["errors"] for _, d in f.readings("status") if "errors" in d]
    assert errors == [["sensor"]]


def test_power_cut_mid_cycle_keeps_the_batch_and_the_counter():
    f = a02_field()
    f.run_for(2 * 900 + 120)  # three readings waiting (0, 900, 1800 s)
    f.until_next_boot()
    f.hold(0.8)  # sensor rail on, reading in progress
    assert f.awake()
    f.board.power_cut()
    f.hold(10)
    f.board.power_on()
    f.run_for(2 * 900)
    (batch,) = f.readings("water_level")
    assert len(batch[1]["levels_mm"]) == 4  # the three before the cut survived
    fcnts = f.fcnts()
    assert fcnts == list(range(len(fcnts)))
    assert len(f.events("join")) == 1


def test_config_downlink_changes_interval_and_threshold():
    f = a02_field(floods=[FLOOD])
    f.run_for(3600 + 120)  # the first hourly batch carries the downlink back
    f.configure({"interval_s": 600, "thresholds": {"high_mm": 1200}})
    f.run_for(3600)
    f.run_for(6 * 3600)
    ups = f.readings("water_level")
    intervals = [d["interval_s"] for t, d in ups if "levels_mm" in d]
    # hourly batches of 900 s readings, the one cut short by the change, then 600 s ones
    assert intervals[0] == 900 and intervals[-1] == 600
    assert intervals == sorted(intervals, reverse=True)
    assert any(d.get("alarm") == "high" for _, d in ups)  # the new threshold is in force
    assert [d["interval_s"] for _, d in f.readings("status")][-1] == 600
