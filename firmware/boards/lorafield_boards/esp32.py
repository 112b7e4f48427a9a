"""ESP32 boards (Heltec WiFi LoRa 32 V2, TTGO LoRa32 V2.1, LilyGO T-Beam V1.1).

Deep sleep is machine.deepsleep(ms): the chip powers down except the RTC domain (10 uA,
ESP32 datasheet "Power consumption by power modes") and boots again with
DEEPSLEEP_RESET; state is kept in the store. The store lives in a data partition labelled
"lfstore" when the partition table has one (esp32.Partition, byte-programmable), else in a
file of the filesystem. The T-Beam's battery is read from its AXP192 PMU, which also
switches the GPS off (it would draw ~30 mA).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import struct
import time

import machine

from .common import MachineBoard, Watchdog

_AXP192 = const(0x34)
_AXP_POWER_OUT = const(0x12)  # AXP192 datasheet REG 12H: bit 3 LDO3 (T-Beam: GPS)
_AXP_ADC_EN1 = const(0x82)  # REG 82H: bit 7 battery voltage ADC enable
_AXP_VBAT = const(0x78)  # REG 78H/79H: battery voltage, 12 bits, 1.1 mV per LSB
_RTC_MAGIC = const(0x4C465254)  # "LFRT": RTC memory holds rtc_ms() at the last deep sleep


class Esp32Board(MachineBoard):
    def __init__(self, key, options=None):
        super().__init__(key, options)
        cause = machine.reset_cause()  # esp32's numbers are the contract's
        # the TPL5110's timed power-on is this app's deep-sleep wake (common._gate_wake)
        self._cause = self._gate_wake(cause)
        if cause == 4:
            self._rtc_resume()
        if self.pins.get("battery_adc", {}).get("pmu") == "axp192":
            self._axp_setup()

    def reset_cause(self):
        return self._cause

    def watchdog(self, timeout_ms):
        return Watchdog(timeout_ms)

    def deepsleep(self, ms):
        self._gate_off(ms)
        self._hold_rail()
        self._rtc_suspend()
        machine.deepsleep(int(ms))

    # -- rtc_ms() across deep sleep: RTC slow memory and the RTC-timer-based time.time_ns(),
    # both kept in deep sleep (ESP32 TRM "Low-Power Management"; MicroPython machine.RTC).
    def _rtc_suspend(self):
        now = time.time_ns() // 1_000_000
        rtc = machine.RTC()
        rtc.memory(struct.pack("<IQQ", _RTC_MAGIC, self.rtc_ms(), now))  # pyright: ignore[reportAttributeAccessIssue] (esp32 only)

    def _rtc_resume(self):
        raw = machine.RTC().memory()  # pyright: ignore[reportAttributeAccessIssue] (esp32 only)
        if len(raw) != 20:
            return
        magic, rtc, then = struct.unpack("<IQQ", raw)
        if magic == _RTC_MAGIC:
            slept = time.time_ns() // 1_000_000 - then
            self._rtc_init(rtc + (slept if slept > 0 else 0), False)

    def flash(self):
        try:
            import esp32  # pyright: ignore[reportMissingImports] (esp32 port only)

            found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label="lfstore")
            if found:
                return found[0]
        except (ImportError, AttributeError):
            pass
        return super().flash()

    def battery_mv(self):
        adc = self.pins.get("battery_adc", {})
        if adc.get("pmu") == "axp192":
            buf = self.i2c().readfrom_mem(_AXP192, _AXP_VBAT, 2)
            return ((buf[0] << 4) | (buf[1] & 0x0F)) * 11 // 10
        if "pin" not in adc:
            return 0
        a = machine.ADC(machine.Pin(adc["pin"]), atten=machine.ADC.ATTN_11DB)
        uv = a.read_uv()  # pyright: ignore[reportAttributeAccessIssue] (esp32 port only)
        return int(uv * adc["divider"]) // 1000

    # -- ULP sampling in deep sleep (lorafield_boards.esp32_ulp; the parking app's
    # "sampling": "ulp"): the port, the wake reason, the sensor rail held while asleep.
    def ulp(self):
        from .esp32_ulp import Esp32Ulp, rtc_i2c_pins

        pins = rtc_i2c_pins(self.options.get("ulp_i2c"), self.pins.get("i2c"))
        if pins is None:
            return None  # the magnetometer is not on RTC I2C pins: light-sleep sampling
        self._ulp_port = Esp32Ulp(pins[0], pins[1])
        return self._ulp_port

    def wake_reason(self):
        m = machine
        r = m.wake_reason()  # pyright: ignore[reportAttributeAccessIssue] (esp32 only)
        ulp = m.ULP_WAKE  # pyright: ignore[reportAttributeAccessIssue] (esp32 only)
        timer = m.TIMER_WAKE  # pyright: ignore[reportAttributeAccessIssue] (esp32 only)
        return "ulp" if r == ulp else "timer" if r == timer else None

    def _hold_rail(self):
        port = getattr(self, "_ulp_port", None)
        vext = self.pins.get("vext")
        if port is None or not port.started or not vext:
            return
        import esp32  # pyright: ignore[reportMissingImports] (esp32 port only)

        level = 0 if vext["active_low"] else 1  # on, kept through deep sleep
        # hold: the esp32 port's Pin keyword (MicroPython docs, esp32 quickref), not in stubs
        machine.Pin(vext["pin"], machine.Pin.OUT, value=level, hold=True)  # pyright: ignore[reportCallIssue]
        esp32.gpio_deep_sleep_hold(True)

    def _axp_setup(self):
        i2c = self.i2c()
        try:
            out = i2c.readfrom_mem(_AXP192, _AXP_POWER_OUT, 1)[0]
            i2c.writeto_mem(_AXP192, _AXP_POWER_OUT, bytes([out & ~0x08]))  # GPS off
            en = i2c.readfrom_mem(_AXP192, _AXP_ADC_EN1, 1)[0]
            i2c.writeto_mem(_AXP192, _AXP_ADC_EN1, bytes([en | 0x80]))
        except OSError:
            pass  # no PMU answering (an older T-Beam): battery_mv will raise instead
