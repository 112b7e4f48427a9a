"""QMC5883L 3-axis magnetometer on I2C (QST QMC5883L datasheet, rev 1.0).

Register map (datasheet, "Register Map"): 0x00-0x05 X/Y/Z output, LSB first, 16-bit
two's complement; 0x06 status (bit 0 DRDY, bit 1 OVL, bit 2 DOR); 0x07-0x08 relative
temperature (100 LSB per degC); 0x09 control 1 (OSR[7:6], RNG[5:4], ODR[3:2], MODE[1:0]);
0x0A control 2 (SOFT_RST bit 7, ROL_PNT bit 6, INT_ENB bit 0); 0x0B SET/RESET period
(0x01 recommended); 0x0D chip id, reads 0xFF. Sensitivity 12000 LSB/G at +-2 G, 3000 LSB/G at +-8 G.

DRDY is set when a new sample is loaded in continuous mode and cleared by reading any data
register; DOR is set when a sample was overwritten before it was read. The field is the
Earth's field plus the parked car's signature (ParkingScenario), a slow offset drift with
temperature and Gaussian noise (~2 mG field resolution at OSR 512).
"""

import math
import struct

from lorafield_hw.sensors.base import Sensor

ADDRESS = 0x0D
REG_X_LSB = 0x00
REG_STATUS = 0x06
REG_TEMP_LSB = 0x07
REG_CONTROL1 = 0x09
REG_CONTROL2 = 0x0A
REG_SET_RESET = 0x0B
REG_CHIP_ID = 0x0D
CHIP_ID = 0xFF

STATUS_DRDY = 0x01
STATUS_OVL = 0x02
STATUS_DOR = 0x04

MODE_CONTINUOUS = 0x01
ODR_HZ = (10, 50, 100, 200)
RANGE_GAUSS = (2.0, 8.0)
LSB_PER_GAUSS = (12000, 3000)
OSR = (512, 256, 128, 64)

# X, Y, Z counts (16-bit two's complement, LSB first) and the temperature word.
_SAMPLE = struct.Struct("<hhh")
_TEMP = struct.Struct("<H")

CONTINUOUS_MA = 0.1  # order of the datasheet's continuous-mode supply current
STANDBY_MA = 0.003


class QMC5883L(Sensor):
    address = ADDRESS
    idle_ma = STANDBY_MA

    def __init__(
        self,
        parking=None,
        temperature=None,
        earth_field_ut=(18.0, 2.0, -44.0),
        noise_mg=2.0,
        drift_mg_per_c=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.parking = parking
        self.temperature = temperature
        self.earth_field_ut = earth_field_ut
        self.noise_mg = noise_mg
        # A fixed direction for this part's offset drift with temperature.
        direction = [self.random.gauss(0.0, 1.0) for _ in range(3)]
        norm = math.sqrt(sum(c * c for c in direction)) or 1.0
        self._drift = [drift_mg_per_c * c / norm for c in direction]
        self._settings = {}  # (CONTROL1, noise) -> _sampling()
        self.power_on_reset()

    def power_on_reset(self):
        self.regs = bytearray(0x0E)
        self.regs[REG_CHIP_ID] = CHIP_ID
        self._pointer = 0
        self._mode_start_us = None
        self._loaded = -1  # index of the sample in the output registers
        self._read = -1  # index of the last sample whose data was read
        self._accrued_us = self.now_us

    # -- truth ------------------------------------------------------------------------------
    def temperature_c(self, t_s):
        return self.temperature.temperature_c(t_s) if self.temperature else 25.0

    def field_gauss(self, t_s):
        """The true field (G) at the sensor, before noise."""
        x, y, z = self.earth_field_ut
        if self.parking is not None:
            dx, dy, dz = self.parking.field_offset_ut(t_s)
            x, y, z = x + dx, y + dy, z + dz
        dt = self.temperature_c(t_s) - 25.0
        drift = self._drift
        return [
            x / 100.0 + drift[0] * dt / 1000.0,
            y / 100.0 + drift[1] * dt / 1000.0,
            z / 100.0 + drift[2] * dt / 1000.0,
        ]

    # -- sampling ---------------------------------------------------------------------------
    def _accrue(self, now=None):
        if now is None:
            now = self._clock()
        if self.regs[REG_CONTROL1] & 0x03 == MODE_CONTINUOUS:
            self.draw(CONTINUOUS_MA - STANDBY_MA, (now - self._accrued_us) / 1e6)
        self._accrued_us = now

    def _latest(self, now=None):
        c1 = self.regs[REG_CONTROL1]
        if c1 & 0x03 != MODE_CONTINUOUS or self._mode_start_us is None:
            return -1
        if now is None:
            now = self._clock()
        return (now - self._mode_start_us) * ODR_HZ[(c1 >> 2) & 3] // 1_000_000 - 1

    def _sampling(self, c1):
        """(ODR, noise sd, range limit, LSB per gauss) for a CONTROL1 value: the same
        expressions as ever, evaluated once per setting (a parking node loads thousands of
        samples a day with one setting)."""
        key = (c1, self.noise_mg)
        setting = self._settings.get(key)
        if setting is None:
            rng = min((c1 >> 4) & 3, 1)
            sd = self.noise_mg / 1000.0 * math.sqrt(512 / OSR[(c1 >> 6) & 3])
            setting = (ODR_HZ[(c1 >> 2) & 3], sd, RANGE_GAUSS[rng], LSB_PER_GAUSS[rng])
            self._settings[key] = setting
        return setting

    def _load(self, index):
        """Put sample `index` in the output registers."""
        regs = self.regs
        odr, sd, limit, scale = self._sampling(regs[REG_CONTROL1])
        t_s = (self._mode_start_us + (index + 1) * 1_000_000 / odr) / 1e6
        x, y, z = self.field_gauss(t_s)
        gauss = self.random.gauss  # the noise is drawn for x, y, z in that order
        x += gauss(0.0, sd)
        y += gauss(0.0, sd)
        z += gauss(0.0, sd)
        status = regs[REG_STATUS] & ~STATUS_OVL
        if abs(x) > limit or abs(y) > limit or abs(z) > limit:
            status |= STATUS_OVL
        _SAMPLE.pack_into(
            regs,
            REG_X_LSB,
            max(-32768, min(32767, round(x * scale))),
            max(-32768, min(32767, round(y * scale))),
            max(-32768, min(32767, round(z * scale))),
        )
        _TEMP.pack_into(regs, REG_TEMP_LSB, round(self.temperature_c(t_s) * 100) & 0xFFFF)
        if index - self._read > 1 and self._read >= 0:
            status |= STATUS_DOR
        regs[REG_STATUS] = status
        self._loaded = index

    # -- I2C --------------------------------------------------------------------------------
    def i2c_write(self, data):
        if not data:
            return True
        self._accrue(self._clock())
        self._pointer = data[0]
        for value in data[1:]:
            self._write_register(self._pointer, value)
            self._pointer = (self._pointer + 1) & 0xFF
        return True

    def _write_register(self, reg, value):
        if reg == REG_CONTROL2 and value & 0x80:  # SOFT_RST
            self.power_on_reset()
            return
        if reg in (REG_STATUS, REG_CHIP_ID) or reg < REG_STATUS or reg > REG_CHIP_ID:
            return  # read-only or reserved
        old_mode = self.regs[REG_CONTROL1] & 0x03
        self.regs[reg] = value
        if reg == REG_CONTROL1:
            mode = value & 0x03
            if mode == MODE_CONTINUOUS and (old_mode != MODE_CONTINUOUS):
                self._mode_start_us = self.now_us
                self._loaded = self._read = -1
            elif mode != MODE_CONTINUOUS:
                self._mode_start_us = None

    def read_register(self, reg):
        """What `i2c_write(bytes((reg,)))` and then `i2c_read(1)` do, in one call: the ESP32
        ULP's I2C_RD (six a sample, 17,000 samples a day on a parking node)."""
        now = self._clock()
        regs = self.regs
        if regs[REG_CONTROL1] & 0x03 == MODE_CONTINUOUS:  # _accrue and _latest, inline
            seconds = (now - self._accrued_us) / 1e6
            if self.charge_hook is not None and seconds > 0:  # Sensor.draw
                self.charge_hook((CONTINUOUS_MA - STANDBY_MA) * seconds)
            start = self._mode_start_us
            latest = -1
            if start is not None:
                latest = (now - start) * ODR_HZ[(regs[REG_CONTROL1] >> 2) & 3] // 1_000_000 - 1
        else:
            latest = -1
        self._accrued_us = now
        if latest > self._loaded:
            self._load(latest)
        if latest > self._read:
            regs[REG_STATUS] |= STATUS_DRDY
        value = 0
        if reg < len(regs):
            value = regs[reg]
            if reg <= 0x05:  # reading data clears DRDY and DOR (status register)
                self._read = self._loaded
                regs[REG_STATUS] &= ~(STATUS_DRDY | STATUS_DOR)
        pointer = (reg + 1) & 0xFF
        if regs[REG_CONTROL2] & 0x40 and pointer == REG_STATUS + 1:
            pointer = REG_X_LSB
        self._pointer = pointer
        return bytes((value,))

    def i2c_read(self, n):
        now = self._clock()  # one instant for the whole read (no time passes in here)
        self._accrue(now)
        latest = self._latest(now)
        regs = self.regs
        if latest > self._loaded:
            self._load(latest)
        if latest > self._read:
            regs[REG_STATUS] |= STATUS_DRDY
        pointer = self._pointer
        end = pointer + n
        rollover = regs[REG_CONTROL2] & 0x40
        if n and end <= len(regs) and not (rollover and pointer <= REG_STATUS < end):
            # A burst inside the register file that does not roll over: one slice. A burst
            # starting at a data register clears DRDY/DOR before any later status byte of it
            # is read, as the byte-by-byte loop below does.
            if pointer <= 0x05:
                self._read = self._loaded
                regs[REG_STATUS] &= ~(STATUS_DRDY | STATUS_DOR)
            self._pointer = end & 0xFF
            return bytes(regs[pointer:end])
        out = bytearray()
        for _ in range(n):
            reg = self._pointer
            out.append(regs[reg] if reg < len(regs) else 0)
            if reg <= 0x05:  # reading data clears DRDY and DOR (status register)
                self._read = self._loaded
                regs[REG_STATUS] &= ~(STATUS_DRDY | STATUS_DOR)
            self._pointer = (reg + 1) & 0xFF
            if rollover and self._pointer == REG_STATUS + 1:
                self._pointer = REG_X_LSB
        return bytes(out)
