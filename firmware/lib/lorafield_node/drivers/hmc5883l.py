"""HMC5883L 3-axis magnetometer on I2C 0x1E (Honeywell HMC5883L datasheet, "Register
List"): configuration A 0x00 (8-sample average, 15 Hz), B 0x01 (gain 1: +-1.3 Ga, 1090
LSB/Ga), mode 0x02 (0x01 single measurement, then idle); data 0x03-0x08 big-endian in the
order X, Z, Y; status 0x09 (bit 0 RDY); identification 0x0A-0x0C = "H43". A saturated axis
reads -4096. Same interface as the QMC5883L driver: init(), read_nt() -> (x, y, z) nT.
There is no emulated HMC5883L: the driver is tested on a fake bus (both runtimes).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import SensorError
from .qmc5883l import RegisterMagnetometer

ADDRESS = const(0x1E)
_REG_CONFIG_A = const(0x00)
_REG_CONFIG_B = const(0x01)
_REG_MODE = const(0x02)
_REG_DATA = const(0x03)
_REG_STATUS = const(0x09)
_REG_ID = const(0x0A)
_CONFIG_A = const(0x70)  # 8 samples averaged, 15 Hz, normal measurement
_GAIN_1090 = const(0x20)
_SINGLE = const(0x01)
_MEASURE_MS = const(7)  # single measurement: 6 ms, then RDY
_TIMEOUT_MS = const(50)
_SATURATED = const(-4096)


class HMC5883L(RegisterMagnetometer):
    NAME = "HMC5883L"

    def __init__(self, i2c, clock, address=ADDRESS):
        super().__init__(i2c, clock, address)
        self._id = bytearray(3)

    def init(self):
        self._read(_REG_ID, self._id)
        if bytes(self._id) != b"H43":
            raise SensorError("HMC5883L: unexpected identification")
        self._write(_REG_CONFIG_A, _CONFIG_A)
        self._write(_REG_CONFIG_B, _GAIN_1090)

    def read_nt(self):
        clock = self.clock
        self._write(_REG_MODE, _SINGLE)
        clock.sleep_ms(_MEASURE_MS)
        self._wait_ready(_REG_STATUS, 0x01, _TIMEOUT_MS)  # RDY
        self._read(_REG_DATA, self._buf)
        b = self._buf
        v = []
        for i in (0, 2, 4):  # X, Z, Y
            x = (b[i] << 8) | b[i + 1]
            if x & 0x8000:
                x -= 0x10000
            if x == _SATURATED:
                raise SensorError("HMC5883L: field out of range")
            v.append(x * 10000 // 109)  # 1 LSB = 1/1090 G = 100000/1090 nT
        return v[0], v[2], v[1]
