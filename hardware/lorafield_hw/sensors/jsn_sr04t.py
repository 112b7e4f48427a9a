"""JSN-SR04T waterproof ultrasonic distance sensor, trigger/echo mode (mode 1, no resistor
on the mode pads; JSN-SR04T v3 datasheet).

A HIGH pulse of >= 10 us on TRIG starts a measurement: the module sends a 40 kHz burst and
raises ECHO for the round-trip time of the sound, distance = echo_us * c / 2 with
c = 331.3 + 0.606 * T m/s. Range 250-4500 mm (closer targets read as the 250 mm blind-zone
edge). With no echo the module holds ECHO high for ~60 ms (`NO_ECHO_US`, an assumption for
the emulation, as is the 500 us burst delay). Faults, seeded: `bad_echo_rate` of
measurements return a wrong round trip (a reflection off the culvert wall), `no_echo_rate`
return the no-echo pulse (a rippled surface scatters the sound).
"""

from lorafield_hw.sensors.base import Sensor

MIN_MM = 250
MAX_MM = 4500
BURST_DELAY_US = 500
NO_ECHO_US = 60_000
TRIGGER_MIN_US = 10
OPERATING_MA = 8.0  # working current (datasheet: < 8 mA)
IDLE_MA = 2.5  # quiescent current: the order the datasheets give, not an exact figure
MEASURE_MS = 60  # one measurement cycle


def speed_of_sound_m_s(temperature_c):
    return 331.3 + 0.606 * temperature_c


class JSNSR04T(Sensor):
    idle_ma = IDLE_MA

    def __init__(self, water=None, climate=None, bad_echo_rate=0.02, no_echo_rate=0.01, **kw):
        super().__init__(**kw)
        self.water = water
        self.climate = climate
        self.bad_echo_rate = bad_echo_rate
        self.no_echo_rate = no_echo_rate
        self.measurements = 0
        self.power_on_reset()

    def power_on_reset(self):
        self._trigger_high_us = None
        self._echo = None  # (start_us, end_us) of the current echo pulse

    def true_distance_mm(self, t_s):
        return self.water.distance_mm(t_s) if self.water else 1000.0

    def trigger_changed(self, level):
        """Wire to the TRIG pin: a falling edge after >= 10 us HIGH starts a measurement."""
        now = self.now_us
        if not self.powered:
            return
        if level:
            self._trigger_high_us = now
            return
        high, self._trigger_high_us = self._trigger_high_us, None
        if high is None or now - high < TRIGGER_MIN_US:
            return
        if self._echo is not None and now < self._echo[1]:
            return  # still measuring: the trigger is ignored
        self.measurements += 1
        self.draw(OPERATING_MA - IDLE_MA, MEASURE_MS / 1000)
        rnd = self.random
        t_s = now / 1e6
        temperature = self.climate.temperature_c(t_s) if self.climate else 20.0
        if rnd.random() < self.no_echo_rate:
            width = NO_ECHO_US
        else:
            distance = self.true_distance_mm(t_s)
            if rnd.random() < self.bad_echo_rate:
                distance = rnd.uniform(MIN_MM, max(MIN_MM, distance))
            distance = max(MIN_MM, min(MAX_MM, distance + rnd.gauss(0.0, 3.0)))
            width = round(2 * distance / 1000 / speed_of_sound_m_s(temperature) * 1e6)
        start = now + BURST_DELAY_US
        self._echo = (start, start + width)

    def echo_level(self, now_us):
        echo = self._echo
        return 1 if echo is not None and echo[0] <= now_us < echo[1] else 0

    def next_edges(self, now_us):
        """(rise_us, fall_us) of the echo pulse at or after now, or None."""
        echo = self._echo
        if echo is None or now_us >= echo[1]:
            return None
        return echo
