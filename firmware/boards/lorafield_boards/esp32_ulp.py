"""The ESP32's ULP-FSM for apps that sample in deep sleep (parking "sampling": "ulp").

The port the app drives (the emulated board's lorafield_hw.ulp.UlpFsm has the same
methods): ``set_slave`` (RTC I2C set up, slave address), ``load_binary``, ``start``,
``read``/``write`` (RTC slow memory words), ``i2c`` (a machine.I2C on the same pins for the
main CPU's calibration). MicroPython has esp32.ULP (load_binary, set_wakeup_period, run)
and machine.mem32, but nothing for the RTC I2C controller: its registers are written here.

Only the RTC I2C pins reach the ULP (ESP32 TRM, "RTC I2C"; RTC_IO_SAR_I2C_IO_REG):
SCL GPIO4 (TOUCH0) or GPIO2 (TOUCH2), SDA GPIO0 (TOUCH1) or GPIO15 (TOUCH3). The
magnetometer must be wired to one such pair: the board's I2C pins when they are one, else
the board option "ulp_i2c": {"scl": 2, "sda": 15}.

NOT CHECKED ON A CHIP: the register values follow esp-idf's soc/esp32 headers (rtc_i2c_reg.h,
rtc_io_reg.h, sens_reg.h) and published ULP I2C examples; the ULP program and this port
were run only in emulation. MicroPython's esp32 builds reserve the first 2040 bytes of RTC
slow memory for the ULP (ports/esp32/boards/sdkconfig.base: CONFIG_ULP_COPROC_RESERVE_MEM
=2040); the sampler with its variables must fit there (RESERVED_WORDS, tested).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import esp32  # pyright: ignore[reportMissingImports] (esp32 port only)
import machine

_RTC_SLOW_MEM = const(0x50000000)
RESERVED_WORDS = const(510)  # 2040 bytes: MicroPython's CONFIG_ULP_COPROC_RESERVE_MEM
_RTCIO = const(0x3FF48400)  # DR_REG_RTCIO_BASE
_SENS = const(0x3FF48800)  # DR_REG_SENS_BASE
_RTC_I2C = const(0x3FF48C00)  # DR_REG_RTC_I2C_BASE
_SAR_I2C_IO = const(0xC4)  # RTC_IO_SAR_I2C_IO_REG: SDA_SEL [31:30], SCL_SEL [29:28]
_GPIO_ENABLE_W1TS = const(0x10)  # RTC_GPIO_ENABLE_W1TS_REG, RTC channel n at bit 14 + n
_MUX_SEL = const(1 << 19)  # RTC_IO_TOUCH_PADn: pad to the RTC mux
_FUN_SEL = const(3 << 17)  # 0: the RTC_GPIO function (as esp-idf's rtc_gpio_init)
_FUN_IE = const(1 << 13)  # input enable
_RUE = const(1 << 27)  # pull-up
_RDE = const(1 << 28)  # pull-down (on by default on the touch pads)
_MS_MODE = const(1 << 4)  # RTC_I2C_CTRL_REG: master
_SLAVE_ADDR1 = const(0x3C)  # SENS_SAR_SLAVE_ADDR1_REG: ADDR0 [21:11], ADDR1 [10:0]; 2..4 follow
# GPIO -> (RTC_IO_TOUCH_PADn_REG offset, RTC channel, selection for SAR_I2C_IO)
_PADS = {4: (0x94, 10, 0), 0: (0x98, 11, 0), 2: (0x9C, 12, 1), 15: (0xA0, 13, 1)}
_SCL = (4, 2)
_SDA = (0, 15)
# RTC_I2C timing in 8 MHz RTC_FAST_CLK cycles: 40 + 40 per SCL period = 100 kHz
_TIMING = ((0x000, 40), (0x038, 40), (0x030, 16), (0x040, 30), (0x044, 44), (0x00C, 10000))


def rtc_i2c_pins(option, board_i2c):
    """(scl, sda) for the ULP, or None when neither the option nor the board's I2C pins
    are RTC I2C pins."""
    for p in (option, board_i2c):
        if p and p.get("scl") in _SCL and p.get("sda") in _SDA:
            return p["scl"], p["sda"]
    return None


class Esp32Ulp:
    def __init__(self, scl, sda):
        if scl not in _SCL or sda not in _SDA:
            raise ValueError("ULP I2C needs SCL on GPIO4/2 and SDA on GPIO0/15")
        self.scl = scl
        self.sda = sda
        self._ulp = esp32.ULP()
        self.started = False

    def i2c(self):
        """The same pins for the main CPU (digital mux); set_slave() gives them back."""
        return machine.I2C(0, scl=machine.Pin(self.scl), sda=machine.Pin(self.sda), freq=100_000)

    def _set(self, address, mask, value):
        m = machine.mem32
        m[address] = ((m[address] & 0xFFFFFFFF) & ~mask) | value

    def set_slave(self, index, address):
        io = _RTCIO + _SAR_I2C_IO
        self._set(io, 0xF << 28, _PADS[self.sda][2] << 30 | _PADS[self.scl][2] << 28)
        for gpio in (self.scl, self.sda):
            offset, channel, _ = _PADS[gpio]
            self._set(_RTCIO + offset, _FUN_SEL | _RDE, _MUX_SEL | _FUN_IE | _RUE)
            machine.mem32[_RTCIO + _GPIO_ENABLE_W1TS] = 1 << (14 + channel)
        for offset, value in _TIMING:
            machine.mem32[_RTC_I2C + offset] = value
        self._set(_RTC_I2C + 0x004, _MS_MODE, _MS_MODE)
        shift = 11 if index & 1 == 0 else 0
        self._set(_SENS + _SLAVE_ADDR1 + 4 * (index >> 1), 0x7FF << shift, address << shift)

    def load_binary(self, word, binary):
        self._ulp.load_binary(word, binary)

    def start(self, entry, period_us):
        self._ulp.set_wakeup_period(0, period_us)
        esp32.wake_on_ulp(True)
        self._ulp.run(entry)
        self.started = True

    def read(self, word):
        return machine.mem32[_RTC_SLOW_MEM + 4 * word] & 0xFFFFFFFF

    def write(self, word, value):
        machine.mem32[_RTC_SLOW_MEM + 4 * word] = value & 0xFFFFFFFF
