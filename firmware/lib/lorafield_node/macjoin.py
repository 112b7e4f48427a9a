"""The MAC's over-the-air activation (LoRaWAN 1.0.4 sections 6.2 and 7; RP002 2.4.2):
choosing the join channel and data rate, one Join-request and its two join windows, and
taking the Join-accept's settings into the session.

Split from ``mac.py``: only a joining boot loads it (with ``join``, the frames), a joined
node's ordinary boot never does (a module loaded from flash costs heap on the device:
firmware/boards/README.md, Heap). Every function takes the ``Mac`` it works for.
"""

from .join import build_join_request, derive_session_keys, open_join_accept
from .mac import DutyCycleWait, MacError
from .phy import FrameError, SessionCrypto
from .session import MAX_CHANNELS, OTAA


def join_dr(mac):
    """``Mac.join_dr()``: the data rate of the next attempt (``join_channels``). The attempt
    number is the persisted DevNonce, so the sequence goes on across boots."""
    return join_channels(mac.region, mac.session.dev_nonce)[1]


def join_channels(r, attempt):
    """(bit mask of the channels join attempt ``attempt`` may use, its DR).

    Dynamic plans: the enabled default channels (RP002 2.x.2); the DR alternates between the
    fastest default rate and, in turn, each slower one (EU868: DR5 DR4 DR5 DR3 DR5 DR2 DR5
    DR1 DR5 DR0, then again), so a node out of reach at SF7 finds the rate that reaches a
    gateway within ten attempts while half of them cost the least airtime (LoRaWAN 1.0.4
    section 7). Uplink dwell time on (AS923, AU915) starts the range at DR2.
    Fixed plans (US915, AU915): eight attempts on 125 kHz at the slowest rate, each in the
    next sub-band that has an enabled channel, then one on a 500 kHz channel (2.5.2: a
    device finds a network whose gateways hear any one sub-band within nine attempts; the
    order LoRaMac-node and LoRa Basics Modem follow)."""
    mask = r.default_mask()
    lo = r.default_dr_min
    if r.uplink_dwell and r.dwell_dr_min > lo:
        lo = r.dwell_dr_min
    if not r.fixed:
        hi = r.default_dr_max
        span = hi - lo
        if attempt % 2 == 0 or span <= 0:
            return mask, hi
        return mask, hi - 1 - (attempt // 2) % span
    wide = (mask >> 64) & 0xFF
    if attempt % 9 == 8 and wide:
        return wide << 64, r.dr500
    bands = []
    for k in range(8):
        if (mask >> (8 * k)) & 0xFF:
            bands.append(k)
    if not bands:
        return wide << 64, r.dr500
    k = bands[(attempt - attempt // 9) % len(bands)]
    return mask & (0xFF << (8 * k)), lo


def pick_channel(mac, dr=None):
    """(uplink frequency, RX1 frequency, DR) of the next Join-request: a random channel
    among those the region allows for this attempt (RP002 2.x.2: default channels;
    US915/AU915: the next sub-band) that may send now; raises DutyCycleWait with the
    shortest wait."""
    r = mac.region
    mask, join_dr_ = join_channels(r, mac.session.dev_nonce)
    cands = mac._cands
    count = 0
    best = -1
    fixed = r.fixed
    for i in range(r.max_channels if fixed else len(r.default_channels)):
        if not (mask >> i) & 1:
            continue
        f = r.channel(i)[0] if fixed else r.default_channels[i]
        wait = mac.duty.wait_ms(f, True)
        if wait == 0:
            cands[count] = i
            count += 1
        elif wait > 0 and (best < 0 or wait < best):
            best = wait
    if count:
        i = cands[mac._random(count)]
        f = r.channel(i)[0] if fixed else r.default_channels[i]
        return f, r.rx1_frequency(i, f), join_dr_ if dr is None else dr
    raise DutyCycleWait(best)


def join(mac, dr=None):
    """``Mac.join()``: one Join-request and both join windows; True when joined."""
    if mac._app_aes is None or mac._dev_eui is None or mac._join_eui is None:
        raise MacError("OTAA needs dev_eui, join_eui and app_key")
    r = mac.region
    if dr is not None and not r.uplink_dr(dr, mac.session.uplink_dwell):
        raise MacError("join data rate not usable for uplinks in this region")
    freq, rx1, dr = pick_channel(mac, dr)
    nonce = mac.session.take_dev_nonce()
    req = build_join_request(mac._app_aes, mac._join_eui, mac._dev_eui, nonce)
    n = len(req)
    mac._tx[:n] = req
    mac.stats.join_attempts += 1
    tx_end = mac._send_frame(n, freq, dr, r.default_tx_power, True)
    d1 = 5000000  # JOIN_ACCEPT_DELAY1, 1.0.4 section 6 table 17
    got = mac._window(tx_end, d1, rx1, r.rx1_dr(dr, 0, mac.session.downlink_dwell))
    if got and _accept(mac, got, nonce, dr):
        return True
    got = mac._window(tx_end, d1 + 1000000, r.rx2_frequency, r.rx2_dr)
    return bool(got) and _accept(mac, got, nonce, dr)


def _accept(mac, length, nonce, dr):
    try:
        ja = open_join_accept(bytes(memoryview(mac.radio.rx_buffer)[:length]), mac._app_aes)
    except FrameError:
        mac.stats.dropped_mic += 1
        return False
    nwk, app = derive_session_keys(mac._app_aes, ja.join_nonce, ja.net_id, nonce)
    s = mac.session
    r = mac.region
    s.reset_settings()
    if r.rx1_dr(dr, ja.rx1_dr_offset) >= 0:
        s.rx1_dr_offset = ja.rx1_dr_offset
    if r.lora_dr(ja.rx2_dr):
        s.rx2_dr = ja.rx2_dr
    s.rx1_delay = ja.rx1_delay
    s.dr = dr
    if ja.cflist_type == 1 and r.fixed:
        # RP002 2.5.4 / 2.8.4: ChMask0..4 over channels 0..79 (72 used) replace the mask;
        # a mask the device could not use (no channel for the join's DR) is ignored.
        m = 0
        for i in range(5):
            m |= ja.channels[i] << (16 * i)
        m &= (1 << 72) - 1
        if r.mask_usable(m, dr) or r.mask_usable(m, r.dr125[0]):
            s.ch_mask = m
            if not (m >> 64) and dr == r.dr500:
                s.dr = r.default_dr_min  # joined on 500 kHz, which the mask turned off
    elif ja.cflist_type == 0 and not r.fixed:
        base = len(r.default_channels)
        for i in range(len(ja.channels)):
            f = ja.channels[i]
            if f and base + i < MAX_CHANNELS and r.valid_frequency(f) and r.subband(f) >= 0:
                s.ch_freq[base + i] = f
                s.ch_dl[base + i] = f
                s.ch_drange[base + i] = r.default_dr_min | (r.default_dr_max << 4)
                s.ch_mask |= 1 << (base + i)
    s.start(OTAA, ja.dev_addr, nwk, app)
    mac._crypto = SessionCrypto(nwk, app, mac._backend)
    mac._new_session()
    return True
