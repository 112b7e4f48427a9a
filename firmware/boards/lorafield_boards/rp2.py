"""RP2040 boards (Raspberry Pi Pico + RFM95W, Adafruit Feather RP2040 RFM95).

MicroPython's rp2 port has no deep sleep of its own: machine.deepsleep() is a light sleep
followed by a reset, and the reset reads as WDT_RESET. This board keeps the contract:
before sleeping it stops the watchdog (it cannot be fed while asleep and RP2040's limit is
8.3 s), marks the sleep in a watchdog scratch register (WATCHDOG_SCRATCH0, RP2040 datasheet
4.7.5: kept across a watchdog reboot; the SDK uses SCRATCH4-7), sleeps and resets; the
next boot reports DEEPSLEEP_RESET. RAM is lost as on the ESP32; state is in the store (a
file of the filesystem, page-programmed by LittleFS).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import machine

from .common import MachineBoard, Watchdog

_WATCHDOG_BASE = const(0x40058000)
_WATCHDOG_CTRL = const(0x40058000)  # bit 30 ENABLE (RP2040 datasheet 4.7.6)
_SCRATCH0 = const(0x4005800C)
_SCRATCH1 = const(0x40058010)  # rtc_ms() at the deep-sleep reset, low 32 bits
_SCRATCH2 = const(0x40058014)  # ... high 32 bits
_ENABLE = const(0x40000000)
_SLEEP_MAGIC = const(0x4C465350)  # "LFSP"
_WDT_MAX_MS = const(8300)  # 24-bit counter at 1 us ticks, halved by the RP2040-E1 erratum


class Rp2Board(MachineBoard):
    def __init__(self, key, options=None):
        super().__init__(key, options)
        cause = machine.reset_cause()
        if machine.mem32[_SCRATCH0] == _SLEEP_MAGIC:
            machine.mem32[_SCRATCH0] = 0
            cause = 4
            # mem32 reads are signed on 32-bit ports: mask before combining
            lo = machine.mem32[_SCRATCH1] & 0xFFFFFFFF
            rtc = lo | ((machine.mem32[_SCRATCH2] & 0xFFFFFFFF) << 32)
            self._rtc_init(rtc, False)
        self._cause = self._gate_wake(cause)  # a TPL5110's timed power-on: DEEPSLEEP_RESET

    def reset_cause(self):
        return self._cause

    def watchdog(self, timeout_ms):
        return Watchdog(timeout_ms if timeout_ms < _WDT_MAX_MS else _WDT_MAX_MS)

    def deepsleep(self, ms):
        self._gate_off(ms)
        machine.mem32[_WATCHDOG_CTRL] = machine.mem32[_WATCHDOG_CTRL] & ~_ENABLE
        self._rtc_store()
        machine.mem32[_SCRATCH0] = _SLEEP_MAGIC
        machine.lightsleep(int(ms))
        self._rtc_store()  # the timer ran through the light sleep: rtc_ms() counted it
        machine.reset()

    def _rtc_store(self):
        # Scratch registers keep their value through the watchdog reset (datasheet 4.7.5).
        rtc = self.rtc_ms()
        machine.mem32[_SCRATCH1] = rtc & 0xFFFFFFFF
        machine.mem32[_SCRATCH2] = (rtc >> 32) & 0xFFFFFFFF

    def battery_mv(self):
        adc = self.pins.get("battery_adc", {})
        if "pin" not in adc:
            return 0
        raw = machine.ADC(adc["pin"]).read_u16()
        return int(raw * 3300 * adc["divider"]) // 65535

    def flash_prog_size(self):
        return 1  # the file device programs bytes; LittleFS does the page writes
