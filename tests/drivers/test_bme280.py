"""BME280: the datasheet's integer compensation against Bosch's worked example and its
floating-point formulas, and the driver on a fake register map (no emulated BME280)."""

import struct

import pytest
from lorafield_node.drivers import SensorError
from lorafield_node.drivers.bme280 import BME280, Calibration

# Bosch's worked example (BMP280 datasheet 3.12; the BME280 shares the T and P compensation)
T_P = (27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
CALIB_A = struct.pack("<HhhHhhhhhhhh", *T_P)
H1 = 75
CALIB_B = bytes([0x6A, 0x01, 0x00, 0x13, 0x2A, 0x03, 0x1E])  # H2 362, H3 0, H4 314, H5 50, H6 30


def humidity_double(cal, adc_h, t_fine):
    """The datasheet's floating-point humidity formula (8.1)."""
    v = t_fine - 76800.0
    v = (adc_h - (cal.h4 * 64.0 + cal.h5 / 16384.0 * v)) * (
        cal.h2 / 65536.0 * (1.0 + cal.h6 / 67108864.0 * v * (1.0 + cal.h3 / 67108864.0 * v))
    )
    v = v * (1.0 - cal.h1 * v / 524288.0)
    return min(100.0, max(0.0, v))


def test_worked_example_and_trimming_layout():
    cal = Calibration(CALIB_A, H1, CALIB_B)
    t_cc, t_fine = cal.temperature(519888)
    assert (t_cc, t_fine) == (2508, 128422)  # 25.08 degC
    assert cal.pressure(415148, t_fine) == 100653  # 100653.27 Pa in the example
    assert (cal.h2, cal.h3, cal.h4, cal.h5, cal.h6) == (362, 0, 314, 50, 30)


@pytest.mark.parametrize("adc_t", [400000, 519888, 560000])
def test_humidity_matches_the_floating_point_formula(adc_t):
    cal = Calibration(CALIB_A, H1, CALIB_B)
    _, t_fine = cal.temperature(adc_t)
    for adc_h in range(20000, 45000, 1000):
        got = cal.humidity(adc_h, t_fine) / 1024
        assert got == pytest.approx(humidity_double(cal, adc_h, t_fine), abs=0.01)


class FakeI2C:
    def __init__(self, data, chip_id=0x60, absent=False):
        self.regs = bytearray(256)
        self.regs[0x88 : 0x88 + 24] = CALIB_A
        self.regs[0xA1] = H1
        self.regs[0xE1 : 0xE1 + 7] = CALIB_B
        self.regs[0xD0] = chip_id
        self.regs[0xF7 : 0xF7 + 8] = data
        self.absent = absent
        self.writes = []

    def readfrom_mem(self, addr, reg, n):
        if self.absent:
            raise OSError(19)
        return bytes(self.regs[reg : reg + n])

    def writeto_mem(self, addr, reg, buf):
        if self.absent:
            raise OSError(19)
        self.writes.append((reg, bytes(buf)))


class Clock:
    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.ms += ms


def raw(adc_p, adc_t, adc_h):
    return bytes(
        [adc_p >> 12, (adc_p >> 4) & 0xFF, (adc_p & 0xF) << 4]
        + [adc_t >> 12, (adc_t >> 4) & 0xFF, (adc_t & 0xF) << 4]
        + [adc_h >> 8, adc_h & 0xFF]
    )


def test_driver_forced_measurement():
    i2c = FakeI2C(raw(415148, 519888, 30000))
    t_cc, rh, pa = BME280(i2c, Clock()).read()
    assert (t_cc, pa) == (2508, 100653)
    cal = Calibration(CALIB_A, H1, CALIB_B)
    assert rh == round(humidity_double(cal, 30000, 128422) * 10)
    assert i2c.writes == [(0xF2, b"\x01"), (0xF4, b"\x25")]  # ctrl_hum before ctrl_meas


def test_driver_errors():
    with pytest.raises(SensorError, match="does not answer"):
        BME280(FakeI2C(raw(0, 0, 0), absent=True), Clock()).read()
    with pytest.raises(SensorError, match="chip id"):
        BME280(FakeI2C(raw(0, 0, 0), chip_id=0x58), Clock()).read()  # a BMP280
    with pytest.raises(SensorError, match="no measurement"):
        BME280(FakeI2C(raw(0x80000, 0x80000, 0x8000)), Clock()).read()
