"""Network side of the MAC commands (LoRaWAN 1.0.4 section 5): answers to the device's
requests, handling of its answers, and a simple ADR.

``handle_commands`` returns what to do; ``Session.mac_pending`` collects the commands for the
next downlink, ``Session.mac_awaiting`` remembers requests the device has not answered yet.
"""

import math

from lorafield_node import maccmd
from lorafield_node.region import TX_POWER_KEEP

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
    """Act on the device's commands (``(cid, fields)`` from maccmd.parse_commands, uplink)."""
    out = MacOutcome()
    for cid, fields in commands:
        if cid == maccmd.LINK_CHECK:
            out.answers.append((maccmd.LINK_CHECK, link_check_answer(metas, sf)))
        elif cid == maccmd.DEVICE_TIME:
            out.answers.append((maccmd.DEVICE_TIME, gps_time(uplink_end_time_us)))
        elif cid == maccmd.DEV_STATUS:
            battery, margin = fields
            session.dev_status = (battery, margin)
            session.mac_awaiting.pop(maccmd.DEV_STATUS, None)
            out.events.append(("dev_status", None, {"battery": battery, "margin": margin}))
        elif cid == maccmd.LINK_ADR:
            _link_adr_answer(session, fields, out, region)
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
            req = session.mac_awaiting.pop(maccmd.TX_PARAM_SETUP, None)
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


def _link_adr_answer(session, fields, out, region):
    req = session.mac_awaiting.pop(maccmd.LINK_ADR, None)
    if req is None:
        out.events.append(("mac_unsolicited", "LinkADR", {}))
        return
    power_ack, dr_ack, mask_ack = fields
    if power_ack and dr_ack and mask_ack:
        dr, power, _mask, _cntl, nb_trans = req
        if dr != 15:
            session.dr = dr
        if power != TX_POWER_KEEP:
            session.tx_power = power
        if nb_trans:
            session.nb_trans = nb_trans
        # SNRs measured at the old power/DR no longer describe the link: start over (as
        # ChirpStack does), else every uplink would take off more power on stale figures.
        session.snr_history.clear()
        out.events.append(("adr", None, {"dr": session.dr, "tx_power": session.tx_power}))
    else:
        acks = "".join("1" if a else "0" for a in fields)
        out.events.append(("mac_rejected", "LinkADR", {"acks": acks}))


def adr_request(session, region, max_dr=5):
    """A LinkADRReq ``(cid, fields)`` from the SNR margin of the recent uplinks, or None.

    Needs a full history (``session.snr_history``); margin = best SNR - floor of the current
    SF - installation margin; every 3 dB of it buys one DR step up to ``max_dr``, then one
    TXPower step down (2 dB in EU868); a negative margin raises the power back first
    (as in Semtech's reference ADR, which ChirpStack's default algorithm follows).
    """
    hist = session.snr_history
    if session.dr is None or len(hist) < hist.maxlen:
        return None
    if maccmd.LINK_ADR in session.mac_awaiting:
        return None
    sf, bw = region.dr_params(session.dr)
    if bw != 125_000 or sf not in REQUIRED_SNR_DB:
        return None
    margin = max(hist) - REQUIRED_SNR_DB[sf] - INSTALLATION_MARGIN_DB
    steps = int(math.floor(margin / ADR_STEP_DB))
    dr, power = session.dr, session.tx_power
    while steps > 0 and dr < max_dr:
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
    return maccmd.LINK_ADR, (dr, power, session.ch_mask(), 0, session.nb_trans)
