"""Regional duty-cycle bookkeeping per sub-band (ETSI EN 300 220 as applied by RP002-1.0.4
2.4), plus the aggregated limit of DutyCycleReq (LoRaWAN 1.0.4 section 5.4).

After a transmission of ``t`` ms on a sub-band with duty cycle 1/d, that sub-band stays silent
for ``t * (d - 1)`` ms (so over any long period on-air time <= 1/d of it); DutyCycleReq with
MaxDutyCycle m additionally silences *every* band for ``t * (2**m - 1)`` ms. Times are
MicroPython ticks in ms taken from the board's clock, compared only with ticks_diff. A ready
time far in the past is recognised by remembering how long each silence was: once the wait
would exceed it, the tick counter has wrapped and the band is free.

Join-requests also follow the retransmission back-off of LoRaWAN 1.0.4 section 7: aggregated
over all channels at most 1 % of the time in the first hour, 0.1 % in the next ten and
0.01 % after that, counted from this object's first join attempt (a new boot restarts it:
the board keeps no time across resets). After a Join-request of ``t`` ms every join waits
``t * (1/duty - 1)`` ms.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_HOUR_MS = const(3600000)


class DutyCycle:
    def __init__(self, clock, region):
        self._clock = clock
        self._region = region
        n = len(region.subbands)
        self._ready = [0] * n  # ticks_ms when the band may send again
        self._span = [0] * n  # length of that silence in ms (0: free)
        self._agg_ready = 0
        self._agg_span = 0
        self.max_dcycle = 0  # DutyCycleReq MaxDutyCycle: aggregated duty 1 / 2**max_dcycle
        self._join_ready = 0
        self._join_span = 0
        self._join_start = 0
        self._join_elapsed = -1  # ms from the first join attempt to the last (-1: none yet)

    def _left(self, ready, span, now):
        if span <= 0:
            return 0
        left = self._clock.ticks_diff(ready, now)
        if left <= 0 or left > span:
            return 0
        return left

    def wait_ms(self, frequency, join=False):
        """Milliseconds until a frame (a Join-request if ``join``) may start on ``frequency``
        (0: now); -1 if it is not in any sub-band where this region allows transmitting."""
        band = self._region.subband(frequency)
        if band < 0:
            return -1
        now = self._clock.ticks_ms()
        left = self._left(self._ready[band], self._span[band], now)
        agg = self._left(self._agg_ready, self._agg_span, now)
        if agg > left:
            left = agg
        if join:
            j = self._left(self._join_ready, self._join_span, now)
            if j > left:
                left = j
        return left

    def join_factor(self, elapsed_ms):
        """1/duty of the join back-off ``elapsed_ms`` after the first attempt (section 7)."""
        if elapsed_ms < _HOUR_MS:
            return 100
        if elapsed_ms < 11 * _HOUR_MS:
            return 1000
        return 10000

    def record(self, frequency, airtime_ms, join=False):
        """A frame (a Join-request if ``join``) of ``airtime_ms`` just ended on ``frequency``."""
        band = self._region.subband(frequency)
        if band < 0:
            return
        now = self._clock.ticks_ms()
        if join:
            if self._join_elapsed < 0:
                self._join_start = now
                self._join_elapsed = 0
            else:
                # Accumulate in steps (< half the tick period apart) so days stay countable.
                self._join_elapsed += self._clock.ticks_diff(now, self._join_start)
                self._join_start = now
            span = airtime_ms * (self.join_factor(self._join_elapsed) - 1)
            self._join_ready = self._clock.ticks_add(now, span)
            self._join_span = span
        factor = self._region.subbands[band][2] - 1
        span = airtime_ms * factor
        self._ready[band] = self._clock.ticks_add(now, span)
        self._span[band] = span
        if self.max_dcycle:
            agg = airtime_ms * ((1 << self.max_dcycle) - 1)
            self._agg_ready = self._clock.ticks_add(now, agg)
            self._agg_span = agg
