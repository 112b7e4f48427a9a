"""SHT31 temperature/humidity on I2C (Sensirion SHT3x-DIS datasheet).

Single shot, high repeatability, no clock stretching (command 0x2400, 4.3 Table 9): the
sensor NACKs reads until the result is ready (max 15 ms, Table 4). Each 16-bit word is
followed by a CRC-8 (polynomial 0x31, init 0xFF, 4.12); a wrong CRC is retried, then
reported. T = -45 + 175 * S/65535, RH = 100 * S/65535 (4.13), returned as ints in
centi-degC and per-mille RH.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import SensorError

ADDRESS = const(0x44)
_MEASURE_MS = const(16)  # 15 ms max + margin
_TRIES = const(3)
_CMD_SINGLE_HIGH = b"\x24\x00"
_CMD_SOFT_RESET = b"\x30\xa2"


def crc8(data, start=0, end=None):
    """Sensirion CRC-8 (0x31, init 0xFF): crc8(b'\\xbe\\xef') == 0x92 (4.12)."""
    crc = 0xFF
    for i in range(start, len(data) if end is None else end):
        crc ^= data[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class SHT31:
    def __init__(self, i2c, clock, address=ADDRESS):
        self.i2c = i2c
        self.clock = clock
        self.address = address
        self._buf = bytearray(6)
        self.crc_errors = 0

    def read(self):
        """(centi-degC, per-mille RH) of a fresh measurement."""
        last = "no answer"
        for _ in range(_TRIES):
            try:
                self.i2c.writeto(self.address, _CMD_SINGLE_HIGH)
            except OSError:
                last = "no answer"
                continue
            self.clock.sleep_ms(_MEASURE_MS)
            try:
                self.i2c.readfrom_into(self.address, self._buf)
            except OSError:
                last = "no result"
                continue
            b = self._buf
            if crc8(b, 0, 2) != b[2] or crc8(b, 3, 5) != b[5]:
                self.crc_errors += 1
                last = "CRC error"
                continue
            st = (b[0] << 8) | b[1]
            srh = (b[3] << 8) | b[4]
            return -4500 + 17500 * st // 65535, 1000 * srh // 65535
        raise SensorError("SHT31: " + last)
