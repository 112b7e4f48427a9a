"""The radio loop: owns the chip, polls for received frames, transmits downlinks on time.

A single-channel radio is half duplex, so one loop decides what the chip does next:

* `submit()` (any thread) validates a downlink at once, as the Semtech forwarder's JIT queue
  does, and returns the status the server gets in its TX acknowledgement: ``TX_FREQ`` (outside
  the allowed band), ``TX_POWER`` (below the PA_BOOST minimum of 2 dBm; above the configured maximum
  the power is clamped, like a concentrator's TX gain table), ``TOO_LATE`` (its instant is
  less than the preparation time away, or past), ``TOO_EARLY`` (further ahead than
  ``tx_max_advance_ms``), ``COLLISION_PACKET`` (overlaps a downlink already scheduled) or
  ``OK`` (scheduled).
* `run()` (the loop's own thread, or an emulation process) leaves RX ``tx_prepare_us``
  before a downlink's instant, loads it, waits for the instant on the injected clock and
  starts TX; a downlink whose instant passed meanwhile is dropped as ``TOO_LATE``, never sent
  late. Otherwise it polls RxDone every ``poll_interval_us`` and hands each frame to
  `on_frame` (which stores it durably before returning).
"""

import heapq
import itertools
import logging
import threading

from .radio import MIN_POWER_DBM, time_on_air_us

log = logging.getLogger("lorafield.gateway.radio")

MASK32 = 0xFFFFFFFF
TX_GUARD_US = 1_000  # gap kept between two scheduled downlinks
LATE_TOLERANCE_US = 200  # a start this much after the instant still counts as on time


def tmst_to_monotonic(tmst, now_us):
    """The monotonic instant of a 32-bit `tmst` nearest to `now_us` (handles the wrap)."""
    delta = ((tmst - (now_us & MASK32) + 0x80000000) & MASK32) - 0x80000000
    return now_us + delta


class RadioLoop:
    def __init__(self, radio, clock, config, on_frame, stats, on_tx=None):
        self.radio = radio
        self.clock = clock
        self.config = config  # a config.RadioSection
        self.on_frame = on_frame
        self.on_tx = on_tx  # on_tx(request) after a downlink went out or failed at its instant
        self.stats = stats
        self._lock = threading.Lock()
        self._heap = []
        self._sending = None  # the downlink taken from the queue, until it went out
        self._sequence = itertools.count()
        self._stop = False
        self.heartbeat_us = clock.now_us()
        self.errors = 0

    # -- scheduling (any thread) -------------------------------------------------------------
    def submit(self, request):
        cfg = self.config
        now = self.clock.now_us()
        if not cfg.tx_freq_min_hz <= request.frequency_hz <= cfg.tx_freq_max_hz:
            return self._refuse(request, "TX_FREQ")
        if request.power_dbm < MIN_POWER_DBM:
            return self._refuse(request, "TX_POWER")
        request.power_dbm = min(request.power_dbm, cfg.tx_power_max_dbm)
        if request.immediate:
            target = now + cfg.tx_prepare_us
        else:
            target = tmst_to_monotonic(request.tmst, now)
        lead = target - now
        if lead < cfg.tx_prepare_us:
            return self._refuse(request, "TOO_LATE")
        if lead > cfg.tx_max_advance_ms * 1000:
            return self._refuse(request, "TOO_EARLY")
        request.target_us = target
        request.airtime_us = time_on_air_us(
            len(request.phy),
            request.sf,
            request.bw_hz,
            request.coding_rate,
            request.preamble,
            request.crc,
        )
        with self._lock:
            # The queue and the one being prepared or sent: a downlink overlapping that one
            # would only find its instant passed when the radio is free again.
            others = [entry[2] for entry in self._heap]
            if self._sending is not None:
                others.append(self._sending)
            for other in others:
                if (
                    target < other.target_us + other.airtime_us + TX_GUARD_US
                    and other.target_us < target + request.airtime_us + TX_GUARD_US
                ):
                    return self._refuse(request, "COLLISION_PACKET")
            heapq.heappush(self._heap, (target, next(self._sequence), request))
        request.result = "OK"
        self.stats.add("downlink.scheduled")
        return "OK"

    def _refuse(self, request, status):
        request.result = status
        self.stats.add(f"downlink.{status}")
        return status

    def pending(self):
        with self._lock:
            return len(self._heap)

    def stop(self):
        self._stop = True

    # -- the loop ----------------------------------------------------------------------------
    def run(self):
        cfg = self.config
        clock = self.clock
        while not self._stop:
            now = clock.now_us()
            self.heartbeat_us = now
            send = None
            with self._lock:
                due = self._heap[0][2] if self._heap else None
                if due is not None and due.target_us - now <= cfg.tx_prepare_us:
                    send = self._sending = heapq.heappop(self._heap)[2]
            if send is not None:
                try:
                    self._transmit(send)
                finally:
                    with self._lock:
                        self._sending = None
                continue
            try:
                frame = self.radio.poll_rx()
            except Exception:  # a flaky SPI read must not end the service
                self.errors += 1
                log.exception("radio read failed")
                frame = None
            if frame is not None:
                self.on_frame(frame)
                continue
            wait = cfg.poll_interval_us
            if due is not None:
                wait = min(wait, max(0, due.target_us - cfg.tx_prepare_us - now))
            clock.sleep_us(max(wait, 1))

    def _transmit(self, request):
        clock = self.clock
        radio = self.radio
        if clock.now_us() > request.target_us:
            self._late(request)
            return
        try:
            radio.prepare_tx(request)
            clock.sleep_until(request.target_us)
            if clock.now_us() > request.target_us + LATE_TOLERANCE_US:
                radio.finish_tx()
                self._late(request)
                return
            request.started_us = clock.now_us()
            radio.start_tx()
            # Sleep through most of the frame, then poll TxDone.
            clock.sleep_us(max(0, request.airtime_us - self.config.poll_interval_us))
            limit = request.started_us + request.airtime_us + 100_000
            while not radio.tx_done():
                if clock.now_us() > limit:
                    raise TimeoutError("TxDone never came")
                clock.sleep_us(min(self.config.poll_interval_us, 200))
            self.stats.add("downlink.emitted")
            request.result = "OK"
        except Exception:
            self.errors += 1
            self.stats.add("downlink.failed")
            request.result = "INTERNAL_ERROR"
            log.exception("transmission failed")
        finally:
            try:
                radio.finish_tx()
            except Exception:
                log.exception("radio did not return to RX")
        if self.on_tx is not None:
            self.on_tx(request)

    def _late(self, request):
        request.result = "TOO_LATE"
        self.stats.add("downlink.late_at_instant")
        if self.on_tx is not None:
            self.on_tx(request)
