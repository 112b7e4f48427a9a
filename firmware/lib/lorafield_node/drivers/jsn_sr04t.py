"""JSN-SR04T waterproof ultrasonic sensor, trigger/echo mode (JSN-SR04T v3 datasheet, mode 1).

A >= 10 us HIGH pulse on TRIG starts a measurement; ECHO then stays HIGH for the sound's
round trip. The driver returns the round trip in us, so the application converts it with
the speed of sound at the air temperature (c = 331.3 + 0.606 T m/s).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import SensorError

_TRIGGER_US = const(20)
_ECHO_TIMEOUT_US = const(40_000)  # 4.5 m and back at -40 degC is ~29 ms
_NO_ECHO_US = const(35_000)  # longer pulses mean "no echo" (the module's ~60 ms timeout)
_GAP_MS = const(70)  # one measurement cycle before the next trigger


class JSNSR04T:
    def __init__(self, board, trigger, echo):
        self.board = board
        self.trigger = trigger
        self.echo = echo
        self.clock = board.clock()
        trigger.value(0)

    def echo_us(self):
        """One measurement: the echo pulse width in us, or -1 for no echo."""
        self.trigger.value(1)
        self.clock.sleep_us(_TRIGGER_US)
        self.trigger.value(0)
        width = self.board.time_pulse_us(self.echo, 1, _ECHO_TIMEOUT_US)
        if width < 0 or width > _NO_ECHO_US:
            return -1
        return width

    def read_echo_us(self, count=5):
        """`count` measurements (no-echo ones left out); SensorError if none echoed."""
        out = []
        for i in range(count):
            if i:
                self.clock.sleep_ms(_GAP_MS)
            w = self.echo_us()
            if w >= 0:
                out.append(w)
        if not out:
            raise SensorError("JSN-SR04T: no echo")
        return out


def echo_to_mm(echo_us, temperature_cc):
    """Round trip (us) to distance (mm) at `temperature_cc` centi-degC, integer maths:
    c = 331.3 + 0.606 T m/s, i.e. 331300 + 6.06 * T_cc mm/s; distance = echo * c / 2."""
    c_mm_s = 331300 + temperature_cc * 606 // 100
    return echo_us * c_mm_s // 2_000_000
