# The emulated board's own board support (in its ROM, ahead of /lib on sys.path): the same
# make_board() as firmware/boards/lorafield_boards, but the board's hardware is the emulation
# on the host, reached through lorafield_emulated.
import lorafield_emulated as link
from lorafield_node import board as contract


class EmulatedClock(contract.Clock):
    def __init__(self, host):
        self._host = host

    def ticks_ms(self):
        return self._host.ticks_ms()

    def ticks_us(self):
        return self._host.ticks_us()

    def sleep_ms(self, ms):
        self._host.sleep_ms(ms)

    def sleep_us(self, us):
        self._host.sleep_us(us)


class EmulatedBoard(contract.Board):
    def __init__(self, key, options=None):
        self.name = key
        self.options = options or {}
        self._host = link.board()
        self._clock = None

    def radio(self):
        return tuple(self._host.radio())

    def radio_dio1(self):
        return self._host.radio_dio1()

    def i2c(self):
        return self._host.i2c()

    def uart(self):
        return self._host.uart()

    def onewire(self):
        return self._host.onewire()

    def pin(self, name):
        return self._host.pin(name)

    def time_pulse_us(self, pin, pulse_level, timeout_us=1000000):
        return self._host.time_pulse_us(pin, pulse_level, timeout_us)

    def sensor_power(self, on):
        self._host.sensor_power(on)

    def clock(self):
        if self._clock is None:
            self._clock = EmulatedClock(self._host.clock())
        return self._clock

    def lightsleep(self, ms):
        self._host.lightsleep(ms)

    def deepsleep(self, ms):
        self._host.deepsleep(ms)

    def watchdog(self, timeout_ms):
        return self._host.watchdog(timeout_ms)

    def reset_cause(self):
        return self._host.reset_cause()

    def flash(self):
        return self._host.flash()

    def flash_prog_size(self):
        return self._host.flash_prog_size()

    def battery_mv(self):
        return self._host.battery_mv()

    def unique_id(self):
        return self._host.unique_id()

    def random_bytes(self, n):
        return self._host.random_bytes(n)


def make_board(key, options=None):
    emulated, _port = link.identity()
    if key != emulated:
        raise ValueError("this emulated board is a " + emulated + ", the config says " + repr(key))
    return EmulatedBoard(key, options)
