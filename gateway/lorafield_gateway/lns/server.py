"""``NetworkServer``: the embedded network server's protocol core, tying the parts together.

Pure: no sockets, threads or wall clock. A gateway (real or emulated) calls
``handle_uplink(phy, RxMetadata)`` for every copy it hears and gets back the ``DownlinkFrame``s
to transmit; copies of one frame are collected for ``dedup_window_us`` (server clock, the
metadata's ``time_us``), so the answer to a frame comes from the call -- or the ``flush(now)``
-- that closes its window. Gateways report each transmission with ``handle_tx_ack``.
State lives in a store (``MemoryStore``; SQLite in issue 7).
"""

import contextlib
import itertools
from collections import deque

from lorafield_node import maccmd
from lorafield_node.phy import (
    CONFIRMED_UP,
    JOIN_REQUEST,
    UNCONFIRMED_UP,
    FrameError,
    parse_mhdr,
)
from lorafield_node.region import JOIN_ACCEPT_DELAY1, eu868

from . import downlink as dl
from .errors import LnsError, Rejected
from .joinserver import JoinServer
from .macanswers import STICKY_ANSWERS, adr_request, handle_commands
from .registry import eui_bytes
from .session import Session
from .store import MemoryStore
from .types import TX_OK, DownlinkFrame, Event, RxMetadata, TxAck
from .uplink import Deduplicator, authenticate, best_copy, decode_application

# The longest PHYPayload a LoRa frame carries (its length field is one byte).
MAX_PHY_LEN = 255


class _InFlight:
    __slots__ = ("dev_eui", "built", "join")

    def __init__(self, dev_eui, built, join):
        self.dev_eui = dev_eui
        self.built = built
        self.join = join


class NetworkServer:
    """LoRaWAN 1.0.4 Class A network server for one region (EU868).

    ``windows``: the receive windows offered for every downlink, in the order a gateway
    should try them (("RX1", "RX2") by default; ("RX2",) forces RX2). ``adr``: send
    LinkADRReq to devices that set the ADR bit.
    """

    def __init__(
        self,
        registry,
        *,
        store=None,
        region=None,
        net_id=0x000000,
        dedup_window_us=200_000,
        rx1_dr_offset=0,
        rx2_dr=None,
        rx1_delay_s=1,
        extra_channels_hz=(),
        windows=("RX1", "RX2"),
        adr=True,
    ):
        self.registry = registry
        self.store = store if store is not None else MemoryStore()
        self.region = region if region is not None else eu868()
        self.dedup = Deduplicator(dedup_window_us)
        self.joins = JoinServer(
            registry,
            self.store,
            self.region,
            net_id=net_id,
            rx1_dr_offset=rx1_dr_offset,
            rx2_dr=rx2_dr,
            rx1_delay_s=rx1_delay_s,
            extra_channels_hz=extra_channels_hz,
        )
        for w in windows:
            if w not in ("RX1", "RX2"):
                raise LnsError("window must be RX1 or RX2")
        self.windows = tuple(windows)
        self.adr = adr
        self._ids = itertools.count(1)
        self._refs = itertools.count(1)
        self._inflight = {}
        self._recent = {}  # phy -> time its dedup window closed (late copies are dropped)
        self._recent_order = deque()  # (time, phy) in closing order, to forget them
        self._drs = {}  # (SF, bandwidth) -> the region's data rate, looked up once

    # -- views ----------------------------------------------------------------------------------
    @property
    def events(self):
        return self.store.events

    @property
    def readings(self):
        return self.store.readings

    @property
    def frames(self):
        return self.store.frames

    def session(self, dev_eui):
        return self.store.session(_eui_hex(dev_eui))

    def queue(self, dev_eui):
        return list(self.store.queue(_eui_hex(dev_eui)))

    # -- application side -----------------------------------------------------------------------
    def enqueue(self, dev_eui, fport, payload, confirmed=False):
        """Queue an application downlink; returns its reference number."""
        eui = self._known(dev_eui)
        payload = dl.check_app_downlink(fport, payload, self.region)
        ref = next(self._refs)
        self.store.queue(eui).append(dl.QueuedDownlink(fport, payload, bool(confirmed), ref))
        return ref

    def enqueue_config(self, dev_eui, data, confirmed=False):
        """Queue a ``config`` command (dict) encoded with the shared codec."""
        fport, payload = dl.encode_config(data)
        return self.enqueue(dev_eui, fport, payload, confirmed)

    def request_mac(self, dev_eui, cid, fields=()):
        """Send a MAC request (e.g. DevStatusReq, RXParamSetupReq) in the next downlink."""
        session = self.session(self._known(dev_eui))
        if session is None:
            raise LnsError("device has no session")
        try:
            maccmd.encode(cid, tuple(fields), False)
        except maccmd.MacCommandError as e:
            raise LnsError("bad MAC command: " + e.reason) from None
        session.mac_pending = [c for c in session.mac_pending if c[0] != cid]
        session.mac_pending.append((cid, tuple(fields)))

    def request_dev_status(self, dev_eui):
        self.request_mac(dev_eui, maccmd.DEV_STATUS, ())

    def _known(self, dev_eui):
        eui = _eui_hex(dev_eui)
        if self.registry.get(eui) is None:
            raise LnsError("unknown DevEUI")
        return eui

    # -- gateway side ---------------------------------------------------------------------------
    def handle_uplink(self, phy, meta):
        """One copy of an uplink heard by a gateway; returns DownlinkFrames now due (for this
        frame when the window is 0, else for frames whose window closed by ``meta.time_us``)."""
        if not isinstance(phy, bytes | bytearray | memoryview):
            raise LnsError("PHYPayload must be bytes")
        if not isinstance(meta, RxMetadata):
            raise LnsError("metadata must be an RxMetadata")
        phy = bytes(phy)
        done = self._recent.get(phy)
        if done is not None and meta.time_us <= done + self.dedup.window_us:
            self._event(meta.time_us, "uplink_late_copy", None, None, gateway=meta.gateway_id)
            return self.flush(meta.time_us)
        self.dedup.add(phy, meta)
        return self.flush(meta.time_us)

    def flush(self, now_us=None):
        """Process frames whose de-duplication window has closed by ``now_us`` (all with None)."""
        out = []
        for phy, metas in self.dedup.due(now_us):
            t = metas[0].time_us + self.dedup.window_us
            self._recent[phy] = t
            self._recent_order.append((t, phy))
            out.extend(self._process(phy, metas, t))
        if now_us is not None:
            horizon = now_us - 2 * self.dedup.window_us - 1
            order = self._recent_order
            while order and order[0][0] < horizon:
                t, phy = order.popleft()
                if self._recent.get(phy) == t:
                    del self._recent[phy]
        return out

    def batch(self):
        """A block of calls that belong together; in memory there is nothing to group (the
        SQLite server commits them in one transaction)."""
        return contextlib.nullcontext()

    def next_deadline(self):
        """Server time at which ``flush`` has work, or None."""
        return self.dedup.next_deadline()

    def handle_tx_ack(self, ack: TxAck, time_us):
        """The gateway's report on a DownlinkFrame at `time_us` (server clock, the time of
        its events): requeue what did not go out."""
        flight = self._inflight.pop(ack.downlink_id, None)
        if flight is None:
            return
        built = flight.built
        if ack.status == TX_OK:
            kind = "join_accept_sent" if flight.join else "downlink_sent"
            detail = {"window": ack.window}
            if built is not None:
                detail["fcnt_down"] = built.fcnt_down
                if built.queued is not None:
                    detail["ref"] = built.queued.ref
                    if built.confirmed:
                        session = self.store.session(flight.dev_eui)
                        if session is not None:
                            session.confirmed_down_fcnt = (built.fcnt_down, built.queued.ref)
            self._event(time_us, kind, flight.dev_eui, None, **detail)
            return
        self._event(time_us, "downlink_failed", flight.dev_eui, ack.status)
        if built is None:
            return
        session = self.store.session(flight.dev_eui)
        if built.queued is not None:
            self.store.queue(flight.dev_eui).insert(0, built.queued)
        if session is not None:
            for cid, fields in built.mac:
                if session.mac_awaiting.get(cid) == fields:
                    del session.mac_awaiting[cid]
                    if cid not in (maccmd.LINK_CHECK, maccmd.DEVICE_TIME):
                        session.mac_pending.append((cid, fields))

    # -- processing -----------------------------------------------------------------------------
    def _event(self, time_us, kind, dev_eui, reason, **detail):
        self.store.add_event(Event(time_us, kind, dev_eui, reason, detail))

    def _process(self, phy, metas, now):
        try:
            mtype = parse_mhdr(phy)
        except FrameError as e:
            self._event(now, "uplink_rejected", None, "malformed frame: " + e.reason)
            return []
        try:
            if len(phy) > MAX_PHY_LEN:
                raise Rejected(f"malformed frame: {len(phy)} bytes, LoRa carries at most 255")
            try:
                if mtype == JOIN_REQUEST:
                    return self._join(phy, metas, now)
                if mtype in (UNCONFIRMED_UP, CONFIRMED_UP):
                    return self._data(phy, metas, now)
            except FrameError as e:  # a check deeper down that parsing did not catch
                raise Rejected("malformed frame: " + e.reason) from None
            raise Rejected("not an uplink MType")
        except Rejected as e:
            kind = "join_rejected" if mtype == JOIN_REQUEST else "uplink_rejected"
            self._event(now, kind, e.dev_eui, e.reason, **e.detail)
            return []

    def _join(self, phy, metas, now):
        best = best_copy(metas)
        up_dr = self._dr_of(best.sf, best.bw_hz)
        if up_dr < 0:
            raise Rejected("uplink data rate unknown")
        result = self.joins.handle(phy)
        session = result.session
        self.store.put_session(session)
        items = dl.window_items(
            self.region,
            best,
            up_dr,
            JOIN_ACCEPT_DELAY1,  # RX2 follows one second later: 5 s / 6 s (1.0.4 6.2.6)
            0,  # before the accept arrives the device uses the default RX1DROffset ...
            self.region.rx2_dr,  # ... and the default RX2 data rate and frequency
            self.region.rx2_frequency,
            self.windows,
        )
        self._event(
            now,
            "join",
            session.dev_eui,
            None,
            dev_addr=session.dev_addr_hex,
            dev_nonce=result.dev_nonce,
            join_nonce=result.join_nonce,
            gateway=best.gateway_id,
        )
        frame_id = next(self._ids)
        self._inflight[frame_id] = _InFlight(session.dev_eui, None, True)
        return [DownlinkFrame(frame_id, session.dev_eui, best.gateway_id, result.phy, items)]

    def _dr_of(self, sf, bw_hz):
        dr = self._drs.get((sf, bw_hz))
        if dr is None:
            dr = self._drs[(sf, bw_hz)] = self.region.dr_of(sf, bw_hz)
        return dr

    def _session_for(self, phy):
        if len(phy) < 5:
            raise Rejected("malformed frame: data frame too short")
        dev_addr = phy[1] | (phy[2] << 8) | (phy[3] << 16) | (phy[4] << 24)
        session = self.store.session_by_addr(dev_addr)
        if session is not None:
            return session
        for device in self.registry:
            if device.abp is not None and device.abp[0] == dev_addr:
                if self.store.session(device.dev_eui_hex) is not None:
                    break  # the device has joined since: its ABP address is no longer valid
                addr, nwk, app = device.abp
                session = Session(device.dev_eui_hex, addr, nwk, app, self.region)
                self.store.put_session(session)
                return session
        raise Rejected("unknown DevAddr", None, dev_addr=f"{dev_addr:08x}")

    def _data(self, phy, metas, now):
        session = self._session_for(phy)
        auth = authenticate(phy, session)
        frame = auth.frame
        eui = session.dev_eui
        best = best_copy(metas)
        up_dr = self._dr_of(best.sf, best.bw_hz)
        if up_dr < 0:
            raise Rejected("uplink data rate unknown", eui)
        confirmed = frame.mtype == CONFIRMED_UP
        if auth.retransmission:
            # Same FCnt, same bytes (NbTrans repetition or a confirmed retry): nothing is
            # delivered twice; a confirmed one is acknowledged again (1.0.4 4.3.1.2).
            self._event(now, "uplink_retransmission", eui, None, fcnt=auth.fcnt32)
            if not confirmed:
                return []
            return self._reply(session, best, up_dr, now, ack=True, answers=())
        session.fcnt_up_next = auth.fcnt32 + 1
        session.last_fcnt_up = auth.fcnt32
        session.last_phy = phy
        session.dr = up_dr
        session.uplinks += 1
        session.snr_history.append(best.snr_db)
        self._confirmed_down_outcome(session, frame.ack, now)

        commands = []
        mac_source = frame.payload if frame.fport == 0 else frame.fopts
        if mac_source:
            try:
                commands = maccmd.parse_commands(mac_source, True)
            except maccmd.MacCommandError as e:
                commands = list(e.parsed)
                self._event(now, "mac_error", eui, e.reason)
        outcome = handle_commands(
            session, commands, metas, best.sf, min(m.time_us for m in metas), self.region
        )
        for kind, reason, detail in outcome.events:
            self._event(now, kind, eui, reason, **detail)

        device = self.registry.get(eui)
        self.store.add_frame(
            {
                "time_us": now,
                "dev_eui": eui,
                "dev_addr": session.dev_addr_hex,
                "fcnt": auth.fcnt32,
                "fport": frame.fport,
                "confirmed": confirmed,
                "phy_hex": phy.hex(),
                "copies": tuple(metas),
                "gateway_id": best.gateway_id,
                "rssi_dbm": best.rssi_dbm,
                "snr_db": best.snr_db,
                "frequency_hz": best.frequency_hz,
                "dr": up_dr,
            }
        )
        if frame.fport is not None and frame.fport > 0:
            kind, data, error = decode_application(frame.fport, frame.payload)
            self.store.add_reading(
                {
                    "time_us": now,
                    "dev_eui": eui,
                    "device_kind": device.kind if device is not None else None,
                    "fcnt": auth.fcnt32,
                    "fport": frame.fport,
                    "kind": kind,
                    "data": data,
                    "raw": bytes(frame.payload),
                    "error": error,
                }
            )
        self._event(
            now,
            "uplink",
            eui,
            None,
            fcnt=auth.fcnt32,
            fport=frame.fport,
            gateways=len({m.gateway_id for m in metas}),
            gateway=best.gateway_id,
        )
        if self.adr and frame.adr:
            req = adr_request(session, self.region)
            if req is not None and all(c[0] != req[0] for c in session.mac_pending):
                session.mac_pending.append(req)
        due = (
            confirmed
            or outcome.answers
            or outcome.need_downlink
            or session.mac_pending
            or self.store.queue(eui)
            or frame.adr_ack_req
            or any(c[0] in STICKY_ANSWERS for c in commands)
        )
        if not due:
            return []
        return self._reply(session, best, up_dr, now, ack=confirmed, answers=outcome.answers)

    def _confirmed_down_outcome(self, session, ack, now):
        pending = session.confirmed_down_fcnt
        if pending is None:
            return
        session.confirmed_down_fcnt = None
        fcnt, ref = pending
        kind = "downlink_acked" if ack else "downlink_nacked"
        self._event(now, kind, session.dev_eui, None, fcnt_down=fcnt, ref=ref)

    def _reply(self, session, best, up_dr, now, ack, answers):
        items = dl.window_items(
            self.region,
            best,
            up_dr,
            session.rx1_delay_s,
            session.rx1_dr_offset,
            session.rx2_dr,
            session.rx2_frequency_hz,
            self.windows,
            session.rx1_frequency(best.frequency_hz),
        )
        if not items:
            raise Rejected("no receive window possible", session.dev_eui)
        mac = list(answers) + list(session.mac_pending)
        queue = self.store.queue(session.dev_eui)
        built = dl.build_downlink(session, queue, items, self.region, ack=ack, mac=mac)
        sent = set(built.mac)
        session.mac_pending = [c for c in session.mac_pending if c not in sent]
        for cid, fields in built.mac:
            if cid not in (maccmd.LINK_CHECK, maccmd.DEVICE_TIME):
                session.mac_awaiting[cid] = fields
        if built.queued is not None:
            queue.remove(built.queued)
        if built.deferred is not None:
            ref, room = built.deferred
            self._event(now, "downlink_deferred", session.dev_eui, "too long", ref=ref, room=room)
        frame_id = next(self._ids)
        self._inflight[frame_id] = _InFlight(session.dev_eui, built, False)
        self._event(
            now,
            "downlink",
            session.dev_eui,
            None,
            fcnt_down=built.fcnt_down,
            ack=ack,
            fpending=built.fpending,
            mac=",".join(f"0x{c:02x}" for c, _ in built.mac),
            ref=built.queued.ref if built.queued is not None else None,
        )
        return [DownlinkFrame(frame_id, session.dev_eui, best.gateway_id, built.phy, items)]


def _eui_hex(dev_eui):
    try:
        return eui_bytes(dev_eui, "DevEUI").hex()
    except LnsError:
        raise LnsError("DevEUI must be 8 bytes or 16 hex digits") from None
