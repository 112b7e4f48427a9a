"""BME280 temperature, humidity and pressure on I2C 0x76 or 0x77 (Bosch BME280 datasheet).

Forced mode, oversampling x1 for all three (datasheet 3.5.1 "weather monitoring"):
ctrl_hum 0xF2 is written before ctrl_meas 0xF4 (5.4.3: ctrl_hum takes effect on the next
ctrl_meas write), the measurement takes at most 9.3 ms (9.1), status 0xF3 bit 3 is clear
when done, data burst 0xF7-0xFE. Compensation: the datasheet's integer formulas (4.2.3,
8.2; 32-bit for temperature and humidity, 64-bit for pressure) with the trimming parameters
of 0x88-0xA1 and 0xE1-0xE7 (Table 16). A raw temperature or pressure of 0x80000 means "not
measured" (a chip that missed the command).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import struct

from . import SensorError

ADDRESS = const(0x76)
_REG_ID = const(0xD0)
_CHIP_ID = const(0x60)
_REG_CALIB_A = const(0x88)
_REG_H1 = const(0xA1)
_REG_CALIB_B = const(0xE1)
_REG_CTRL_HUM = const(0xF2)
_REG_STATUS = const(0xF3)
_REG_CTRL_MEAS = const(0xF4)
_REG_DATA = const(0xF7)
_FORCED_X1 = const(0x25)  # osrs_t x1, osrs_p x1, forced mode
_MEASURE_MS = const(10)
_TIMEOUT_MS = const(100)
_SKIPPED = const(0x80000)


def _s12(v):
    return v - 0x1000 if v & 0x800 else v


class Calibration:
    def __init__(self, a, h1, b):
        """a: the 24 bytes at 0x88, h1: the byte at 0xA1, b: the 7 bytes at 0xE1."""
        f = struct.unpack("<HhhHhhhhhhhh", a)
        self.t1, self.t2, self.t3 = f[0], f[1], f[2]
        self.p = f[3:12]
        self.h1 = h1
        self.h2 = struct.unpack("<h", b[0:2])[0]
        self.h3 = b[2]
        self.h4 = _s12((b[3] << 4) | (b[4] & 0x0F))
        self.h5 = _s12((b[5] << 4) | (b[4] >> 4))
        self.h6 = b[6] - 256 if b[6] & 0x80 else b[6]

    def temperature(self, adc_t):
        """(centi-degC, t_fine) — datasheet BME280_compensate_T_int32."""
        t1 = self.t1
        var1 = (((adc_t >> 3) - (t1 << 1)) * self.t2) >> 11
        d = (adc_t >> 4) - t1
        var2 = (((d * d) >> 12) * self.t3) >> 14
        t_fine = var1 + var2
        return (t_fine * 5 + 128) >> 8, t_fine

    def pressure(self, adc_p, t_fine):
        """Pa (rounded down) — datasheet BME280_compensate_P_int64, which Python's and
        MicroPython's big ints run exactly (the int32 variant is a few Pa coarser)."""
        p1, p2, p3, p4, p5, p6, p7, p8, p9 = self.p
        var1 = t_fine - 128000
        var2 = var1 * var1 * p6
        var2 = var2 + ((var1 * p5) << 17)
        var2 = var2 + (p4 << 35)
        var1 = ((var1 * var1 * p3) >> 8) + ((var1 * p2) << 12)
        var1 = (((1 << 47) + var1) * p1) >> 33
        if var1 == 0:
            return 0  # avoid a division by zero (datasheet)
        num = (((1048576 - adc_p) << 31) - var2) * 3125
        p = num // var1 if num >= 0 else -((-num) // var1)  # C division truncates
        var1 = (p9 * (p >> 13) * (p >> 13)) >> 25
        var2 = (p8 * p) >> 19
        return (((p + var1 + var2) >> 8) + (p7 << 4)) >> 8  # Q24.8 -> Pa

    def humidity(self, adc_h, t_fine):
        """1/1024 %RH — datasheet bme280_compensate_H_int32."""
        v = t_fine - 76800
        v = ((((adc_h << 14) - (self.h4 << 20) - (self.h5 * v)) + 16384) >> 15) * (
            (((((v * self.h6) >> 10) * (((v * self.h3) >> 11) + 32768)) >> 10) + 2097152) * self.h2
            + 8192
        ) >> 14
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * self.h1) >> 4)
        v = 0 if v < 0 else (419430400 if v > 419430400 else v)
        return v >> 12


class BME280:
    def __init__(self, i2c, clock, address=ADDRESS):
        self.i2c = i2c
        self.clock = clock
        self.address = address
        self.cal = None
        self._data = bytearray(8)
        self._one = bytearray(1)

    def _read(self, reg, n):
        try:
            return self.i2c.readfrom_mem(self.address, reg, n)
        except OSError as e:
            raise SensorError("BME280 does not answer (OSError %s)" % e.args[0]) from None

    def _write(self, reg, value):
        self._one[0] = value
        try:
            self.i2c.writeto_mem(self.address, reg, self._one)
        except OSError as e:
            raise SensorError("BME280 does not answer (OSError %s)" % e.args[0]) from None

    def init(self):
        if self._read(_REG_ID, 1)[0] != _CHIP_ID:
            raise SensorError("BME280: unexpected chip id")
        self.cal = Calibration(
            self._read(_REG_CALIB_A, 24), self._read(_REG_H1, 1)[0], self._read(_REG_CALIB_B, 7)
        )

    def read(self):
        """(centi-degC, per-mille RH, Pa) of one forced measurement."""
        if self.cal is None:
            self.init()
        cal = self.cal
        if cal is None:  # init() raised or set it; keeps pyright sure
            raise SensorError("BME280: no calibration")
        self._write(_REG_CTRL_HUM, 0x01)
        self._write(_REG_CTRL_MEAS, _FORCED_X1)
        clock = self.clock
        clock.sleep_ms(_MEASURE_MS)
        start = clock.ticks_ms()
        while self._read(_REG_STATUS, 1)[0] & 0x08:
            if clock.ticks_diff(clock.ticks_ms(), start) > _TIMEOUT_MS:
                raise SensorError("BME280: measurement did not finish")
            clock.sleep_ms(2)
        d = self._read(_REG_DATA, 8)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        adc_h = (d[6] << 8) | d[7]
        if adc_t == _SKIPPED or adc_p == _SKIPPED:
            raise SensorError("BME280: no measurement")
        t_cc, t_fine = cal.temperature(adc_t)
        h = cal.humidity(adc_h, t_fine)
        return t_cc, (h * 10 + 512) >> 10, cal.pressure(adc_p, t_fine)
