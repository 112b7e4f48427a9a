"""QMC5883L 3-axis magnetometer on I2C (QST QMC5883L datasheet rev 1.0, "Register Map").

Used in short bursts: continuous mode at 200 Hz is switched on, the first sample (DRDY,
status bit 0) is read and the chip goes back to standby (mode 00), so it draws its
continuous-mode current only for a few ms per sample. Range +-2 G: 12000 LSB/G, i.e. 120
LSB/uT; readings are returned in nT (ints) so that a parking detector needs no floats.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import SensorError

ADDRESS = const(0x0D)
_REG_DATA = const(0x00)  # X, Y, Z LSB first (datasheet 9.2.1)
_REG_STATUS = const(0x06)
_REG_CONTROL1 = const(0x09)
_REG_CONTROL2 = const(0x0A)
_REG_SET_RESET = const(0x0B)
_REG_CHIP_ID = const(0x0D)
_CHIP_ID = const(0xFF)
_DRDY = const(0x01)
_OVL = const(0x02)
# Control 1: OSR 512 (00), RNG 2 G (00), ODR 200 Hz (11), MODE continuous (01).
_CONTINUOUS_200HZ = const(0x0D)
_STANDBY = const(0x00)
_SOFT_RST = const(0x80)
_NT_PER_LSB_NUM = const(25)  # 1 LSB = 1/120 uT = 25/3 nT
_NT_PER_LSB_DEN = const(3)
_FIRST_SAMPLE_MS = const(5)  # one sample period at 200 Hz
_SAMPLE_TIMEOUT_MS = const(50)


# What both magnetometer drivers share: byte-wide register access whose I2C failures become
# SensorError naming the chip, and polling a status bit until a sample is ready; each driver
# keeps its own registers, scaling and axis order. The HMC5883L driver imports it from here:
# as a module of its own it cost the parking ULP wake 816 B more heap, here 336 B (VM heap
# test in tests/apps; a docstring here cost ~270 B more, so this is a comment).
class RegisterMagnetometer:
    NAME = "magnetometer"  # the chip's name in error messages

    def __init__(self, i2c, clock, address):
        self.i2c = i2c
        self.clock = clock
        self.address = address
        self._buf = bytearray(6)  # preallocated: one sample, three 16-bit axes
        self._one = bytearray(1)

    def _write(self, reg, value):
        self._one[0] = value
        try:
            self.i2c.writeto_mem(self.address, reg, self._one)
        except OSError as e:
            raise SensorError("%s does not answer (OSError %s)" % (self.NAME, e.args[0])) from None

    def _read(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, buf)
        except OSError as e:
            raise SensorError("%s does not answer (OSError %s)" % (self.NAME, e.args[0])) from None

    def _wait_ready(self, status_reg, ready_mask, timeout_ms):
        """Poll `status_reg` every ms until `ready_mask` is set; the status byte is left in
        self._one. SensorError after `timeout_ms`."""
        clock = self.clock
        start = clock.ticks_ms()
        while True:
            self._read(status_reg, self._one)
            if self._one[0] & ready_mask:
                return
            if clock.ticks_diff(clock.ticks_ms(), start) > timeout_ms:
                raise SensorError("%s: no data ready" % self.NAME)
            clock.sleep_ms(1)


class QMC5883L(RegisterMagnetometer):
    NAME = "QMC5883L"

    def __init__(self, i2c, clock, address=ADDRESS):
        super().__init__(i2c, clock, address)
        self.overflow = False

    def init(self):
        """Soft reset, check the chip id, SET/RESET period 0x01 (datasheet 9.2.4), standby."""
        self._write(_REG_CONTROL2, _SOFT_RST)
        self._read(_REG_CHIP_ID, self._one)
        if self._one[0] != _CHIP_ID:
            raise SensorError("QMC5883L: unexpected chip id 0x%02x" % self._one[0])
        self._write(_REG_SET_RESET, 0x01)
        self._write(_REG_CONTROL1, _STANDBY)

    def read_nt(self):
        """One fresh sample: (x, y, z) in nT. Raises SensorError on no data or overflow."""
        clock = self.clock
        self._write(_REG_CONTROL1, _CONTINUOUS_200HZ)
        clock.sleep_ms(_FIRST_SAMPLE_MS)  # then DRDY is (nearly) always set: one status read
        try:
            self._wait_ready(_REG_STATUS, _DRDY, _SAMPLE_TIMEOUT_MS)
            self.overflow = bool(self._one[0] & _OVL)
            self._read(_REG_DATA, self._buf)
        finally:
            self._write(_REG_CONTROL1, _STANDBY)
        if self.overflow:
            raise SensorError("QMC5883L: field out of range")
        b = self._buf
        out = []
        for i in (0, 2, 4):
            v = b[i] | (b[i + 1] << 8)
            if v & 0x8000:
                v -= 0x10000
            out.append(v * _NT_PER_LSB_NUM // _NT_PER_LSB_DEN)
        return out[0], out[1], out[2]
