"""EnergyMeter.empty_at_us: the board skips the exact "is the battery flat?" sum before that
time, so it must never be later than the first microsecond the exact sum says flat."""

import random

import pytest
from lorafield_hw.energy import Battery, EnergyMeter


def _exactly_flat(meter, now_us):
    """The exact test `empty()` makes (the charge projected to now_us reaches capacity)."""
    battery = meter.battery
    used = battery.used_mah + meter._total_ma * (now_us - meter._last_us) / 3.6e9
    return used >= battery.capacity_mah


def _crossing(meter, now_us):
    """The first microsecond from now_us at which the exact test says flat (or None)."""
    high = now_us + (1 << 60)
    if not _exactly_flat(meter, high):
        return None
    low = now_us
    while low < high:
        middle = (low + high) // 2
        if _exactly_flat(meter, middle):
            high = middle
        else:
            low = middle + 1
    return low


@pytest.mark.parametrize("seed", range(12))
def test_empty_at_is_never_after_the_exact_crossing(seed):
    rnd = random.Random(seed)
    now = [0]
    capacity = rnd.choice((0.0005, 0.01, 2.0, 1000.0))
    battery = Battery("lipo", capacity, charge_pct=rnd.choice((100.0, 1.0, 1e-7)))
    meter = EnergyMeter(lambda: now[0], battery)
    checked = 0
    for _ in range(400):
        action = rnd.random()
        if action < 0.5:
            component = rnd.choice(EnergyMeter.COMPONENTS)
            meter.set(component, "x", rnd.choice((0.0, 0.0002, 0.8, 40.0, 120.0)))
        elif action < 0.6:
            meter.add_charge("sensors", rnd.choice((1e-6, 0.01, 0.5)))
        else:
            now[0] += rnd.choice((1, 10, 1_000, 1_000_000, 60_000_000))
        if battery.empty:
            battery.used_mah = 0.0  # a fresh battery (the meter is told through update())
            meter.update()
        crossing = _crossing(meter, now[0])
        if crossing is not None:
            assert meter.empty_at_us <= crossing
            checked += 1
            if crossing > now[0]:
                assert not meter.empty(crossing - 1)  # reads only; nothing moves
        assert meter.empty(now[0]) == _exactly_flat(meter, now[0])
    assert checked > 0


def test_an_idle_meter_never_needs_the_exact_sum():
    meter = EnergyMeter(lambda: 0, Battery("alkaline", 2600, 2))
    assert meter.empty_at_us > 1 << 60  # nothing draws
    meter.set("mcu", "deepsleep", 0.01)
    days = (meter.empty_at_us - 0) / 86_400e6
    assert 2600 / 0.01 / 24 * 0.999 < days < 2600 / 0.01 / 24  # early, by a hair
