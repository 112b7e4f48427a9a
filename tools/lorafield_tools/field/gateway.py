"""The gateway service of the emulated field: `lorafield_gateway.service.GatewayService` with
its radio loop, frame queue and forwarders, on the emulation's virtual clock.

What differs from a Pi, and why:

* The radio is `ConcentratorRadio`, the service's radio interface (`poll_rx`, `prepare_tx`,
  `start_tx`, `tx_done`, `finish_tx`) on an emulated 8-demodulator concentrator
  (`lorafield_hw.air.Gateway` on the field's region's channels, `lorafield_hw.plans`: the
  three EU868 default channels at every SF; in US915/AU915 a sub-band's eight 125 kHz
  channels and its 500 kHz channel): a field of nodes hopping over channels and data rates
  needs one, the single-channel RFM95 would hear a third of them (in US915 one in 8 or 64).
  The radio section's TX frequency range is the region's. As on an SX1302, the receive
  timestamp is latched by the hardware at the end of the frame, and an interrupt wakes the
  radio loop (no polling).
* The radio loop runs as a scheduler process (`GatewayService.start` with a `world`), so
  its clock is virtual; `FieldClock.sleep_us` returns early when the radio or a new
  downlink wakes it (the loop then re-plans), `sleep_until` (the TX instant) is exact.
* The local forwarder is not a thread, and the queue is in memory (`MemoryFrameQueue`: a
  Pi's file queue is what makes a frame survive a crash; nothing of the emulation does).
  `FieldNetwork` hands the queued copies of every gateway in, in arrival order, when a
  de-duplication window closes (a scheduler event), together with the server's flush at
  that instant, as one batch: one transaction per frame instead of one per copy plus one
  for the flush. The server sees the same calls with the same times as if each copy had
  gone in at its arrival (see `FieldNetwork.hand_in`). Remote forwarders
  (`--also-forward`: Semtech UDP, ChirpStack MQTT) are the service's own threads and
  sockets, unchanged; the downlinks they receive go to the radio loop through the
  scheduler's thread (`FieldGatewayService._schedule_remote`). A remote server's timing
  cannot follow a clock that runs thousands of times faster than its own: an immediate
  downlink goes out, a timed one almost always gets TOO_LATE or TOO_EARLY.
* One network server for all gateways: each downlink goes out through the gateway the
  server chose (`DownlinkFrame.gateway_id`).
"""

import collections
import threading
from dataclasses import replace

from lorafield_gateway.config import (
    ChirpstackSection,
    Config,
    GatewaySection,
    QueueSection,
    RadioSection,
    SemtechSection,
)
from lorafield_gateway.forwarders.local import LocalForwarder
from lorafield_gateway.radio import RxFrame
from lorafield_gateway.service import GatewayService
from lorafield_hw.air import RECEIVED, Gateway
from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US
from lorafield_hw.plans import gateway_channels, plan_of

# The loop sleeps until a frame, a downlink or this long: with an interrupt-driven radio
# the poll interval is only a fallback (the config check's 100 ms bound is for SPI polling).
IDLE_WAKE_US = 3_600_000_000
# Remote forwarders' downlinks are taken into the scheduler's thread this often (emulated
# time: under a millisecond of wall time at a demo's speed); a forwarder waits this long
# (wall time) for the status before it refuses the downlink as TOO_LATE.
REMOTE_POLL_US = 10_000_000
REMOTE_WAIT_S = 2.0


class FieldClock:
    """The service's clock interface on the scheduler (see the module docstring)."""

    def __init__(self, scheduler, epoch_us=EMULATION_EPOCH_US):
        self.scheduler = scheduler
        self.epoch_us = epoch_us
        self.radios = {}  # radio loop process -> its ConcentratorRadio

    def now_us(self):
        return self.scheduler.now_us

    def wall_us(self):
        return self.epoch_us + self.scheduler.now_us

    def sleep_us(self, us):
        process = self.scheduler.current_process
        if process is None:
            self.scheduler.advance(us)
            return
        radio = self.radios.get(process)
        if radio is not None and radio.tx_end_us is not None:
            # Transmitting: the loop polls TxDone every 200 us (its poll interval is an
            # hour here), but the TxDone interrupt notifies it at the frame's end anyway, so
            # each poll only finds "not done". Sleeping to the end gives the same wake-up
            # without a process switch per poll (thousands per downlink).
            us = max(us, radio.tx_end_us - self.scheduler.now_us)
        process.wait(max(1, int(us)))  # a frame or a new downlink ends it early

    def sleep_until(self, target_us):
        """Exact, as on a Pi: a `notify()` (a frame, a new downlink) ends a process's sleep
        early, so the loop sleeps again until the instant. (It did not, and a downlink
        queued while the loop waited for another one's instant sent that one early.)"""
        scheduler = self.scheduler
        while scheduler.now_us < target_us:
            scheduler.advance(target_us - scheduler.now_us)


class ConcentratorRadio(Gateway):
    """An emulated concentrator behind the service's radio interface."""

    def __init__(self, air, gateway_id, position, clock, region="EU868", sub_bands=None):
        super().__init__(air, gateway_id, position, **gateway_channels(region, sub_bands))
        self._centres = self.all_channels_hz()
        self.clock = clock
        self.frames = collections.deque()
        self.process = None  # the radio loop's scheduler process, woken on RX
        self.on_transmitted = None  # callback(request, air frame) when a downlink ended
        self._request = None
        self._tx_frame = None
        self._tx_done = False
        self.tx_end_us = None  # end of the frame being transmitted
        self.start()  # listening from power-on, as the concentrator's HAL starts it

    # -- receiving (scheduler callbacks) -----------------------------------------------------
    def air_rx_end(self, reception):
        if reception.collided:
            return
        frame = reception.frame
        now = self.clock.now_us()
        # The concentrator reports the centre of the channel it demodulated on (integer Hz),
        # not the sender's synthesizer step (an SX1276 lands within 61 Hz of it).
        channel = min(self._centres, key=lambda c: abs(c - frame.frequency_hz))
        self.frames.append(
            RxFrame(
                frame.payload,
                now,
                self.clock.wall_us(),
                channel,
                frame.sf,
                frame.bw_hz,
                frame.coding_rate,
                round(reception.rssi_dbm),
                round(reception.snr_db, 1),
                "ok",
            )
        )
        if self.process is not None:
            self.process.notify()

    # -- the radio interface (radio loop process) --------------------------------------------
    def configure_rx(self):
        if not self.air.is_listening(self):
            self.air.listen(self)

    def poll_rx(self):
        return self.frames.popleft() if self.frames else None

    def prepare_tx(self, request):
        self._request = request
        self._tx_done = False

    def start_tx(self):
        request = self._request
        if self.air.is_listening(self):
            self.air.stop_listening(self)  # half duplex
        self._tx_frame = self.air.transmit(
            self, request.phy, on_end=self._tx_end, **self.downlink_settings(request)
        )
        self.tx_end_us = self._tx_frame.end_us

    def downlink_settings(self, request):
        """The air settings of a downlink (also what a parallel field's workers put on
        their air for it, field/parallel.py)."""
        return dict(
            frequency_hz=request.frequency_hz,
            sf=request.sf,
            bw_hz=request.bw_hz,
            power_dbm=float(request.power_dbm),
            coding_rate=request.coding_rate,
            sync_word=self.sync_word,
            iq_inverted=request.ipol,
            crc=request.crc,
            preamble=request.preamble,
        )

    def _tx_end(self, frame):
        self._tx_done = True
        self.tx_end_us = None
        if self.on_transmitted is not None:
            self.on_transmitted(self._request, frame)
        if self.process is not None:
            self.process.notify()

    def tx_done(self):
        return self._tx_done

    def finish_tx(self):
        self._request = None
        self.tx_end_us = None
        self.configure_rx()


class FieldLocalForwarder(LocalForwarder):
    """The local forwarder driven synchronously (no thread); downlinks routed by gateway."""

    def __init__(self, service, network):
        super().__init__(service, network.server)
        self.network = network

    def start(self):
        pass  # no thread: the network hands the queued frames in on virtual time

    def wake(self):
        self.network.copy_queued(self)

    def _send(self, downlink):
        target = self.network.forwarders.get(downlink.gateway_id, self)
        self.network.downlinks[downlink.downlink_id] = downlink.dev_eui
        LocalForwarder._send(target, downlink)


class _World:
    """What GatewayService needs of an emulated world when the field drives the clock."""

    error = None

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def start(self):
        pass

    def stop(self):
        pass


class _RemoteDownlink:
    """A downlink a remote forwarder's thread hands to the scheduler's thread, and its status."""

    def __init__(self, request):
        self.request = request
        self.status = None
        self.abandoned = False
        self.done = threading.Event()


class FieldGatewayService(GatewayService):
    def __init__(self, config, scheduler, radio, clock, network):
        super().__init__(config, clock=clock, radio=radio, world=_World(scheduler))
        self.field_network = network
        self.scheduler = scheduler
        self._field_thread = None  # the thread that runs the scheduler
        self._remote = collections.deque()  # _RemoteDownlink from remote forwarders' threads
        self._remote_lock = threading.Lock()

    def _build_forwarders(self):
        super()._build_forwarders()  # the remote ones (--also-forward)
        self.forwarders.append(FieldLocalForwarder(self, self.field_network))

    def schedule(self, request):
        if threading.current_thread() is not self._field_thread:
            return self._schedule_remote(request)
        status = super().schedule(request)
        self.radio.process.notify()  # the loop re-plans its sleep around the new downlink
        return status

    def _schedule_remote(self, request):
        """A remote server's downlink (PULL_RESP, gw.DownlinkFrame), from its forwarder's
        thread: the scheduler is not thread-safe, so the scheduler's thread takes it (at
        the next `REMOTE_POLL_US` of emulated time) and the forwarder waits for the status.
        When the field is not running (finished, or between runs) it is refused."""
        remote = _RemoteDownlink(request)
        self._remote.append(remote)
        if remote.done.wait(REMOTE_WAIT_S):
            return remote.status
        with self._remote_lock:
            if remote.status is None:
                remote.abandoned = True
                remote.status = request.result = "TOO_LATE"
        return remote.status

    def _take_remote(self):
        while self._remote:
            remote = self._remote.popleft()
            with self._remote_lock:
                if remote.abandoned:
                    continue
                remote.status = GatewayService.schedule(self, remote.request)
            remote.done.set()
            self.radio.process.notify()
        self.scheduler.after(REMOTE_POLL_US, self._take_remote)

    def start(self):
        self._field_thread = threading.current_thread()
        super().start()
        self.radio.process = self._radio_process
        self.radio.clock.radios[self._radio_process] = self.radio
        if len(self.forwarders) > 1:  # remote forwarders besides the local one
            self.scheduler.after(REMOTE_POLL_US, self._take_remote)


class FieldNetwork:
    """One network server behind every gateway: routing, and handing the copies in when the
    server needs them (see the module docstring)."""

    def __init__(self, scheduler, server, clock):
        self.scheduler = scheduler
        self.server = server
        self.clock = clock
        self.forwarders = {}  # gateway id -> FieldLocalForwarder
        self.downlinks = {}  # downlink id -> dev_eui (for delivery accounting)
        self._queued = collections.deque()  # a forwarder per copy not handed in, in order
        self._flush_event = None
        self._held = None  # the server's batch held open by `hold()`

    def hold(self):
        """Keep one server transaction open until `release()`: the field commits once per
        run step (5 emulated minutes) instead of once per frame. An emulation setting: on a
        Pi each frame is committed before the gateway queue lets go of it; here nothing can
        crash between the two, and another connection that writes (a downlink request)
        releases first (run.Field._request_downlink)."""
        if self._held is None:
            held = self.server.batch()
            held.__enter__()
            self._held = held

    def release(self):
        held, self._held = self._held, None
        if held is not None:
            held.__exit__(None, None, None)

    def copy_queued(self, forwarder):
        """A gateway queued a copy: it goes in by the end of its de-duplication window."""
        self._queued.append(forwarder)
        first = forwarder.queue.peek(forwarder.name, 1)[0]  # its oldest copy not handed in
        self._arm(first.record["wall_us"] + self.server.dedup.window_us)

    def arm_flush(self):
        deadline = self.server.next_deadline()
        if deadline is not None:
            self._arm(deadline)

    def _arm(self, deadline_wall_us):
        at = deadline_wall_us - self.clock.epoch_us
        event = self._flush_event
        if event is not None and not event.cancelled:
            if event.time_us <= at:
                return
            event.cancel()
        self._flush_event = self.scheduler.at(at, self._flush)

    def _flush(self):
        self._flush_event = None
        self.hand_in(self.clock.wall_us())
        self.arm_flush()

    def hand_in(self, flush_wall_us=None):
        """The queued copies, in arrival order, then the server's flush at `flush_wall_us`
        (None: none), as one batch (one transaction); the queues let go of the copies after.

        The server sees the same calls with the same times as when each copy went in at its
        arrival (each hand-in closes the windows due by the copy's own time, as it did then):
        nothing reads a copy before its frame's window closes, and every copy waiting is from
        before that instant, so only the moment of the calls moves, not their order or input.
        One transaction per frame instead of one per copy, plus one for the flush."""
        queued, self._queued = self._queued, collections.deque()
        entries = {  # forwarder -> iterator over its queued copies, oldest first
            forwarder: iter(forwarder.queue.peek(forwarder.name, count))
            for forwarder, count in collections.Counter(queued).items()
        }
        handed = {}  # forwarder -> ids of the copies it handed in
        with self.server.batch():
            for forwarder in queued:
                entry = next(entries[forwarder])
                forwarder.hand_in(entry)
                handed.setdefault(forwarder, []).append(entry.id)
            if flush_wall_us is not None and self.forwarders:
                next(iter(self.forwarders.values())).flush(flush_wall_us)
        for forwarder, ids in handed.items():
            forwarder.queue.ack(forwarder.name, ids)
            forwarder.stats.add(f"forwarded.{forwarder.name}", len(ids))


def gateway_config(gateway_id, also_forward=(), region="EU868"):
    """The service config of one field gateway: in-memory queue (speed; a Pi uses a file),
    the local server, the remote forwarders asked for, and the TX frequency range of the
    region (a region name or object: its band, RP002-1.0.4)."""
    semtech = SemtechSection()
    chirpstack = ChirpstackSection()
    for kind, host, port in also_forward:
        if kind == "udp":
            semtech = replace(semtech, enabled=True, server=host, port_up=port, port_down=port)
        elif kind == "mqtt":
            chirpstack = replace(chirpstack, enabled=True, host=host, port=port)
    return Config(
        gateway=GatewaySection(id=gateway_id, stats_interval_s=3600),
        radio=replace(RadioSection(), poll_interval_us=IDLE_WAKE_US, **_tx_band(region)),
        queue=QueueSection(path=":memory:"),
        semtech=semtech,
        chirpstack=chirpstack,
    )


def _tx_band(region):
    """The radio section's TX frequency range for a region: EU868 keeps the section's
    defaults (863-870 MHz, the same band), every other region its own band."""
    plan = plan_of(region) if isinstance(region, str) else region
    if plan.name == "EU868":
        return {}
    return dict(tx_freq_min_hz=plan.freq_min, tx_freq_max_hz=plan.freq_max)


class FieldGateway:
    """A gateway of the field: the concentrator on the air and its gateway service, on the
    channels of `region` (a name or a region object) and `sub_bands` (US915/AU915)."""

    def __init__(
        self, network, air, gateway_id, position, also_forward=(), region="EU868", sub_bands=None
    ):
        self.gateway_id = gateway_id
        self.network = network
        self.radio = ConcentratorRadio(
            air, gateway_id, position, network.clock, region=region, sub_bands=sub_bands
        )
        self.radio.on_transmitted = self._transmitted
        self.service = FieldGatewayService(
            gateway_config(gateway_id, also_forward, region),
            air.scheduler,
            self.radio,
            network.clock,
            network,
        )
        self.transmitted = []  # (dev_eui, air Frame) of every downlink that went out

    @property
    def position(self):
        return self.radio.position

    def start(self):
        self.service.start()
        local = self.service.forwarders[-1]
        self.network.forwarders[self.gateway_id] = local

    def stop(self):
        self.network.hand_in()  # copies still in a window wait in the server, as on a Pi
        self.service.stop()

    def _transmitted(self, request, frame):
        dev_eui = None  # a remote server's downlink: addressed to whoever it is for
        if request.tag[0] == "local":
            dev_eui = self.network.downlinks.get(request.tag[1])
        self.transmitted.append((dev_eui, frame))


def delivered(frame, receiver):
    """True if `receiver` (a node's chip) received this air frame intact."""
    return any(r.receiver is receiver and r.outcome == RECEIVED for r in frame.receptions)
