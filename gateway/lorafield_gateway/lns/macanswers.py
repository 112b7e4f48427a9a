"""Network side of the MAC commands (LoRaWAN 1.0.4 section 5): answers to the device's
requests, handling of its answers, and a simple ADR.

``handle_commands`` returns what to do; ``Session.mac_pending`` collects the commands for the
next downlink, ``Session.mac_awaiting`` remembers requests the device has not answered yet.
"""

import math

from lorafield_node import maccmd
from lorafield_node.region import DR_KEEP, MAX_EIRP_TABLE, TX_POWER_KEEP

from .channelplan import adr_top_dr, apply_link_adr, link_adr_block

# Demodulator SNR floor per SF at 125 kHz (SX1276 datasheet rev. 7, table 13; the same
# figures ChirpStack's ADR uses).
REQUIRED_SNR_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
INSTALLATION_MARGIN_DB = 10.0  # ADR keeps this much above the floor (ChirpStack default)
ADR_STEP_DB = 3.0  # one DR step or one TXPower step (2 dB in EU868) per 3 dB of margin
# GPS epoch 1980-01-06T00:00:00Z in Unix seconds; GPS time ignores leap seconds, so it runs
# ahead of UTC by the leap seconds since then (18 since 2017-01-01, none announced after).
GPS_EPOCH_UNIX_S = 315_964_800
GPS_LEAP_SECONDS = 18

# Answers that the device repeats in every uplink until it receives a downlink (1.0.4 5.4,
# 5.7, 5.9): the network must send one, even empty, to stop them.
STICKY_ANSWERS = (maccmd.RX_PARAM_SETUP, maccmd.RX_TIMING_SETUP, maccmd.DL_CHANNEL)


def required_snr_db(sf):
    return REQUIRED_SNR_DB[sf]


def link_margin_db(snr_db, sf):
    """dB above the demodulation floor of ``sf``."""
    return snr_db - REQUIRED_SNR_DB[sf]


def link_check_answer(metas, sf):
    """LinkCheckAns fields (1.0.4 5.2): margin of the best copy in whole dB (0..254, floor)
    and the number of gateways that received the frame."""
    best = max(m.snr_db for m in metas)
    margin = int(math.floor(link_margin_db(best, sf)))
    margin = max(0, min(254, margin))
    gateways = len({m.gateway_id for m in metas})
    return margin, min(gateways, 255)


def gps_time(time_us):
    """(whole GPS seconds mod 2^32, fraction in 1/256 s) of a Unix time in µs (1.0.4 5.9)."""
    gps_us = time_us - GPS_EPOCH_UNIX_S * 1_000_000 + GPS_LEAP_SECONDS * 1_000_000
    if gps_us < 0:
        raise ValueError("time before the GPS epoch")
    seconds, rest = divmod(gps_us, 1_000_000)
    return seconds & 0xFFFFFFFF, (rest * 256) // 1_000_000


class MacOutcome:
    """What the commands of one uplink asked for."""

    def __init__(self):
        self.answers = []  # (cid, fields) downlink commands to send
        self.events = []  # (kind, reason or None, detail dict)
        self.need_downlink = False  # a sticky answer arrived: send a downlink even if empty


def handle_commands(session, commands, metas, sf, uplink_end_time_us, region):
    """Act on the device's commands (``(cid, fields)`` from maccmd.parse_commands, uplink).

    Every uplink command of LoRaWAN 1.0.4 is answered (LinkCheckReq, DeviceTimeReq) or taken
    as the answer to the request the server sent; consecutive LinkADRAns answer one block of
    LinkADRReq together, one answer per request (1.0.4 5.3)."""
    out = MacOutcome()
    adr_answers = []
    for index, (cid, fields) in enumerate(commands):
        if cid == maccmd.LINK_ADR:
            adr_answers.append(fields)
            following = commands[index + 1][0] if index + 1 < len(commands) else None
            if following != maccmd.LINK_ADR:
                _link_adr_answer(session, adr_answers, out, region)
                adr_answers = []
        elif cid == maccmd.LINK_CHECK:
            out.answers.append((maccmd.LINK_CHECK, link_check_answer(metas, sf)))
        elif cid == maccmd.DEVICE_TIME:
            out.answers.append((maccmd.DEVICE_TIME, gps_time(uplink_end_time_us)))
        elif cid == maccmd.DEV_STATUS:
            battery, margin = fields
            session.dev_status = (battery, margin)
            session.mac_awaiting.pop(maccmd.DEV_STATUS, None)
            out.events.append(("dev_status", None, {"battery": battery, "margin": margin}))
        elif cid == maccmd.RX_PARAM_SETUP:
            req = session.mac_awaiting.pop(maccmd.RX_PARAM_SETUP, None)
            if req is not None and all(fields):
                session.rx1_dr_offset, session.rx2_dr, session.rx2_frequency_hz = req
            _ack_event(out, "RXParamSetup", fields, req)
            out.need_downlink = True
        elif cid == maccmd.RX_TIMING_SETUP:
            req = session.mac_awaiting.pop(maccmd.RX_TIMING_SETUP, None)
            if req is not None:
                session.rx1_delay_s = req[0] or 1
            _ack_event(out, "RXTimingSetup", (True,), req)
            out.need_downlink = True
        elif cid == maccmd.DL_CHANNEL:
            req = session.mac_awaiting.pop(maccmd.DL_CHANNEL, None)
            if req is not None and all(fields):
                session.dl_frequencies[req[0]] = req[1]
            _ack_event(out, "DlChannel", fields, req)
            out.need_downlink = True
        elif cid == maccmd.NEW_CHANNEL:
            req = session.mac_awaiting.pop(maccmd.NEW_CHANNEL, None)
            if req is not None and all(fields) and req[0] < len(session.channels_hz):
                session.channels_hz[req[0]] = req[1]
                if not req[1]:
                    session.dl_frequencies.pop(req[0], None)
            _ack_event(out, "NewChannel", fields, req)
        elif cid == maccmd.DUTY_CYCLE:
            req = session.mac_awaiting.pop(maccmd.DUTY_CYCLE, None)
            if req is not None:
                session.max_duty_cycle = req[0]
            _ack_event(out, "DutyCycle", (True,), req)
        elif cid == maccmd.TX_PARAM_SETUP:
            # No status in the answer: the device applied it (RP002 AS923 2.10.9, AU915 2.8.9).
            req = session.mac_awaiting.pop(maccmd.TX_PARAM_SETUP, None)
            if req is not None:
                session.downlink_dwell, session.uplink_dwell = bool(req[0]), bool(req[1])
                session.max_eirp = MAX_EIRP_TABLE[req[2]]
            _ack_event(out, "TxParamSetup", (True,), req)
    return out


def _ack_event(out, name, acks, req):
    ok = all(acks)
    if req is None:
        out.events.append(("mac_unsolicited", name, {}))
    elif not ok:
        out.events.append(
            ("mac_rejected", name, {"acks": "".join("1" if a else "0" for a in acks)})
        )


def awaiting_link_adr(session):
    """The LinkADRReq block the device has not answered yet, as a tuple of fields tuples
    (sessions stored before blocks existed hold one fields tuple), or None."""
    req = session.mac_awaiting.get(maccmd.LINK_ADR)
    if req is None:
        return None
    return (req,) if isinstance(req[0], int) else tuple(req)


def _link_adr_answer(session, answers, out, region):
    """LinkADRAns ``answers`` (one per request of the block, each (power, DR, mask) ACK):
    all or nothing, as the device applies a block (1.0.4 5.3)."""
    block = awaiting_link_adr(session)
    session.mac_awaiting.pop(maccmd.LINK_ADR, None)
    if block is None:
        out.events.append(("mac_unsolicited", "LinkADR", {}))
        return
    if len(answers) != len(block):
        reason = f"LinkADR: {len(answers)} answer(s) to a block of {len(block)}"
        out.events.append(("mac_error", reason, {}))
    if all(all(acks) for acks in answers):
        dr, power, _mask, _cntl, nb_trans = block[-1]
        if dr != DR_KEEP:
            session.dr = dr
        if power != TX_POWER_KEEP:
            session.tx_power = power
        session.nb_trans = nb_trans or 1  # NbTrans 0: the default, 1 (1.0.4 5.3)
        if region.fixed:
            session.enabled_mask = apply_link_adr(session.enabled_mask, block)
            session.mask_rejected = False
        # SNRs measured at the old power/DR no longer describe the link: start over (as
        # ChirpStack does), else every uplink would take off more power on stale figures.
        session.snr_history.clear()
        out.events.append(("adr", None, {"dr": session.dr, "tx_power": session.tx_power}))
    else:
        # The answers of a block carry the same bits; report which were refused.
        acks = "".join("1" if all(a[i] for a in answers) else "0" for i in range(3))
        if region.fixed and not all(a[2] for a in answers):
            session.mask_rejected = True
        out.events.append(("mac_rejected", "LinkADR", {"acks": acks}))


def adr_request(session, region, max_dr=None, wanted_mask=None):
    """A LinkADRReq block ``[(cid, fields), ...]`` from the SNR margin of the recent uplinks,
    or None.

    Needs a full history (``session.snr_history``); margin = best SNR - floor of the current
    SF - installation margin; every 3 dB of it buys one DR step up to ``max_dr`` (default the
    region's fastest 125 kHz rate, ``channelplan.adr_top_dr``), then one TXPower step down
    (2 dB in most regions); a negative margin raises the power back first (as in Semtech's
    reference ADR, which ChirpStack's default algorithm follows). Dynamic plans send one
    command with every defined channel on (ChMaskCntl 0); fixed plans a block that leaves the
    device on ``wanted_mask`` (``channelplan.link_adr_block``).
    """
    hist = session.snr_history
    if session.dr is None or len(hist) < hist.maxlen:
        return None
    if maccmd.LINK_ADR in session.mac_awaiting:
        return None
    if not region.lora_dr(session.dr):
        return None
    sf, bw = region.dr_params(session.dr)
    if bw != 125_000 or sf not in REQUIRED_SNR_DB:
        return None
    top = adr_top_dr(region) if max_dr is None else min(max_dr, adr_top_dr(region))
    margin = max(hist) - REQUIRED_SNR_DB[sf] - INSTALLATION_MARGIN_DB
    steps = int(math.floor(margin / ADR_STEP_DB))
    dr, power = session.dr, session.tx_power
    while steps > 0 and dr < top:
        dr += 1
        steps -= 1
    while steps > 0 and power < region.max_tx_power:
        power += 1
        steps -= 1
    while steps < 0 and power > 0:
        power -= 1
        steps += 1
    if dr == session.dr and power == session.tx_power:
        return None
    return link_adr_commands(session, region, dr, power, session.nb_trans, wanted_mask)


def link_adr_commands(session, region, dr, power, nb_trans, wanted_mask=None):
    """``[(LINK_ADR, fields), ...]``: one command (dynamic plans: ChMask of the defined
    channels, ChMaskCntl 0) or a fixed plan's block towards ``wanted_mask`` (None: keep the
    mask the device is known to use, else all 72 channels)."""
    if not region.fixed:
        return [(maccmd.LINK_ADR, (dr, power, session.ch_mask(), 0, nb_trans))]
    wanted = wanted_mask
    if wanted is None:
        wanted = session.enabled_mask if session.enabled_mask is not None else (1 << 72) - 1
    block = link_adr_block(region, session.enabled_mask, wanted, dr, power, nb_trans)
    return [(maccmd.LINK_ADR, fields) for fields in block]


def channel_mask_request(session, region, wanted_mask):
    """The LinkADRReq block that brings a fixed-plan device onto ``wanted_mask`` when it is
    not known to be on it (after a join with a CFList, an ABP start, a mask changed by hand),
    with the DR, power and NbTrans the server believes it uses (so a device with ADR off,
    which keeps those, still acknowledges them); None when in step, when a request is out,
    or after the device refused the mask (not asked again until it joins again)."""
    if not region.fixed or wanted_mask is None or session.dr is None:
        return None
    if session.enabled_mask == wanted_mask or session.mask_rejected:
        return None
    if maccmd.LINK_ADR in session.mac_awaiting:
        return None
    if any(c[0] == maccmd.LINK_ADR for c in session.mac_pending):
        return None
    return link_adr_commands(
        session, region, session.dr, session.tx_power, session.nb_trans, wanted_mask
    )
