"""Clocks for the gateway: injected so the same radio code runs in real time on a Pi and on
the emulation's virtual time in tests.

``now_us()`` is a monotonic microsecond count (its low 32 bits are the `tmst` counter),
``sleep_us()`` waits, ``wall_us()`` is Unix time in µs (for `time` fields only; scheduling
never uses it).
"""

import time

US = 1_000_000


class MonotonicClock:
    """Real time: CLOCK_MONOTONIC in µs. `sleep_until` spins for the last stretch, because
    a plain sleep on Linux overshoots by 50-100 µs or more."""

    spin_us = 1_500

    def now_us(self):
        return time.monotonic_ns() // 1000

    def sleep_us(self, us):
        if us > 0:
            time.sleep(us / US)

    def sleep_until(self, target_us):
        remaining = target_us - self.now_us()
        if remaining > self.spin_us:
            time.sleep((remaining - self.spin_us) / US)
        while self.now_us() < target_us:
            pass

    def wall_us(self):
        return time.time_ns() // 1000


class VirtualClock:
    """The emulation's scheduler clock (lorafield_hw.scheduler). From inside a scheduler
    process `sleep_us` hands control back to the scheduler until the wake-up time."""

    def __init__(self, scheduler, epoch_us=None):
        self.scheduler = scheduler
        self.epoch_us = time.time_ns() // 1000 if epoch_us is None else epoch_us

    def now_us(self):
        return self.scheduler.now_us

    def sleep_us(self, us):
        self.scheduler.advance(max(0, int(us)))

    def sleep_until(self, target_us):
        self.sleep_us(target_us - self.scheduler.now_us)

    def wall_us(self):
        return self.epoch_us + self.scheduler.now_us
