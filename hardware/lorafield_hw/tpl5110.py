"""TI TPL5110 nano-power timer gating a board's supply (timer mode, EN/ONE_SHOT high).

From its own power-up the timer asserts DRV (the load's P-MOSFET on) at the start of every
period (the DELAY resistor's tIP, TI TPL5110 datasheet 7.4.2). A rising edge on DONE
de-asserts DRV: the load is off until the next period starts. A period that ends without
DONE power-cycles the load: the timer is a watchdog too ("if the TPL does not receive a
signal by the set time-out, it will reset the device", Adafruit's TPL5110 guide). The cut
is modelled as instantaneous. The timer itself draws 35 nA (datasheet IDD, typical).

The board (lorafield_hw.board.EmulatedBoard) owns the load: `off()` and `on()` are its
callbacks; this class only keeps the timer's phase.
"""

IDD_MA = 35e-6


class Tpl5110:
    def __init__(self, scheduler, period_s, off, on):
        if not period_s > 0:
            raise ValueError("TPL5110 period must be > 0 s")
        self.scheduler = scheduler
        self.period_us = round(period_s * 1_000_000)
        self._off = off  # the load loses power (DONE, or the watchdog's cut)
        self._on = on  # the load gets power again
        self._event = None
        self._next_us = None  # when the running period ends
        self.load_on = False
        self.cycles = 0  # watchdog power cycles (periods that ended without DONE)

    def start(self):
        """The battery is connected: the timer starts and the load is on."""
        self.load_on = True
        self._arm()

    def stop(self):
        """The battery is gone: no timer, no load."""
        self.load_on = False
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def done(self):
        """A rising edge on DONE: the load is off until the next period."""
        if self.load_on:
            self.load_on = False
            self._off()

    def until_next_period_us(self):
        return self._next_us - self.scheduler.now_us

    def _arm(self):
        self._next_us = self.scheduler.now_us + self.period_us
        self._event = self.scheduler.after(self.period_us, self._period_ends)

    def _period_ends(self):
        self._arm()
        if self.load_on:  # no DONE in this period: the watchdog cuts the power
            self.cycles += 1
            self._off()
        self.load_on = True
        self._on()
