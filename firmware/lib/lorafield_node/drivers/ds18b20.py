"""DS18B20 on one-wire (Maxim DS18B20 datasheet rev 6).

CONVERT T (0x44), sleep the datasheet's maximum conversion time for the resolution (750 ms
at 12 bits, the power-up default; 93.75 ms << (bits - 9)), then poll read slots until the
sensor returns 1 (conversion done) as a safety net: one wake instead of a poll every 10 ms
through the conversion (the MicroPython docs' ds18x20 example also sleeps 750 ms). READ
SCRATCHPAD (0xBE): 9 bytes whose last is the Dallas/Maxim CRC-8
(x^8+x^5+x^4+1, Maxim AN27) of the first 8. A bad CRC is retried, then reported. The
power-up value +85 degC (0x0550) is what a read before any conversion gives: with a
conversion that reported done it is accepted only if a second conversion agrees.
Temperatures are returned as ints in centi-degC.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import SensorError

_CONVERT = const(0x44)
_READ_SCRATCH = const(0xBE)
_SKIP_ROM = const(0xCC)
_MATCH_ROM = const(0x55)
_CONVERT_TIMEOUT_MS = const(800)
_POLL_MS = const(10)
_CONVERT_12BIT_US = const(750_000)  # tCONV max at 12 bits (datasheet table 2)
_TRIES = const(3)


def crc8(data, end=None):
    """Dallas/Maxim CRC-8 (reflected 0x8C); 0 over a block ending in its own CRC."""
    crc = 0
    for i in range(len(data) if end is None else end):
        byte = data[i]
        for _ in range(8):
            mix = (crc ^ byte) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            byte >>= 1
    return crc


class DS18B20:
    def __init__(self, ow, clock, rom=None, sleep_ms=None):
        self.ow = ow
        self.clock = clock
        self.rom = rom  # None: the only device on the bus (SKIP ROM)
        self.sleep_ms = sleep_ms or clock.sleep_ms  # board.lightsleep while converting
        self._scratch = bytearray(9)
        self.crc_errors = 0
        self.resolution_bits = 12  # power-up default; updated from each scratchpad read

    def _select(self):
        if not self.ow.reset():
            raise SensorError("DS18B20: no presence pulse")
        if self.rom is None:
            self.ow.writebyte(_SKIP_ROM)
        else:
            self.ow.writebyte(_MATCH_ROM)
            self.ow.write(self.rom)

    def convert(self):
        self._select()
        self.ow.writebyte(_CONVERT)
        clock = self.clock
        start = clock.ticks_ms()
        self.sleep_ms((_CONVERT_12BIT_US >> (12 - self.resolution_bits)) // 1000)
        while not self.ow.readbit():
            if clock.ticks_diff(clock.ticks_ms(), start) > _CONVERT_TIMEOUT_MS:
                raise SensorError("DS18B20: conversion did not finish")
            self.sleep_ms(_POLL_MS)

    def read_scratchpad(self):
        for _ in range(_TRIES):
            self._select()
            self.ow.writebyte(_READ_SCRATCH)
            self.ow.readinto(self._scratch)
            s = self._scratch
            if crc8(s) == 0 and s[4] & 0x9F == 0x1F:  # config reserved bits (datasheet 7.3)
                self.resolution_bits = 9 + ((s[4] >> 5) & 3)  # R1 R0 (table 2)
                return s
            self.crc_errors += 1
        raise SensorError("DS18B20: scratchpad CRC error")

    def read(self):
        """Convert and read: centi-degC."""
        self.convert()
        s = self.read_scratchpad()
        raw = s[0] | (s[1] << 8)
        if raw & 0x8000:
            raw -= 0x10000
        if raw == 0x0550:  # +85 degC is also the power-up value: confirm with a second one
            self.convert()
            s = self.read_scratchpad()
            if (s[0] | (s[1] << 8)) != 0x0550:
                raise SensorError("DS18B20: power-up value read")
        return raw * 100 // 16
