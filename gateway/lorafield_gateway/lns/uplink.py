"""Uplink checks: de-duplication across gateways, MIC and 32-bit FCnt, replay/reset
detection, decryption and decoding with the shared codec."""

import heapq
import itertools

import lorafield_codec
from lorafield_codec import CodecError
from lorafield_node.phy import FrameError, check_mic, decrypt_payload, fcnt32_from16, parse_data

from .errors import Rejected

# A frame whose MIC verifies with a counter among the first RESET_WINDOW of the session,
# while the session is further on, is taken for a device that restarted its counter (an ABP
# device without persistence, or lost flash) rather than for a replay.
RESET_WINDOW = 16


def best_copy(metas):
    """The copy with the best SNR, then RSSI; the first one on a tie (deterministic)."""
    return max(metas, key=lambda m: (m.snr_db, m.rssi_dbm))


class Deduplicator:
    """Collects copies of the same PHYPayload heard by several gateways within ``window_us``
    of the first copy (server clock). ChirpStack's default window is 200 ms."""

    def __init__(self, window_us=200_000):
        if window_us < 0:
            raise ValueError("de-duplication window must be >= 0")
        self.window_us = window_us
        self._pending = {}  # phy -> [meta, ...] in arrival order
        self._deadlines = []  # heap of (deadline, sequence, phy)
        self._seq = itertools.count()

    def add(self, phy, meta):
        """Record a copy; True when it is the first of its frame."""
        metas = self._pending.get(phy)
        if metas is not None:
            metas.append(meta)
            return False
        self._pending[phy] = [meta]
        heapq.heappush(self._deadlines, (meta.time_us + self.window_us, next(self._seq), phy))
        return True

    def due(self, now_us=None):
        """Frames whose window has closed at ``now_us`` (all of them with None), oldest first,
        as (phy, metas)."""
        out = []
        heap = self._deadlines
        while heap and (now_us is None or heap[0][0] <= now_us):
            _, _, phy = heapq.heappop(heap)
            out.append((phy, self._pending.pop(phy)))
        return out

    def next_deadline(self):
        return self._deadlines[0][0] if self._deadlines else None

    def __len__(self):
        return len(self._pending)


class Authenticated:
    """A data uplink whose MIC verified: the parsed frame (payload decrypted), its 32-bit
    FCnt, and ``retransmission`` when it repeats the last accepted frame byte for byte."""

    def __init__(self, frame, fcnt32, retransmission):
        self.frame = frame
        self.fcnt32 = fcnt32
        self.retransmission = retransmission


def authenticate(phy, session):
    """MIC and frame-counter check against ``session``; raises Rejected with the reason.

    The 16 transmitted FCnt bits are extended to the smallest 32-bit counter >= the next
    expected one (1.0.4 4.3.1.5). When the MIC fails with it, the counters just behind are
    tried to tell a replay or a counter reset from a forgery.
    """
    try:
        frame = parse_data(phy)
    except FrameError as e:
        raise Rejected("malformed frame: " + e.reason, session.dev_eui) from None
    eui = session.dev_eui
    try:
        fcnt32 = fcnt32_from16(session.fcnt_up_next, frame.fcnt)
    except FrameError:
        raise Rejected("frame counter exhausted", eui, fcnt=frame.fcnt) from None
    if check_mic(phy, session.crypto, fcnt32):
        return Authenticated(decrypt_payload(frame, session.crypto, fcnt32), fcnt32, False)
    # The same 16 bits one epoch back: a counter the session has already passed.
    older = fcnt32 - 0x10000
    if older >= 0 and check_mic(phy, session.crypto, older):
        last = session.last_fcnt_up
        if older == last and phy == session.last_phy:
            frame = decrypt_payload(frame, session.crypto, older)
            return Authenticated(frame, older, True)
        expected = session.fcnt_up_next
        if older < RESET_WINDOW <= expected:
            raise Rejected("FCnt reset", eui, fcnt=older, expected=expected)
        raise Rejected("FCnt replay", eui, fcnt=older, expected=expected)
    if (
        frame.fcnt != older
        and frame.fcnt < RESET_WINDOW
        and check_mic(phy, session.crypto, frame.fcnt)
    ):
        raise Rejected("FCnt reset", eui, fcnt=frame.fcnt, expected=session.fcnt_up_next)
    raise Rejected("MIC mismatch", eui, fcnt=frame.fcnt)


def decode_application(fport, payload):
    """(kind, data, error) for an application payload: decoded with the shared codec when
    ``fport`` is an uplink codec port; (None, None, None) for other ports (raw bytes kept);
    (kind, None, reason) when the codec refuses the bytes."""
    try:
        kind = lorafield_codec.kind_of(fport)
    except CodecError:
        return None, None, None
    if lorafield_codec.KINDS[kind].get("direction") != "uplink":
        return kind, None, "not an uplink kind"
    try:
        _, data = lorafield_codec.decode(fport, payload)
    except CodecError as e:
        return kind, None, str(e)
    return kind, data, None
