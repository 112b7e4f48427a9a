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
0.01 % after that, counted from the first join attempt. After a Join-request of ``t`` ms
every join waits ``t * (1/duty - 1)`` ms.

``regional = False`` switches the sub-band limits off (only the LoRaWAN certification test
app does, on the test tool's RegionalDutyCycleCtrlReq, testapp.py); DutyCycleReq's aggregate
and the join back-off still hold, and silences are recorded all the same, so switching it
on again restores what the frames sent meanwhile would have cost. Never persisted: a new
boot starts with it on.

Deep sleep: ``save(rtc_ms)`` packs the silences still running (and the join history)
relative to the board's sleep-surviving clock (``Board.rtc_ms()``), ``restore(raw, rtc_ms)``
resumes them in a new boot minus the time that clock says has passed. That clock never runs
ahead of real time and restarts at 0 after a power loss, so a negative difference (or no
such clock: None) counts as "no time passed": the node waits longer, never sends illegally.
Record: rtc u64 at save, mask u16 (bit i: sub-band i, bit 13: DutyCycleReq's aggregate,
bit 14: the join back-off, bit 15: join history), a u32 ms left for each set bit 0..14,
then (bit 15) ms from the first join attempt to the last i32 and ms since the last u32.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_HOUR_MS = const(3600000)
_AGG_BIT = const(13)
_JOIN_BIT = const(14)
_HIST_BIT = const(15)
_MAX_GAP_MS = const(1 << 28)  # 3.1 days: ticks_add offsets stay far inside half a period


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
        self.regional = True  # False: sub-band limits off (certification test mode only)
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
        left = self._left(self._ready[band], self._span[band], now) if self.regional else 0
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

    # -- persistence across deep sleep ------------------------------------------------------
    def save(self, rtc_ms):
        """The running silences and join history as bytes, relative to ``rtc_ms`` (None: the
        board has no sleep-surviving clock; the record then counts no sleep at all)."""
        now = self._clock.ticks_ms()
        lefts = []
        mask = 0
        n = len(self._ready)
        for i in range(n + 2):
            if i < n:
                left = self._left(self._ready[i], self._span[i], now)
            elif i == n:
                left = self._left(self._agg_ready, self._agg_span, now)
            else:
                left = self._left(self._join_ready, self._join_span, now)
            if left > 0:
                mask |= 1 << (i if i < n else (_AGG_BIT if i == n else _JOIN_BIT))
                lefts.append(left)
        hist = self._join_elapsed >= 0
        if hist:
            mask |= 1 << _HIST_BIT
        raw = bytearray(10 + 4 * len(lefts) + (8 if hist else 0))
        struct.pack_into("<QH", raw, 0, rtc_ms if rtc_ms is not None and rtc_ms > 0 else 0, mask)
        p = 10
        for left in lefts:
            struct.pack_into("<I", raw, p, left)
            p += 4
        if hist:
            since = self._clock.ticks_diff(now, self._join_start)
            struct.pack_into("<iI", raw, p, self._join_elapsed, since)
        return raw

    def restore(self, raw, rtc_ms):
        """Resume what ``save()`` packed in an earlier boot, ``rtc_ms`` now. A damaged or
        foreign record is ignored (False)."""
        n = len(self._ready)
        if raw is None or len(raw) < 10:
            return False
        saved, mask = struct.unpack_from("<QH", raw, 0)
        count = 0
        for i in range(_HIST_BIT):
            if mask >> i & 1:
                if n <= i < _AGG_BIT:
                    return False  # a sub-band this region does not have
                count += 1
        hist = mask >> _HIST_BIT & 1
        if len(raw) != 10 + 4 * count + (8 if hist else 0):
            return False
        slept = 0
        if rtc_ms is not None and rtc_ms > saved:
            slept = rtc_ms - saved  # <= the real time passed (Board.rtc_ms contract)
        now = self._clock.ticks_ms()
        p = 10
        for i in range(_HIST_BIT):
            if not mask >> i & 1:
                continue
            left = struct.unpack_from("<I", raw, p)[0] - slept
            p += 4
            if left <= 0:
                continue
            if left > _MAX_GAP_MS:
                left = _MAX_GAP_MS
            ready = self._clock.ticks_add(now, left)
            if i < n:
                self._ready[i], self._span[i] = ready, left
            elif i == _AGG_BIT:
                self._agg_ready, self._agg_span = ready, left
            else:
                self._join_ready, self._join_span = ready, left
        if hist:
            elapsed, since = struct.unpack_from("<iI", raw, p)
            since += slept
            self._join_elapsed = elapsed
            self._join_start = self._clock.ticks_add(
                now, -(since if since < _MAX_GAP_MS else _MAX_GAP_MS)
            )
        return True
