# `machine` of the emulated board in --real-boards mode: the subset firmware/boards/
# lorafield_boards uses, on the emulated hardware of the host. GPIO numbers are mapped back to
# what they are wired to through the board's pin map (lorafield_node.pinmaps, in /lib).
from binascii import unhexlify

import lorafield_emulated as _link

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
_state = {}


def _host():
    if "view" not in _state:
        _state["view"] = _link.board()
    return _state["view"]


def _pins():
    if "pins" not in _state:
        from lorafield_node.pinmaps import PINS

        _state["pins"] = PINS[_link.identity()[0]]
    return _state["pins"]


class _Vext:
    """The switched sensor rail's control pin: its level switches the host's rail."""

    def __init__(self, active_low):
        self.active_low = active_low
        self.level = 1 if active_low else 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        _host().sensor_power(self.level == (0 if self.active_low else 1))


def _route(number):
    pins = _pins()
    lora = pins.get("lora", {})
    host = _host()
    for role, index in (("cs", 1), ("reset", 2), ("dio0", 3)):
        if lora.get(role) == number:
            return host.radio()[index]
    if lora.get("dio1") == number:
        return host.radio_dio1()
    vext = pins.get("vext")
    if vext and vext["pin"] == number:
        if "vext" not in _state:
            _state["vext"] = _Vext(vext["active_low"])
        return _state["vext"]
    for name in ("trigger", "echo", "led"):
        if pins.get(name) == number:
            return host.pin(name)
    return None  # not wired to anything emulated: a plain GPIO


class Pin:
    IN, OUT, OPEN_DRAIN = 1, 3, 7
    PULL_UP, PULL_DOWN = 1, 2
    IRQ_RISING, IRQ_FALLING = 1, 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._target = _route(id)
        self._level = 0
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if self._target is None:
            if v is None:
                return self._level
            self._level = 1 if v else 0
            return None
        return self._target.value() if v is None else self._target.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=IRQ_RISING):
        if self._target is None:
            raise OSError(19)
        return self._target.irq(handler, trigger)


def SPI(id, baudrate=1000000, polarity=0, phase=0, **pins):
    return _host().radio()[0]  # the radio is the only SPI device of these boards


def I2C(id, scl=None, sda=None, freq=100000):
    return _host().i2c()


def UART(id, baudrate=9600, tx=None, rx=None, timeout=0, **kw):
    return _host().uart()


class ADC:
    ATTN_0DB, ATTN_2_5DB, ATTN_6DB, ATTN_11DB = 0, 1, 2, 3

    def __init__(self, pin, atten=ATTN_11DB):
        self.pin = pin

    def read_uv(self):
        adc = _pins().get("battery_adc", {})
        if adc.get("pin") != self.pin.id:
            return 0
        return int(_host().battery_mv() * 1000 / adc["divider"])


class WDT:
    def __init__(self, id=0, timeout=5000):
        self._wdt = _host().watchdog(timeout)

    def feed(self):
        self._wdt.feed()


class RTC:
    """Only memory(): kept through deep sleep, lost when the power goes."""

    def memory(self, data=None):
        if data is None:
            return unhexlify(_link.request({"op": "rtc_memory"})["hex"])
        _link.request({"op": "rtc_memory", "set": bytes(data).hex()})
        return None


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    return _host().time_pulse_us(pin._target, pulse_level, timeout_us)


def lightsleep(ms=None):
    _host().lightsleep(ms or 0)


def deepsleep(ms=None):
    _host().deepsleep(ms)


def reset_cause():
    return _host().reset_cause()


def unique_id():
    try:
        return _host().unique_id()
    except OSError:  # at the REPL, outside a boot of main.py
        return unhexlify(_link.request({"op": "unique_id"})["hex"])


def reset():
    _link.request({"op": "reset"})


def soft_reset():
    reset()


def freq():
    return 240_000_000
