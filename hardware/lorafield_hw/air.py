"""The radio medium ("air"): LoRa frames in flight, reception, path loss and collisions.

One `Air` per emulated world, on the world's `Scheduler`. Transmitters put `Frame`s on the
air; receivers that are listening get each frame judged at its start and delivered (or not)
at its end. Everything is seeded, and the order of events is the scheduler's, so a run is
deterministic for a seed.

Model (choices and sources):

* Time on air: `lorafield_hw.airtime` (Semtech formula).
* Reception needs the receiver tuned to the frame's channel (centre frequencies within
  24 % of the bandwidth -- LoRaSim's 30 kHz at 125 kHz, 60 at 250, 120 at 500 -- and equal
  bandwidth), the same spreading factor, sync word, IQ polarity and header mode, the
  receiver listening when the frame starts, and received power at or above the SX1276
  sensitivity for that SF and bandwidth (datasheet rev. 7, 2.5.5, RFS_L125/250/500_HF).
* Received power: log-distance path loss PL(d) = PL(d0) + 10 n log10(d / d0) + X, where X is
  a seeded normal shadowing term fixed per link (LoRaSim defaults: n = 2.08, d0 = 40 m,
  PL(d0) = 127.41 dB; Bor et al. 2016). SNR against the thermal noise floor
  -174 + 10 log10(BW) + NF, NF = 6 dB.
* Collisions follow LoRaSim's "full collision" model (Bor et al. 2016, "Do LoRa low-power
  wide-area networks scale?"): two frames on the same channel and SF collide only if the
  earlier one is still on air when the later one reaches its lock point, i.e. after its
  first n_preamble - 5 symbols (the receiver needs the last 5 preamble symbols). In a
  collision a frame at least 6 dB stronger than the other survives (capture) and the other
  is lost; within 6 dB both are lost. Different SFs are orthogonal. Frames below
  sensitivity neither get received nor interfere (as in LoRaSim).
* `Air(..., capture=False)` swaps that for LoRaSim's "simple" check instead: two frames on
  the same channel and SF that overlap in time at all destroy each other, whatever their
  powers and whenever the later one starts (no capture, no lock point). The rest of the
  model (sensitivity, channels, demodulators) is the same code path.
* `Air(..., nodes_hear_nodes=False)`: an endpoint marked `air_node` (an end device's chip)
  neither receives nor is interfered by another node's frames, only by gateways'. That is
  what an emulated field does (a Class A node listens only in its receive windows, on the
  downlink's inverted IQ, where another node's uplink could at most raise the noise): it is
  what lets node firmware run in worker processes that never see each other's uplinks
  (field/parallel.py).
* A receiver demodulates at most `demodulators` frames at once (8 for a concentrator, 1
  for an SX1276); a frame that finds them all busy is lost to "busy", unless it captures
  a frame being demodulated, in which case the receiver re-locks onto it.

Endpoints carry `position` and two `Counters`: `tx` (what became of the frames they sent)
and `rx` (frames that reached them). Receivers also implement `demodulators`,
`air_channel_match(frame)`
(frame is on a channel and SF the receiver is tuned to), `air_decodable(frame)` (sync
word, IQ and header mode also match), `air_lock(reception)` (a demodulator locked on the
frame) and `air_rx_end(reception)` (the frame ended; `reception.collided` says whether it
was corrupted).
"""

import math
import random

from .airtime import symbol_time_us, time_on_air_us

# SX1276 datasheet rev. 7, 2.5.5 Receiver specifications, band 1 (HF), RFS_L125_HF,
# RFS_L250_HF, RFS_L500_HF, in dBm, SF6..SF12.
SENSITIVITY_DBM = {
    125_000: {6: -118, 7: -123, 8: -126, 9: -129, 10: -132, 11: -133, 12: -136},
    250_000: {6: -115, 7: -120, 8: -123, 9: -125, 10: -128, 11: -130, 12: -133},
    500_000: {6: -111, 7: -116, 8: -119, 9: -122, 10: -125, 11: -128, 12: -130},
}
CAPTURE_THRESHOLD_DB = 6.0
LOCK_PREAMBLE_SYMBOLS = 5
CHANNEL_TOLERANCE = 0.24  # of the bandwidth (LoRaSim frequencyCollision)
NOISE_FIGURE_DB = 6.0


def sensitivity_dbm(sf, bw_hz):
    """Datasheet sensitivity; other bandwidths scale from 125 kHz with the noise floor."""
    table = SENSITIVITY_DBM.get(int(bw_hz))
    if table is not None:
        return table[sf]
    return SENSITIVITY_DBM[125_000][sf] + 10 * math.log10(float(bw_hz) / 125_000)


def noise_floor_dbm(bw_hz, noise_figure_db=NOISE_FIGURE_DB):
    return -174 + 10 * math.log10(float(bw_hz)) + noise_figure_db


def same_channel(freq_a, freq_b, bw_hz):
    return abs(freq_a - freq_b) <= CHANNEL_TOLERANCE * bw_hz


def _channel_key(frame):
    """Index key: frames on the same channel and SF are in the same or an adjacent bin."""
    bin_hz = CHANNEL_TOLERANCE * frame.bw_hz
    return (frame.sf, frame.bw_hz, int(frame.frequency_hz // bin_hz))


class PathLoss:
    """Log-distance path loss with seeded per-link log-normal shadowing."""

    def __init__(
        self,
        exponent=2.08,
        reference_loss_db=127.41,
        reference_distance_m=40.0,
        shadowing_sigma_db=0.0,
        seed=0,
    ):
        if exponent <= 0 or reference_distance_m <= 0 or shadowing_sigma_db < 0:
            raise ValueError("path loss needs a positive exponent and distance, sigma >= 0")
        self.exponent = exponent
        self.reference_loss_db = reference_loss_db
        self.reference_distance_m = reference_distance_m
        self.shadowing_sigma_db = shadowing_sigma_db
        self.seed = seed
        self._shadowing = {}

    def mean_loss_db(self, distance_m):
        distance_m = max(distance_m, 1.0)
        return self.reference_loss_db + 10 * self.exponent * math.log10(
            distance_m / self.reference_distance_m
        )

    def shadowing_db(self, link):
        """The link's fixed shadowing term; drawn from (seed, link) so order does not matter."""
        if not self.shadowing_sigma_db:
            return 0.0
        value = self._shadowing.get(link)
        if value is None:
            value = random.Random(f"{self.seed}/{link[0]}/{link[1]}").gauss(
                0.0, self.shadowing_sigma_db
            )
            self._shadowing[link] = value
        return value

    def loss_db(self, distance_m, link):
        return self.mean_loss_db(distance_m) + self.shadowing_db(link)

    def range_m(self, budget_db):
        """Distance at which the mean loss equals `budget_db` (no shadowing)."""
        exponent = (budget_db - self.reference_loss_db) / (10 * self.exponent)
        return self.reference_distance_m * 10**exponent


class Counters:
    """Frame counts of one endpoint (as sender and as receiver)."""

    __slots__ = ("sent", "received", "lost_collision", "lost_sensitivity", "lost_busy")

    def __init__(self):
        self.sent = 0
        self.received = 0
        self.lost_collision = 0
        self.lost_sensitivity = 0
        self.lost_busy = 0

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self):
        return f"Counters({self.as_dict()})"


# Outcomes of a frame at one receiver.
RECEIVED = "received"
COLLISION = "collision"
SENSITIVITY = "sensitivity"
BUSY = "busy"
INTERFERENCE = "interference"  # heard, not decodable or not demodulated (no counter)
ABORTED = "aborted"  # the receiver stopped listening or the sender stopped sending


class Frame:
    """One LoRa transmission on the air."""

    __slots__ = (
        "sender",
        "frequency_hz",
        "bw_hz",
        "sf",
        "coding_rate",
        "sync_word",
        "iq_inverted",
        "power_dbm",
        "payload",
        "crc",
        "implicit_header",
        "ldro",
        "preamble",
        "position",
        "start_us",
        "end_us",
        "lock_us",
        "receptions",
        "outcome",
        "aborted",
        "_end_event",
        "_on_end",
    )

    def symbol_us(self):
        return symbol_time_us(self.sf, self.bw_hz)

    def header_end_us(self):
        """When the explicit header has been demodulated (preamble + 4.25 + 8 symbols)."""
        return self.start_us + (self.preamble + 4.25 + 8) * self.symbol_us()

    def __repr__(self):
        return (
            f"Frame({self.frequency_hz / 1e6:.3f} MHz SF{self.sf}/{self.bw_hz // 1000} "
            f"{len(self.payload)} B {self.start_us}-{self.end_us} us)"
        )


class Reception:
    """A frame as seen by one receiver."""

    __slots__ = (
        "frame",
        "receiver",
        "rssi_dbm",
        "snr_db",
        "demodulating",
        "collided",
        "outcome",
        "active",
    )

    def __init__(self, frame, receiver, rssi_dbm, snr_db):
        self.active = False  # in the receiver's list of frames in flight
        self.frame = frame
        self.receiver = receiver
        self.rssi_dbm = rssi_dbm
        self.snr_db = snr_db
        self.demodulating = False
        self.collided = False
        self.outcome = None


class _Listening:
    """A listening receiver's frames in flight, indexed by (SF, bandwidth, frequency bin)."""

    __slots__ = ("by_channel", "busy")

    def __init__(self):
        self.by_channel = {}
        self.busy = 0

    def receptions(self):
        for bucket in self.by_channel.values():
            yield from bucket


class Air:
    def __init__(
        self,
        scheduler,
        path_loss=None,
        *,
        noise_figure_db=NOISE_FIGURE_DB,
        capture=True,
        nodes_hear_nodes=True,
    ):
        self.scheduler = scheduler
        self.capture = bool(capture)
        self.nodes_hear_nodes = bool(nodes_hear_nodes)
        self.path_loss = path_loss if path_loss is not None else PathLoss(seed=scheduler.seed)
        self.noise_figure_db = noise_figure_db
        self.endpoints = []
        self._listening = {}  # receiver -> _Listening, only receivers currently listening
        self._on_air = {}  # (sf, bw_hz) -> frames in flight: the channel index
        self.frames_sent = 0

    # -- endpoints ------------------------------------------------------------------------
    def attach(self, endpoint):
        """Give an endpoint its id on this air (used for the per-link shadowing draw)."""
        endpoint.air_id = self._new_air_id()
        self.endpoints.append(endpoint)
        for role in ("tx", "rx"):
            if getattr(endpoint, role, None) is None:
                setattr(endpoint, role, Counters())
        return endpoint.air_id

    def hears(self, receiver, sender):
        """Whether `receiver` is touched at all by `sender`'s frames (see the module notes)."""
        if receiver is sender:
            return False
        return self.nodes_hear_nodes or not (
            getattr(receiver, "air_node", False) and getattr(sender, "air_node", False)
        )

    def _new_air_id(self):
        """The next endpoint's id: the order of attachment (the shadowing draw's link key)."""
        return len(self.endpoints)

    def rx_power_dbm(self, power_dbm, sender, receiver):
        distance = math.dist(sender.position, receiver.position)
        return power_dbm - self.path_loss.loss_db(distance, (sender.air_id, receiver.air_id))

    def noise_floor_dbm(self, bw_hz):
        return noise_floor_dbm(bw_hz, self.noise_figure_db)

    # -- transmitting ---------------------------------------------------------------------
    def transmit(
        self,
        sender,
        payload,
        *,
        frequency_hz,
        sf,
        bw_hz=125_000,
        power_dbm=14.0,
        coding_rate=5,
        sync_word=0x34,
        iq_inverted=False,
        crc=True,
        implicit_header=False,
        ldro=None,
        preamble=8,
        on_end=None,
    ):
        """Put a frame on the air now; it ends after its time on air. Returns the Frame."""
        now = self.scheduler.now_us
        bw_hz = int(bw_hz)
        frame = Frame()
        frame.sender = sender
        frame.frequency_hz = frequency_hz
        frame.bw_hz = bw_hz
        frame.sf = sf
        frame.coding_rate = coding_rate
        frame.sync_word = sync_word
        frame.iq_inverted = bool(iq_inverted)
        frame.power_dbm = power_dbm
        frame.payload = bytes(payload)
        frame.crc = bool(crc)
        frame.implicit_header = bool(implicit_header)
        frame.preamble = preamble
        airtime = time_on_air_us(
            len(frame.payload),
            sf,
            bw_hz,
            coding_rate=coding_rate,
            preamble=preamble,
            crc=crc,
            implicit_header=implicit_header,
            ldro=ldro,
        )
        frame.ldro = bool(ldro) if ldro is not None else symbol_time_us(sf, bw_hz) > 16_000
        frame.position = tuple(sender.position)
        frame.start_us = now
        frame.end_us = now + round(airtime)
        frame.lock_us = now + max(0, preamble - LOCK_PREAMBLE_SYMBOLS) * symbol_time_us(sf, bw_hz)
        frame.receptions = []
        frame.outcome = None
        frame.aborted = False
        frame._on_end = on_end
        sender.tx.sent += 1
        self.frames_sent += 1
        self._on_air.setdefault((sf, bw_hz), []).append(frame)
        if self._listening:
            hears = self.hears
            for receiver, listening in list(self._listening.items()):
                if hears(receiver, sender):
                    self._arrive(frame, receiver, listening, demodulate=True)
        frame._end_event = self.scheduler.at(frame.end_us, self._end, frame)
        return frame

    def abort(self, frame):
        """The sender stopped mid-frame (mode change): the frame ends now, truncated."""
        if frame.outcome is not None or frame.aborted:
            return
        frame.aborted = True
        frame._end_event.cancel()
        frame.end_us = self.scheduler.now_us
        self._end(frame)

    def _arrive(self, frame, receiver, listening, demodulate):
        if not receiver.air_channel_match(frame):
            return
        rssi = self.rx_power_dbm(frame.power_dbm, frame.sender, receiver)
        decodable = demodulate and receiver.air_decodable(frame)
        if rssi < sensitivity_dbm(frame.sf, frame.bw_hz):
            if decodable:
                receiver.rx.lost_sensitivity += 1
                reception = Reception(
                    frame, receiver, rssi, rssi - self.noise_floor_dbm(frame.bw_hz)
                )
                reception.outcome = SENSITIVITY
                frame.receptions.append(reception)
            return
        reception = Reception(frame, receiver, rssi, rssi - self.noise_floor_dbm(frame.bw_hz))
        captured = []
        key = _channel_key(frame)
        by_channel = listening.by_channel
        sf, bw, frequency_bin = key
        if self.capture:
            vulnerable_from_us, threshold_db = frame.lock_us, CAPTURE_THRESHOLD_DB
        else:  # LoRaSim's simple check: any overlap, both lost
            vulnerable_from_us, threshold_db = frame.start_us, math.inf
        for neighbour in (key, (sf, bw, frequency_bin - 1), (sf, bw, frequency_bin + 1)):
            for other in by_channel.get(neighbour, ()):
                other_frame = other.frame
                if other_frame.end_us <= vulnerable_from_us or not same_channel(
                    other_frame.frequency_hz, frame.frequency_hz, frame.bw_hz
                ):
                    continue
                difference = rssi - other.rssi_dbm
                if difference >= threshold_db:
                    other.collided = True
                    captured.append(other)
                elif difference <= -threshold_db:
                    reception.collided = True
                else:
                    other.collided = True
                    reception.collided = True
        bucket = by_channel.get(key)
        if bucket is None:
            bucket = by_channel[key] = []
        bucket.append(reception)
        reception.active = True
        frame.receptions.append(reception)
        if not decodable:
            return  # an interferer: tracked until the frame ends
        if listening.busy >= receiver.demodulators:
            victim = next((r for r in captured if r.demodulating), None)
            if victim is None:
                reception.outcome = BUSY
                receiver.rx.lost_busy += 1
                return
            # Re-lock onto the stronger frame: the weaker one is lost to the collision.
            victim.demodulating = False
            victim.outcome = COLLISION
            receiver.rx.lost_collision += 1
            listening.busy -= 1
        listening.busy += 1
        reception.demodulating = True
        receiver.air_lock(reception)

    def _end(self, frame):
        bucket = self._on_air[(frame.sf, frame.bw_hz)]
        bucket.remove(frame)
        for reception in frame.receptions:
            if not reception.active:
                continue
            reception.active = False
            receiver = reception.receiver
            listening = self._listening[receiver]
            listening.by_channel[_channel_key(frame)].remove(reception)
            if reception.outcome is not None:
                continue  # lost to busy demodulators or to a re-lock: already counted
            if not reception.demodulating:
                reception.outcome = INTERFERENCE
                continue
            listening.busy -= 1
            if frame.aborted:
                reception.collided = True
            if reception.collided:
                reception.outcome = COLLISION
                receiver.rx.lost_collision += 1
            else:
                reception.outcome = RECEIVED
                receiver.rx.received += 1
            receiver.air_rx_end(reception)
        frame.outcome = self._frame_outcome(frame)
        counters = frame.sender.tx
        if frame.outcome == RECEIVED:
            counters.received += 1
        elif frame.outcome == COLLISION:
            counters.lost_collision += 1
        elif frame.outcome == BUSY:
            counters.lost_busy += 1
        elif frame.outcome == SENSITIVITY:
            counters.lost_sensitivity += 1
        if frame._on_end is not None:
            frame._on_end(frame)

    @staticmethod
    def _frame_outcome(frame):
        """The sender's view: received anywhere beats collision beats busy beats range."""
        outcomes = {reception.outcome for reception in frame.receptions}
        for outcome in (RECEIVED, COLLISION, BUSY, SENSITIVITY):
            if outcome in outcomes:
                return outcome
        return ABORTED if frame.aborted else None

    # -- listening ------------------------------------------------------------------------
    def listen(self, receiver):
        """The receiver starts listening now. Frames already in flight are not received
        (they started before it listened) but still interfere with later ones."""
        if receiver in self._listening:
            return
        listening = _Listening()
        self._listening[receiver] = listening
        for bucket in self._on_air.values():
            for frame in bucket:
                if self.hears(receiver, frame.sender):
                    self._arrive(frame, receiver, listening, demodulate=False)

    def stop_listening(self, receiver):
        listening = self._listening.pop(receiver, None)
        if listening is None:
            return
        for reception in listening.receptions():
            reception.active = False
            if reception.outcome is None:
                reception.outcome = ABORTED

    def is_listening(self, receiver):
        return receiver in self._listening

    def channel_power_dbm(self, receiver, frequency_hz, bw_hz):
        """Noise plus every frame in flight on that channel, as the receiver sees it (any SF)."""
        total_mw = 10 ** (self.noise_floor_dbm(bw_hz) / 10)
        for (_, frame_bw), bucket in self._on_air.items():
            if frame_bw != bw_hz:
                continue
            for frame in bucket:
                if self.hears(receiver, frame.sender) and same_channel(
                    frame.frequency_hz, frequency_hz, bw_hz
                ):
                    power = self.rx_power_dbm(frame.power_dbm, frame.sender, receiver)
                    total_mw += 10 ** (power / 10)
        return 10 * math.log10(total_mw)


class Endpoint:
    """A plain radio on the air (no chip model): for benchmarks and field-scale runs."""

    def __init__(self, air, name, position=(0.0, 0.0)):
        self.air = air
        self.name = name
        self.position = tuple(position)
        self.tx = Counters()  # the fate of the frames this endpoint sent
        self.rx = Counters()  # frames that reached this endpoint as a receiver
        air.attach(self)

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class Transmitter(Endpoint):
    """Sends frames with fixed radio settings (overridable per frame)."""

    def __init__(
        self,
        air,
        name,
        position=(0.0, 0.0),
        *,
        frequency_hz=868_100_000,
        sf=7,
        bw_hz=125_000,
        power_dbm=14.0,
        **settings,
    ):
        super().__init__(air, name, position)
        self.settings = dict(frequency_hz=frequency_hz, sf=sf, bw_hz=bw_hz, power_dbm=power_dbm)
        self.settings.update(settings)

    def send(self, payload, **overrides):
        settings = self.settings if not overrides else {**self.settings, **overrides}
        return self.air.transmit(self, payload, **settings)


class Gateway(Endpoint):
    """A multi-channel, multi-SF receiver (SX1301/SX1302-style concentrator by default).

    ``channels_hz`` at ``bw_hz`` are the multi-SF channels (any SF of ``sfs``);
    ``extra_channels`` are further channels as ``(frequency_hz, bw_hz, sfs)``, such as a
    concentrator's "LoRa standard" channel: one 250/500 kHz channel at one SF (an 8-channel
    US915 gateway's 500 kHz channel at SF8, DR4). ``lorafield_hw.plans.gateway_channels``
    gives both for a region."""

    def __init__(
        self,
        air,
        name,
        position=(0.0, 0.0),
        *,
        channels_hz=(868_100_000, 868_300_000, 868_500_000),
        bw_hz=125_000,
        sfs=(7, 8, 9, 10, 11, 12),
        extra_channels=(),
        sync_word=0x34,
        iq_inverted=False,
        demodulators=8,
        on_receive=None,
    ):
        super().__init__(air, name, position)
        self.channels_hz = tuple(channels_hz)
        self.bw_hz = int(bw_hz)
        self.sfs = frozenset(sfs)
        self.extra_channels = tuple(
            (frequency, int(bw), frozenset(sfs_of)) for frequency, bw, sfs_of in extra_channels
        )
        self.sync_word = sync_word
        self.iq_inverted = iq_inverted
        self.demodulators = demodulators
        self.on_receive = on_receive
        self.received = []  # receptions delivered intact, in order (when no callback is set)

    def start(self):
        self.air.listen(self)
        return self

    def stop(self):
        self.air.stop_listening(self)

    def all_channels_hz(self):
        """Every centre frequency listened on (the multi-SF channels, then the extra ones)."""
        return self.channels_hz + tuple(channel[0] for channel in self.extra_channels)

    def air_channel_match(self, frame):
        if frame.bw_hz == self.bw_hz and frame.sf in self.sfs:
            bw = self.bw_hz
            if any(same_channel(f, frame.frequency_hz, bw) for f in self.channels_hz):
                return True
        for frequency, bw, sfs in self.extra_channels:
            if (
                frame.bw_hz == bw
                and frame.sf in sfs
                and same_channel(frequency, frame.frequency_hz, bw)
            ):
                return True
        return False

    def air_decodable(self, frame):
        return (
            frame.sync_word == self.sync_word
            and frame.iq_inverted == self.iq_inverted
            and not frame.implicit_header
        )

    def air_lock(self, reception):
        pass

    def air_rx_end(self, reception):
        if reception.collided:
            return
        if self.on_receive is not None:
            self.on_receive(reception)
        else:
            self.received.append(reception)
