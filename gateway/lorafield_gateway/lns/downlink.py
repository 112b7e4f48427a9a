"""Downlinks: the per-device application queue, frame building (FCntDown, ACK, FPending,
MAC commands) and the choice of RX1/RX2 (LoRaWAN 1.0.4 section 3.3; RP002-1.0.4 2.x.7 of
each region: RX1 data rate from the uplink's and RX1DROffset, RX2 frequency and data rate)."""

import lorafield_codec
from lorafield_codec import CodecError
from lorafield_node import maccmd
from lorafield_node.phy import (
    CONFIRMED_DOWN,
    FCTRL_ACK,
    FCTRL_FPENDING,
    FOPTS_MAX,
    UNCONFIRMED_DOWN,
    build_data,
)

from .errors import LnsError
from .types import TMST_MASK, DownlinkItem

# Downlink power: 14 dBm ERP in the 868.0-868.6 MHz sub-band (RX1 on the default channels),
# 27 dBm (500 mW) in 869.4-869.65 MHz, the RX2 band (ETSI EN 300 220 / RP002 2.4). Other
# regions: the region's default MaxEIRP (RP002 2.x.3: US915/AU915/IN865 30 dBm, AS923 16,
# KR920 14), the legal ceiling; the gateway clamps it to what its radio may send
# (radio.tx_power_max_dbm).
RX1_POWER_DBM = 14.0
RX2_POWER_DBM = 27.0
RX2_BAND = (869_400_000, 869_650_000)


class QueuedDownlink:
    __slots__ = ("fport", "payload", "confirmed", "ref")

    def __init__(self, fport, payload, confirmed, ref):
        self.fport = fport
        self.payload = payload
        self.confirmed = confirmed
        self.ref = ref

    def __repr__(self):  # the payload may be anything the application sent: length only
        return f"QueuedDownlink(#{self.ref} fport={self.fport} {len(self.payload)} B)"


# FPort 224: reserved for the LoRaWAN MAC layer test protocol (1.0.4 4.3.2), which the
# certification test tool speaks (TS009); only NetworkServer.enqueue_test queues on it.
TEST_FPORT = 224


def check_app_downlink(fport, payload, region, test=False):
    if test:
        if fport != TEST_FPORT:
            raise LnsError(f"test downlinks go on FPort {TEST_FPORT}")
    elif not isinstance(fport, int) or not 1 <= fport <= 223:
        raise LnsError("application FPort must be 1..223")
    if not isinstance(payload, bytes | bytearray):
        raise LnsError("payload must be bytes")
    largest = max(region.max_payload(dr) for dr in range(region.num_dr()) if region.lora_dr(dr))
    if len(payload) > largest:
        raise LnsError(f"payload longer than {largest} bytes, the most any data rate carries")
    return bytes(payload)


def encode_config(data):
    """(FPort, payload) of a ``config`` command encoded with the shared codec."""
    try:
        payload = lorafield_codec.encode("config", data)
    except CodecError as e:
        raise LnsError("config not encodable: " + str(e)) from None
    return lorafield_codec.fport_of("config"), payload


def encode_mac(commands):
    return b"".join(maccmd.encode(cid, fields, False) for cid, fields in commands)


def power_for(frequency_hz, region=None):
    """Downlink TX power in dBm on ``frequency_hz`` in ``region`` (None: EU868)."""
    if region is not None and region.name != "EU868":
        return float(region.max_eirp)
    return RX2_POWER_DBM if RX2_BAND[0] <= frequency_hz < RX2_BAND[1] else RX1_POWER_DBM


def window_items(
    region,
    uplink_meta,
    up_dr,
    rx1_delay_s,
    rx1_dr_offset,
    rx2_dr,
    rx2_freq,
    windows=("RX1", "RX2"),
    rx1_freq=None,
    dwell=False,
):
    """The DownlinkItems for a reply to an uplink heard as ``uplink_meta`` at ``up_dr``.

    RX1: ``rx1_freq`` (default: the uplink frequency) at DR = the region's RX1 table
    [up_dr][offset] (with downlink dwell time on: ``dwell``, AS923/AU915), ``rx1_delay_s``
    after the end of the uplink; RX2: ``rx2_freq`` at ``rx2_dr``, one second later (1.0.4
    3.3.1, 3.3.2). A window whose DR is not a LoRa rate the downlink may use is left out.
    """
    items = []
    for window in windows:
        if window == "RX1":
            dr = region.rx1_dr(up_dr, rx1_dr_offset, dwell)
            freq = rx1_freq if rx1_freq is not None else uplink_meta.frequency_hz
            delay = rx1_delay_s * 1_000_000
        elif window == "RX2":
            dr = rx2_dr
            freq = rx2_freq
            delay = (rx1_delay_s + 1) * 1_000_000
        else:
            raise LnsError("window must be RX1 or RX2")
        if not region.lora_dr(dr) or region.max_payload(dr, 0, dwell) < 0:
            continue
        sf, bw = region.dr_params(dr)
        items.append(
            DownlinkItem(
                window=window,
                tmst_us=(uplink_meta.tmst_us + delay) & TMST_MASK,
                delay_us=delay,
                frequency_hz=freq,
                dr=dr,
                sf=sf,
                bw_hz=bw,
                power_dbm=power_for(freq, region),
            )
        )
    return tuple(items)


def max_app_payload(region, items, fopts_len, dwell=False):
    """The FRMPayload room in the smallest data rate among the items (RP002 2.x.6, the
    downlink dwell-time table with ``dwell``)."""
    return min(region.max_payload(item.dr, fopts_len, dwell) for item in items)


def _drop_last(mac):
    """Take the last command off ``mac``; a LinkADRReq takes its whole block with it (a
    device given part of a block would apply part of a channel mask)."""
    cid = mac.pop()[0]
    if cid == maccmd.LINK_ADR:
        while mac and mac[-1][0] == maccmd.LINK_ADR:
            mac.pop()


class BuiltDownlink:
    def __init__(self, phy, fcnt_down, queued, mac, confirmed, fpending, deferred=None, items=None):
        self.deferred = deferred  # (ref, room) when the queue head was too long for now
        self.items = items  # the windows that carry this frame (None: all that were offered)
        self.phy = phy
        self.fcnt_down = fcnt_down
        self.queued = queued  # the QueuedDownlink sent, or None
        self.mac = mac  # the (cid, fields) sent
        self.confirmed = confirmed
        self.fpending = fpending


def build_downlink(session, queue, items, region, *, ack=False, mac=()):
    """Build the next downlink for ``session``: MAC commands in FOpts (or FPort 0 when they do
    not fit there and no application data waits), the head of ``queue`` when it fits, ACK
    and FPending. Consumes one FCntDown; the caller decides whether a downlink is due."""
    mac = list(mac)
    dwell = session.downlink_dwell
    fopts = encode_mac(mac)
    fport = None
    payload = b""
    queued = None
    if len(fopts) > FOPTS_MAX:
        # Too long for FOpts: send them alone on FPort 0 (encrypted with NwkSKey, 4.3.1.6)
        # and leave the application queue for the next downlink.
        fport, payload, fopts = 0, fopts, b""
        room = max_app_payload(region, items, 0, dwell)
        while len(payload) > room and mac:
            _drop_last(mac)
            payload = encode_mac(mac)
    deferred = None
    carriers = None
    if queue and fport is None:
        need = len(queue[0].payload)
        # The windows whose data rate carries the head: RX1 at a fast rate often does where
        # RX2 at DR0 does not (EU868: 222 and 51 bytes); the frame is then offered in those.
        carriers = tuple(i for i in items if region.max_payload(i.dr, len(fopts), dwell) >= need)
        if carriers:
            queued = queue[0]
            fport, payload = queued.fport, queued.payload
        else:
            # Too long for every window at this data rate: it waits for a faster one (ADR),
            # unannounced (FPending would only make the device send sooner, to no avail).
            deferred = (queue[0].ref, max_app_payload(region, items, len(fopts), dwell))
            carriers = None
    # FPending: more that a next downlink can carry (not a head waiting for a faster rate)
    fpending = len(queue) > 1 if queued is not None else bool(queue) and deferred is None
    confirmed = queued is not None and queued.confirmed
    fctrl = (FCTRL_ACK if ack else 0) | (FCTRL_FPENDING if fpending else 0)
    fcnt = session.fcnt_down
    phy = build_data(
        session.crypto,
        CONFIRMED_DOWN if confirmed else UNCONFIRMED_DOWN,
        session.dev_addr,
        fcnt,
        fctrl,
        fopts,
        fport,
        payload,
    )
    session.fcnt_down = fcnt + 1
    return BuiltDownlink(phy, fcnt, queued, mac, confirmed, fpending, deferred, carriers)
