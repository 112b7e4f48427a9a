"""Issue 2's payload size targets, asserted as a contract (application payload bytes)."""

from hypothesis import given
from hypothesis import strategies as st
from lorafield_codec import encode

NINE_HOURS = 9 * 3600


def size(kind, data):
    return len(encode(kind, data))


def test_parking_change_without_since_is_at_most_2_bytes():
    assert size("parking", {"occupied": True}) <= 2
    assert size("parking", {"occupied": False}) <= 2


def test_parking_change_with_since_below_9_hours_is_at_most_3_bytes():
    # Exhaustive: every duration from 0 s to 9 h, both states.
    for since in range(NINE_HOURS + 1):
        for occupied in (False, True):
            assert size("parking", {"occupied": occupied, "since_s": since}) <= 3, since


def test_temperature_alone_is_at_most_3_bytes_over_its_whole_range():
    for centi in range(-4000, 8501):  # every 0.01 C step of -40..85
        assert size("temperature", {"temperature_c": centi / 100}) <= 3, centi


@given(
    st.integers(-4000, 8500).map(lambda c: c / 100),
    st.integers(0, 1000).map(lambda d: d / 10),
)
def test_temperature_with_humidity_is_at_most_7_bytes(t, h):
    assert size("temperature", {"temperature_c": t, "humidity_pct": h}) <= 7


@given(st.integers(-65536, 65535))
def test_one_water_level_is_at_most_3_bytes_within_65_m(level):
    assert size("water_level", {"level_mm": level}) <= 3


@given(
    st.integers(-65000, 65000),
    st.lists(st.integers(-24, 23), min_size=15, max_size=15),
    st.integers(1, 65535),
)
def test_16_slowly_changing_levels_with_interval_are_at_most_24_bytes(first, steps, interval):
    levels = [first]
    for step in steps:
        levels.append(levels[-1] + step)
    assert size("water_level", {"levels_mm": levels, "interval_s": interval}) <= 24


@given(
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.tuples(st.integers(0, 6), st.integers(0, 31), st.integers(0, 31)),
    st.sampled_from(["power_on", "hard", "watchdog", "deep_sleep", "soft", "brownout", "other"]),
    st.lists(st.sampled_from(["sensor", "radio", "join", "low_battery"]), min_size=1, max_size=2),
    st.integers(1, 65535),
)
def test_status_with_every_field_is_at_most_18_bytes(battery, uptime, fw, cause, errors, interval):
    data = {
        "battery_mv": battery,
        "uptime_s": uptime,
        "fw": "{}.{}.{}".format(*fw),
        "reset_cause": cause,
        "errors": errors,
        "interval_s": interval,
    }
    assert size("status", data) <= 18


@given(st.integers(0, 65535))
def test_status_battery_only_is_at_most_4_bytes(battery):
    assert size("status", {"battery_mv": battery}) <= 4
