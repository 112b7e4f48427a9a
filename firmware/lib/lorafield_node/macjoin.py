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
from .region import FSK
from .session import MAX_CHANNELS, OTAA


def join_dr(mac):
    """``Mac.join_dr()``: attempts alternate between the fastest default data rate and, in
    turn, each slower one (EU868: DR5 DR4 DR5 DR3 DR5 DR2 DR5 DR1 DR5 DR0, then again), so a
    node out of reach at SF7 finds the rate that reaches a gateway within ten attempts while
    half of them cost the least airtime (LoRaWAN 1.0.4 section 7: join on a random default
    channel at varying data rates). The attempt number is the persisted DevNonce, so the
    sequence goes on across boots."""
    r = mac.region
    hi = r.default_dr_max
    span = hi - r.default_dr_min
    n = mac.session.dev_nonce
    if n % 2 == 0 or span <= 0:
        return hi
    return hi - 1 - (n // 2) % span


def pick_frequency(mac):
    """A random default channel that may send now (joins use only those, RP002 2.4.2);
    raises DutyCycleWait with the shortest wait."""
    chans = mac.region.default_channels
    cands = mac._cands
    count = 0
    best = -1
    for i in range(len(chans)):
        wait = mac.duty.wait_ms(chans[i], True)
        if wait == 0:
            cands[count] = chans[i]
            count += 1
        elif wait > 0 and (best < 0 or wait < best):
            best = wait
    if count:
        return cands[mac._random(count)]
    raise DutyCycleWait(best)


def join(mac, dr=None):
    """``Mac.join()``: one Join-request and both join windows; True when joined."""
    if mac._app_aes is None or mac._dev_eui is None or mac._join_eui is None:
        raise MacError("OTAA needs dev_eui, join_eui and app_key")
    r = mac.region
    if dr is None:
        dr = join_dr(mac)
    if not 0 <= dr <= r.default_dr_max:
        raise MacError("join data rate outside the default channels' range")
    freq = pick_frequency(mac)
    nonce = mac.session.take_dev_nonce()
    req = build_join_request(mac._app_aes, mac._join_eui, mac._dev_eui, nonce)
    n = len(req)
    mac._tx[:n] = req
    mac.stats.join_attempts += 1
    tx_end = mac._send_frame(n, freq, dr, r.default_tx_power, True)
    d1 = 5000000  # JOIN_ACCEPT_DELAY1, 1.0.4 section 6 table 17
    got = mac._window(tx_end, d1, freq, dr)
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
    if r.rx1_dr(0, ja.rx1_dr_offset) >= 0:
        s.rx1_dr_offset = ja.rx1_dr_offset
    if r.valid_dr(ja.rx2_dr) and r.dr_sf[ja.rx2_dr] != FSK:
        s.rx2_dr = ja.rx2_dr
    s.rx1_delay = ja.rx1_delay
    s.dr = dr
    if ja.cflist_type == 0:
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
