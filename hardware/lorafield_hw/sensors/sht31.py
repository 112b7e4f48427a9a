"""SHT31 temperature and humidity sensor on I2C (Sensirion SHT3x-DIS datasheet).

Single-shot measurements (datasheet 4.3, Table 9): 0x2400 / 0x240B / 0x2416 for high /
medium / low repeatability without clock stretching, 0x2C06 / 0x2C0D / 0x2C10 with it;
max durations 15 / 6 / 4 ms (Table 4). Without clock stretching a read before the result
is ready is NACKed (4.3); with it the sensor holds SCL until done. The result is 6 bytes:
T MSB, T LSB, CRC, RH MSB, RH LSB, CRC, with CRC-8 polynomial 0x31, init 0xFF (4.12);
T = -45 + 175 * S_T / 65535, RH = 100 * S_RH / 65535 (4.13). Also soft reset 0x30A2,
status 0xF32D / clear 0x3041, heater 0x306D / 0x3066.
"""

# The firmware driver's Sensirion CRC-8 (one implementation; the datasheet's 4.12 example is
# asserted in tests/drivers and tests/hardware/boards).
from lorafield_node.drivers.sht31 import crc8

from lorafield_hw.sensors.base import Sensor

ADDRESS = 0x44

SINGLE_SHOT = {  # command -> (duration us, clock stretching, T repeatability degC)
    0x2400: (15_000, False, 0.04),
    0x240B: (6_000, False, 0.08),
    0x2416: (4_000, False, 0.15),
    0x2C06: (15_000, True, 0.04),
    0x2C0D: (6_000, True, 0.08),
    0x2C10: (4_000, True, 0.15),
}
CMD_SOFT_RESET = 0x30A2
CMD_READ_STATUS = 0xF32D
CMD_CLEAR_STATUS = 0x3041
CMD_HEATER_ON = 0x306D
CMD_HEATER_OFF = 0x3066

STATUS_HEATER = 1 << 13
STATUS_RESET_DETECTED = 1 << 4
STATUS_COMMAND_FAILED = 1 << 1

MEASURING_MA = 0.6  # supply current while measuring, typ (electrical specifications)
IDLE_MA = 0.0002  # idle state, single-shot mode


class SHT31(Sensor):
    idle_ma = IDLE_MA

    def __init__(self, climate=None, address=ADDRESS, glitch_rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.address = address
        self.climate = climate
        self.glitch_rate = glitch_rate
        # Per-part calibration error within the typical accuracy (+-0.2 degC, +-2 %RH).
        self._t_offset = self.random.uniform(-0.2, 0.2)
        self._rh_offset = self.random.uniform(-2.0, 2.0)
        self.power_on_reset()

    def power_on_reset(self):
        self.status = STATUS_RESET_DETECTED
        self._ready_us = None
        self._stretch = False
        self._output = None
        self._pending = None  # (t_s, repeatability) of the running measurement

    def _truth(self, t_s):
        if self.climate is None:
            return 25.0, 50.0
        return self.climate.temperature_c(t_s), self.climate.humidity_pct(t_s)

    def i2c_write(self, data):
        if len(data) < 2:
            return True  # an address-only write (a probe) is ACKed
        command = int.from_bytes(data[:2], "big")
        if command in SINGLE_SHOT:
            duration, stretch, repeat = SINGLE_SHOT[command]
            self._ready_us = self.now_us + duration
            self._stretch = stretch
            self._pending = (self._ready_us / 1e6, repeat)
            self._output = None
            self.draw(MEASURING_MA - IDLE_MA, duration / 1e6)
        elif command == CMD_SOFT_RESET:
            self.power_on_reset()
        elif command == CMD_READ_STATUS:
            word = self.status.to_bytes(2, "big")
            self._output = word + bytes([crc8(word)])
        elif command == CMD_CLEAR_STATUS:
            self.status &= ~(STATUS_RESET_DETECTED | STATUS_COMMAND_FAILED)
        elif command == CMD_HEATER_ON:
            self.status |= STATUS_HEATER
        elif command == CMD_HEATER_OFF:
            self.status &= ~STATUS_HEATER
        else:
            self.status |= STATUS_COMMAND_FAILED
        return True

    def i2c_stretch_us(self):
        """Clock stretching: how long SCL is held low before a read can proceed."""
        if self._stretch and self._ready_us is not None:
            return max(0, self._ready_us - self.now_us)
        return 0

    def _finish(self):
        if self._pending is None or self.now_us < self._ready_us:
            return
        t_s, repeat = self._pending
        temp, rh = self._truth(t_s)
        if self.status & STATUS_HEATER:
            temp += 3.0  # the heater warms the die by a few degC (datasheet 4.10)
        temp += self._t_offset + self.random.gauss(0.0, repeat)
        rh += self._rh_offset + self.random.gauss(0.0, repeat * 2.0)
        st = max(0, min(0xFFFF, round((temp + 45.0) * 65535 / 175.0)))
        srh = max(0, min(0xFFFF, round(rh * 65535 / 100.0)))
        t_word, rh_word = st.to_bytes(2, "big"), srh.to_bytes(2, "big")
        self._output = t_word + bytes([crc8(t_word)]) + rh_word + bytes([crc8(rh_word)])
        self._pending = None
        self._ready_us = None

    def i2c_read(self, n):
        self._finish()
        if self._output is None:
            return None  # measuring (or nothing to read): the read header is NACKed
        out = bytearray(self._output[:n])
        out.extend(b"\xff" * (n - len(out)))
        if self.glitch_rate and self.random.random() < self.glitch_rate:
            out[self.random.randrange(len(out))] ^= 1 << self.random.randrange(8)
        self._output = None
        return bytes(out)
