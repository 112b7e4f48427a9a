"""What every emulated sensor shares: virtual clock, power rail, seeded noise, charge."""

import random


class Sensor:
    #: supply current while powered and idle (mA); the board's energy meter integrates it
    #: over the time the rail is on. Measurements add their charge through `draw()`.
    idle_ma = 0.0

    def __init__(self, clock=None, seed=0, charge_hook=None):
        self._clock = clock or (lambda: 0)
        self.random = random.Random(seed)
        self.charge_hook = charge_hook
        self.powered = True
        self.powered_since_us = 0

    @property
    def now_us(self):
        return self._clock()

    @property
    def now_s(self):
        return self._clock() / 1_000_000

    def present(self):
        return self.powered

    def rail_changed(self, on):
        """The board switched the sensor supply; a sensor powering up starts from its
        power-on state."""
        on = bool(on)
        if on and not self.powered:
            self.powered_since_us = self.now_us
            self.power_on_reset()
        self.powered = on

    def power_on_reset(self):
        """Registers back to their power-on values (override)."""

    def draw(self, ma, seconds):
        if self.charge_hook is not None and seconds > 0:
            self.charge_hook(ma * seconds)
