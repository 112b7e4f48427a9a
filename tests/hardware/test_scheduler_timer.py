"""Scheduler.timer(): re-arming a Timer fires its callback at the same time and in the same
order among equal-time events as cancelling the old event and scheduling a new one."""

import random

import pytest
from lorafield_hw.scheduler import Scheduler


class _PlainTimer:
    """The reference: what the board's watchdog did before Timer (cancel + after)."""

    def __init__(self, scheduler, callback):
        self._scheduler = scheduler
        self._callback = callback
        self._event = None

    def arm(self, delay_us):
        self.cancel()
        self._event = self._scheduler.after(delay_us, self._fire)

    def cancel(self):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def _fire(self):
        self._event = None
        self._callback()


def _trace(make_timer, seed):
    """Random arms (later, earlier, to now, negative), cancels and plain events that land on
    the same microseconds as the timer's deadlines, from callbacks and from a process."""
    s = Scheduler(seed, greenlets=True)
    rnd = random.Random(seed)
    trace = []
    timers = [make_timer(s, lambda i=i: trace.append((s.now_us, "fire", i))) for i in range(3)]

    def poke(tag, spawn=True):
        trace.append((s.now_us, "poke", tag))
        timer = rnd.choice(timers)
        action = rnd.random()
        if action < 0.7:
            timer.arm(rnd.choice((-5, 0, 10, 40, 100, 100, 250)))
        elif action < 0.85:
            timer.cancel()
        for _ in range(rnd.randint(0, 2) if spawn else 0):  # on the timers' likely deadlines
            s.after(rnd.choice((0, 10, 40, 100, 250)), poke, f"{tag}+", False)

    def worker():
        for i in range(200):
            s.advance(rnd.choice((0, 10, 40, 100)))
            poke(f"w{i}")

    for t in range(0, 20_000, 37):
        s.at(t, poke, t)
    s.spawn(worker, delay_us=5)
    s.run_until(10_000)
    s.run()
    return trace


@pytest.mark.parametrize("seed", range(6))
def test_a_rearmed_timer_fires_as_cancel_and_after_would(seed):
    expected = _trace(_PlainTimer, seed)
    assert _trace(lambda s, callback: s.timer(callback), seed) == expected
    assert sum(1 for entry in expected if entry[1] == "fire") > 20  # the timers did fire


def test_timer_fires_once_at_its_last_arming_and_not_after_cancel():
    s = Scheduler()
    fired = []
    timer = s.timer(lambda: fired.append(s.now_us))
    timer.arm(100)
    s.run_until(50)
    timer.arm(100)  # fed at 50: due at 150, the event queued for 100 comes up early
    s.run_until(149)
    assert fired == [] and timer.armed
    s.run_until(150)
    assert fired == [150] and not timer.armed
    timer.arm(10)
    timer.cancel()
    s.run()
    assert fired == [150]
