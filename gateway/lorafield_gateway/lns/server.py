"""``NetworkServer``: the embedded network server's protocol core, tying the parts together.

Pure: no sockets, threads or wall clock. A gateway (real or emulated) calls
``handle_uplink(phy, RxMetadata)`` for every copy it hears and gets back the ``DownlinkFrame``s
to transmit; copies of one frame are collected for ``dedup_window_us`` (server clock, the
metadata's ``time_us``), so the answer to a frame comes from the call -- or the ``flush(now)``
-- that closes its window. Gateways report each transmission with ``handle_tx_ack``.
State lives in a store (``MemoryStore``; SQLite in issue 7).

One server serves one region (RP002-1.0.4; ``region=`` a name of ``lorafield_node.region.NAMES``
or a region object, EU868 by default) and, in US915/AU915, the sub-bands its gateways listen on
(``sub_bands=``): the Join-accept's CFList, the RX1 channel and data rate, RX2, the payload
sizes, ADR and the channel mask it keeps its devices on all follow from them.
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
from lorafield_node.region import JOIN_ACCEPT_DELAY1

from . import downlink as dl
from .channelplan import ALL_FIXED, check_fixed_mask, server_plan
from .errors import LnsError, Rejected
from .joinserver import JoinServer
from .macanswers import (
    STICKY_ANSWERS,
    adr_request,
    awaiting_link_adr,
    channel_mask_request,
    handle_commands,
    link_adr_commands,
)
from .registry import eui_bytes
from .session import Session
from .store import MemoryStore
from .types import TX_OK, DownlinkFrame, Event, RxMetadata, TxAck
from .uplink import Deduplicator, authenticate, best_copy, decode_application

# The longest PHYPayload a LoRa frame carries (its length field is one byte).
MAX_PHY_LEN = 255
# Uplinks after a LinkADRReq without its answer before the server takes it for lost (the
# device answers in its next uplink, 1.0.4 5.3; an answer may wait one uplink for room).
LINK_ADR_PATIENCE = 3


class _InFlight:
    __slots__ = ("dev_eui", "built", "join")

    def __init__(self, dev_eui, built, join):
        self.dev_eui = dev_eui
        self.built = built
        self.join = join


class NetworkServer:
    """LoRaWAN 1.0.4 Class A network server for one region (EU868 unless ``region`` names
    another; ``sub_bands``/``channels``: US915/AU915's channels its gateways listen on, see
    ``channelplan.server_plan``).

    ``windows``: the receive windows offered for every downlink, in the order a gateway
    should try them (("RX1", "RX2") by default; ("RX2",) forces RX2). ``adr``: send
    LinkADRReq to devices that set the ADR bit; ``adr_max_dr``: the fastest data rate ADR
    gives (default the region's fastest 125 kHz rate; a single-channel gateway hears one).
    """

    def __init__(
        self,
        registry,
        *,
        store=None,
        region=None,
        sub_bands=None,
        channels=None,
        net_id=0x000000,
        dedup_window_us=200_000,
        rx1_dr_offset=0,
        rx2_dr=None,
        rx1_delay_s=1,
        extra_channels_hz=(),
        windows=("RX1", "RX2"),
        adr=True,
        adr_max_dr=None,
    ):
        self.registry = registry
        self.store = store if store is not None else MemoryStore()
        self.region, self.channel_mask = server_plan(region, sub_bands, channels)
        if adr_max_dr is not None and not self.region.uplink_dr(adr_max_dr):
            name = self.region.name
            raise LnsError(f"adr_max_dr {adr_max_dr} is not an uplink data rate of {name}")
        self.adr_max_dr = adr_max_dr
        self.dedup = Deduplicator(dedup_window_us)
        cflist_mask = self.channel_mask if self.channel_mask != ALL_FIXED else None
        self.joins = JoinServer(
            registry,
            self.store,
            self.region,
            net_id=net_id,
            rx1_dr_offset=rx1_dr_offset,
            rx2_dr=rx2_dr,
            rx1_delay_s=rx1_delay_s,
            extra_channels_hz=extra_channels_hz,
            cflist_mask=cflist_mask,
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

    def enqueue_test(self, dev_eui, payload, confirmed=False):
        """Queue a downlink on FPort 224, the LoRaWAN test protocol's port (TS009 commands, as
        a certification test tool sends them; ``enqueue`` keeps to 1..223). Its reference."""
        eui = self._known(dev_eui)
        payload = dl.check_app_downlink(dl.TEST_FPORT, payload, self.region, test=True)
        ref = next(self._refs)
        self.store.queue(eui).append(
            dl.QueuedDownlink(dl.TEST_FPORT, payload, bool(confirmed), ref)
        )
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
        self._check_for_region(cid, tuple(fields))
        session.mac_pending = [c for c in session.mac_pending if c[0] != cid]
        session.mac_pending.append((cid, tuple(fields)))

    def request_link_adr(self, dev_eui, dr, tx_power, nb_trans=None, mask=None):
        """Send LinkADRReq setting ``dr`` and ``tx_power`` (15: keep, LoRaWAN 1.0.4 5.3) and
        NbTrans (None: as now) in the next downlink. Dynamic plans: one command, ChMaskCntl 0,
        ``mask`` over channels 0..15 (None: every defined channel). US915/AU915: the block of
        commands that leaves the device on ``mask`` (72 bits; None: the server's channel
        mask), ``channelplan.link_adr_block``. Returns the fields sent."""
        session = self.session(self._known(dev_eui))
        if session is None:
            raise LnsError("device has no session")
        if nb_trans is None:
            nb_trans = session.nb_trans
        region = self.region
        if region.fixed:
            wanted = self.channel_mask if mask is None else mask
            if not isinstance(wanted, int) or not 0 < wanted <= ALL_FIXED:
                raise LnsError("a US915/AU915 channel mask is a 72-bit int with a channel on")
            check_fixed_mask(region, wanted)
            commands = link_adr_commands(session, region, dr, tx_power, nb_trans, wanted)
        else:
            commands = link_adr_commands(session, region, dr, tx_power, nb_trans)
            if mask is not None:
                commands = [(maccmd.LINK_ADR, (dr, tx_power, mask, 0, nb_trans))]
        try:
            for cid, fields in commands:
                maccmd.encode(cid, fields, False)
        except maccmd.MacCommandError as e:
            raise LnsError("bad LinkADRReq: " + e.reason) from None
        session.mac_pending = [c for c in session.mac_pending if c[0] != maccmd.LINK_ADR]
        session.mac_pending.extend(commands)
        return [fields for _, fields in commands]

    def _check_for_region(self, cid, fields):
        """MAC requests the region does not define are refused (the device would ignore them
        without an answer, RP002-1.0.4): NewChannelReq and DlChannelReq in US915/AU915,
        TxParamSetupReq outside AS923/AU915; frequencies and data rates must be the region's."""
        region = self.region
        name = region.name
        if cid in (maccmd.NEW_CHANNEL, maccmd.DL_CHANNEL) and region.fixed:
            raise LnsError(f"{name} has a fixed channel grid: no NewChannelReq/DlChannelReq")
        if cid == maccmd.TX_PARAM_SETUP and not region.tx_param_setup:
            raise LnsError(f"{name} has no TxParamSetupReq (only AS923 and AU915 do)")
        if cid == maccmd.RX_PARAM_SETUP:
            offset, rx2_dr, freq = fields
            if not region.lora_dr(rx2_dr):
                raise LnsError(f"RX2 data rate {rx2_dr} is not a LoRa data rate of {name}")
            if not region.valid_rx_frequency(freq):
                raise LnsError(f"{freq} Hz is not a receive frequency of {name}")
            if region.rx1_dr(region.default_dr_min, offset) < 0:
                raise LnsError(f"RX1DROffset {offset} is not defined in {name}")
        if cid == maccmd.DL_CHANNEL and not region.valid_rx_frequency(fields[1]):
            raise LnsError(f"{fields[1]} Hz is not a frequency of {name}")

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
            for cid, fields in _awaiting_of(built.mac).items():
                if cid == maccmd.LINK_ADR and awaiting_link_adr(session) == fields:
                    del session.mac_awaiting[cid]
                    session.mac_pending.extend((cid, f) for f in fields)
                elif session.mac_awaiting.get(cid) == fields:
                    del session.mac_awaiting[cid]
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
        up_dr = self._uplink_dr(best)
        if up_dr < 0:
            raise Rejected("uplink data rate unknown")
        result = self.joins.handle(phy)
        session = result.session
        self.store.put_session(session)
        region = self.region
        # before the accept arrives the device uses the region's defaults: RX1DROffset 0,
        # downlink dwell time, RX2 data rate and frequency
        rx1_freq = session.rx1_frequency(best.frequency_hz, region, best.bw_hz)
        items = dl.window_items(
            region,
            best,
            up_dr,
            JOIN_ACCEPT_DELAY1,  # RX2 follows one second later: 5 s / 6 s (1.0.4 6.2.6)
            0,
            region.rx2_dr,
            region.rx2_frequency,
            self._windows(rx1_freq),
            rx1_freq,
            region.downlink_dwell,
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
            dr = self.region.dr_of(sf, bw_hz)
            if dr >= 0 and not self.region.uplink_dr(dr):
                dr = -1  # a downlink-only rate (US915 DR8..13 at 500 kHz)
            self._drs[(sf, bw_hz)] = dr
        return dr

    def _uplink_dr(self, meta):
        """The region's uplink data rate of a copy's SF and bandwidth (its lowest, so the
        uplink one where a downlink rate shares the setting), -1 for none."""
        return self._dr_of(meta.sf, meta.bw_hz)

    def _windows(self, rx1_freq):
        """The server's windows, without RX1 when the uplink has no RX1 channel (a fixed
        plan's uplink off the grid)."""
        if rx1_freq is None:
            return tuple(w for w in self.windows if w != "RX1")
        return self.windows

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
                if self.region.fixed:
                    session.enabled_mask = ALL_FIXED  # an ABP device starts on all 72 (2.5.2)
                self.store.put_session(session)
                return session
        raise Rejected("unknown DevAddr", None, dev_addr=f"{dev_addr:08x}")

    def _data(self, phy, metas, now):
        session = self._session_for(phy)
        auth = authenticate(phy, session)
        frame = auth.frame
        eui = session.dev_eui
        best = best_copy(metas)
        up_dr = self._uplink_dr(best)
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
        if (
            maccmd.LINK_ADR in session.mac_awaiting
            and session.uplinks - session.link_adr_sent_at >= LINK_ADR_PATIENCE
        ):
            # The device answers in its next uplink; none in three: the downlink was lost.
            # Forget the request, so ADR and the channel mask are decided afresh.
            del session.mac_awaiting[maccmd.LINK_ADR]
            reason = f"LinkADR: no answer in {LINK_ADR_PATIENCE} uplinks"
            self._event(now, "mac_error", eui, reason)

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
            block = adr_request(session, self.region, self.adr_max_dr, self.channel_mask)
            if block is not None and all(c[0] != maccmd.LINK_ADR for c in session.mac_pending):
                session.mac_pending.extend(block)
        # US915/AU915: a device not known to be on the server's channels is moved there.
        block = channel_mask_request(session, self.region, self.channel_mask)
        if block is not None:
            session.mac_pending.extend(block)
        needed = (
            confirmed
            or outcome.answers
            or outcome.need_downlink
            or session.mac_pending
            or frame.adr_ack_req
            or any(c[0] in STICKY_ANSWERS for c in commands)
        )
        if not needed and not self.store.queue(eui):
            return []
        return self._reply(
            session, best, up_dr, now, ack=confirmed, answers=outcome.answers, needed=needed
        )

    def _confirmed_down_outcome(self, session, ack, now):
        pending = session.confirmed_down_fcnt
        if pending is None:
            return
        session.confirmed_down_fcnt = None
        fcnt, ref = pending
        kind = "downlink_acked" if ack else "downlink_nacked"
        self._event(now, kind, session.dev_eui, None, fcnt_down=fcnt, ref=ref)

    def _reply(self, session, best, up_dr, now, ack, answers, needed=True):
        rx1_freq = session.rx1_frequency(best.frequency_hz, self.region, best.bw_hz)
        items = dl.window_items(
            self.region,
            best,
            up_dr,
            session.rx1_delay_s,
            session.rx1_dr_offset,
            session.rx2_dr,
            session.rx2_frequency_hz,
            self._windows(rx1_freq),
            rx1_freq,
            session.downlink_dwell,
        )
        if not items:
            raise Rejected("no receive window possible", session.dev_eui)
        mac = list(answers) + list(session.mac_pending)
        queue = self.store.queue(session.dev_eui)
        built = dl.build_downlink(session, queue, items, self.region, ack=ack, mac=mac)
        sent = set(built.mac)
        session.mac_pending = [c for c in session.mac_pending if c not in sent]
        awaiting = _awaiting_of(built.mac)
        session.mac_awaiting.update(awaiting)
        if maccmd.LINK_ADR in awaiting:
            session.link_adr_sent_at = session.uplinks
        if built.queued is not None:
            queue.remove(built.queued)
        if built.deferred is not None:
            ref, room = built.deferred
            self._event(now, "downlink_deferred", session.dev_eui, "too long", ref=ref, room=room)
            if not needed and not built.mac:
                return []  # only a queue head no window carries: nothing worth the airtime
        if built.items:
            items = built.items
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


def _awaiting_of(mac):
    """What a downlink's MAC commands leave awaiting an answer: cid -> fields (LinkADRReq:
    the tuple of its block's fields); the network's answers (LinkCheckAns, DeviceTimeAns)
    await nothing."""
    out = {}
    block = []
    for cid, fields in mac:
        if cid in (maccmd.LINK_CHECK, maccmd.DEVICE_TIME):
            continue
        if cid == maccmd.LINK_ADR:
            block.append(fields)
        else:
            out[cid] = fields
    if block:
        out[maccmd.LINK_ADR] = tuple(block)
    return out


def _eui_hex(dev_eui):
    try:
        return eui_bytes(dev_eui, "DevEUI").hex()
    except LnsError:
        raise LnsError("DevEUI must be 8 bytes or 16 hex digits") from None
