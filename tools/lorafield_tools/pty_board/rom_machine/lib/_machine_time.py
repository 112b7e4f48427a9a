# --real-boards mode: while main.py runs, the `time` module's clock is the emulated board's
# (virtual time) and os.urandom (which the WebAssembly port lacks; an ESP32 has a hardware
# RNG) draws from the board's random source; install() before, uninstall() after, so the
# REPL keeps the real clock (and the native port's own os.urandom).
import os
import time

import machine

_saved = {}
_NAMES = ("ticks_ms", "ticks_us", "sleep_ms", "sleep_us", "sleep", "time_ns")


def install():
    for name in _NAMES:
        _saved[name] = getattr(time, name)
    if hasattr(os, "urandom"):
        _saved["urandom"] = os.urandom
    clock = machine._host().clock()
    host = machine._host()
    time.ticks_ms = clock.ticks_ms
    time.ticks_us = clock.ticks_us
    time.sleep_ms = clock.sleep_ms
    time.sleep_us = clock.sleep_us
    time.sleep = lambda s: clock.sleep_ms(int(s * 1000))
    time.time_ns = lambda: host.rtc_ms() * 1_000_000  # the RTC domain: counts through sleep
    os.urandom = host.random_bytes


def uninstall():
    urandom = _saved.pop("urandom", None)
    for name, fn in _saved.items():
        setattr(time, name, fn)
    _saved.clear()
    if urandom is not None:
        os.urandom = urandom
    elif hasattr(os, "urandom"):
        del os.urandom
