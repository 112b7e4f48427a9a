"""What the MAC does with a received data frame: authenticate it, act on its MAC commands and
hand its payload over (LoRaWAN 1.0.4 sections 4, 5; RP002 2.4).

Split from ``mac.py``: most boots of a joined node send one uplink and hear nothing in RX1 and
RX2, so this code (and ``phyrx``, ``maccmd``) is loaded only when a window actually received
a frame (a module loaded from flash costs heap on the device: firmware/boards/README.md, Heap).
Every function takes the ``Mac`` whose state it changes.
"""

from . import maccmd as mc
from .mac import Downlink
from .phy import CONFIRMED_DOWN, UNCONFIRMED_DOWN, FrameError
from .phyrx import check_mic, decrypt_payload, fcnt32_from16, parse_data
from .region import DR_KEEP, MAX_EIRP_TABLE, TX_POWER_KEEP


def receive(mac, length, window, result):
    """Authenticate and act on a received data frame (in ``mac.radio.rx_buffer[:length]``,
    heard in RX ``window``); True if it was ours and authentic."""
    s = mac.session
    stats = mac.stats
    raw = bytes(memoryview(mac.radio.rx_buffer)[:length])
    try:
        frame = parse_data(raw)
    except FrameError:
        stats.dropped_malformed += 1
        return False
    if frame.mtype != UNCONFIRMED_DOWN and frame.mtype != CONFIRMED_DOWN:
        stats.dropped_malformed += 1
        return False
    if frame.dev_addr != s.dev_addr:
        stats.dropped_addr += 1
        return False
    crypto = mac._crypto
    try:
        fcnt = fcnt32_from16(s.fcnt_down, frame.fcnt)
    except FrameError:
        stats.dropped_replay += 1
        return False
    if not check_mic(raw, crypto, fcnt):
        old = fcnt - 0x10000
        if 0 <= old < s.fcnt_down and check_mic(raw, crypto, old):
            stats.dropped_replay += 1  # authentic but already seen: a replay
        else:
            stats.dropped_mic += 1
        return False
    decrypt_payload(frame, crypto, fcnt)
    s.downlink_received(fcnt)
    stats.downlinks += 1
    if mac._sticky:
        mac._sticky = []
        mac._answers_dirty = True
    if frame.mtype == CONFIRMED_DOWN:
        mac._ack_pending = True
        mac._answers_dirty = True
    if frame.fport == 0:
        mac_commands(mac, frame.payload, result)
    elif frame.fopts:
        mac_commands(mac, frame.fopts, result)
    dl = Downlink(
        frame.fport,
        frame.payload if frame.fport else b"",
        fcnt,
        window,
        mac.radio.rssi,
        mac.radio.snr,
        frame.mtype == CONFIRMED_DOWN,
        frame.ack,
        frame.fpending,
    )
    result.downlink = dl
    result.fpending = frame.fpending
    mac._fpending = frame.fpending
    if frame.ack:
        result.acked = True
    if frame.fport and mac.on_downlink is not None:
        mac.on_downlink(dl)
    return True


# -- MAC commands (1.0.4 section 5, RP002 2.4) -------------------------------------------------
def mac_commands(mac, data, result):
    try:
        cmds = mc.parse_commands(data, False)
    except mc.MacCommandError as e:
        cmds = list(e.parsed)  # act on the commands before the unknown one (section 5)
    i = 0
    while i < len(cmds):
        cid, f = cmds[i]
        if cid == mc.LINK_ADR:
            j = i
            while j < len(cmds) and cmds[j][0] == mc.LINK_ADR:
                j += 1
            _link_adr(mac, cmds[i:j])
            i = j
            continue
        _command(mac, cid, f, result)
        i += 1


def _answer(mac, cid, fields):
    cmd = mc.encode(cid, fields, True)
    mac._answers_dirty = True
    if cid in mc.STICKY:
        mac._sticky.append(cmd)
    else:
        mac._once.append(cmd)


def _link_adr(mac, block):
    """A contiguous block of LinkADRReq (1.0.4 5.3): masks applied in order and checked once
    (RP002: US915 ChMaskCntl blocks), DR, power and NbTrans from the last; all or nothing; one
    LinkADRAns per request. With ADR off (the device's ADR bit unset) only the channel mask
    and NbTrans are taken: DR and TX power stay as they are and are what the ACK bits check.
    NbTrans 0 means the default, 1 (1.0.4 5.3)."""
    s = mac.session
    r = mac.region
    defined = s.defined_mask()
    mask = s.ch_mask
    ch_ok = True
    for _, f in block:
        new = _fixed_mask(mask, f[2], f[3]) if r.fixed else _dynamic_mask(f[2], f[3], defined)
        if new < 0:
            ch_ok = False
        else:
            mask = new
    dr, power, _, _, nb = block[-1][1]
    if dr == DR_KEEP or not s.adr:
        dr = s.dr
    if power == TX_POWER_KEEP or not s.adr:
        power = s.tx_power
    ch_ok = ch_ok and r.mask_usable(mask, dr)
    dr_ok = r.uplink_dr(dr, s.uplink_dwell) and _dr_on_mask(s, dr, mask)
    power_ok = r.tx_power_dbm(power) >= 0
    if ch_ok and dr_ok and power_ok:
        s.ch_mask = mask
        s.dr = dr
        s.tx_power = power
        s.nb_trans = nb or 1
        s.save()
    for _ in block:
        _answer(mac, mc.LINK_ADR, (power_ok, dr_ok, ch_ok))


def _dynamic_mask(ch_mask, ch_mask_cntl, defined):
    """Dynamic plans (RP002 2.4.5 and alike): ChMaskCntl 0 applies ChMask to channels 0..15,
    6 turns on every defined channel, anything else is RFU; a mask that enables an undefined
    channel is rejected."""
    if ch_mask_cntl == 0:
        return -1 if ch_mask & ~defined else ch_mask
    if ch_mask_cntl == 6:
        return defined
    return -1


def _fixed_mask(enabled, ch_mask, ch_mask_cntl):
    """US915/AU915 (RP002 2.5.5 / 2.8.5), one request of a block: ChMaskCntl 0..3 set
    channels 16c..16c+15, 4 channels 64..71; 5 enables sub-bands: bit k of ChMask's low byte
    turns the 8 channels of sub-band k+1 and 500 kHz channel 64+k on, a clear bit turns them
    off (high byte RFU); 6 turns every 125 kHz channel on and 7 every one off, ChMask then
    setting 64..71. The block's result is checked once (``Region.mask_usable``)."""
    if ch_mask_cntl <= 3:
        shift = 16 * ch_mask_cntl
        return (enabled & ~(0xFFFF << shift)) | (ch_mask << shift)
    if ch_mask_cntl == 4:
        return (enabled & ((1 << 64) - 1)) | ((ch_mask & 0xFF) << 64)
    if ch_mask_cntl == 5:
        if ch_mask & 0xFF00:
            return -1
        m = 0
        for k in range(8):
            if (ch_mask >> k) & 1:
                m |= (0xFF << (8 * k)) | (1 << (64 + k))
        return m
    wide = (ch_mask & 0xFF) << 64
    return ((1 << 64) - 1) | wide if ch_mask_cntl == 6 else wide


def _dr_on_mask(s, dr, mask):
    for i in range(len(s.ch_freq)):
        rng = s.ch_drange[i]
        if (mask >> i) & 1 and s.ch_freq[i] and (rng & 0x0F) <= dr <= (rng >> 4):
            return True
    return False


def _command(mac, cid, f, result):
    s = mac.session
    r = mac.region
    if cid == mc.LINK_CHECK:
        result.link_check = f
    elif cid == mc.DEVICE_TIME:
        result.device_time = f
    elif cid == mc.DUTY_CYCLE:
        s.max_dcycle = f[0]
        mac.duty.max_dcycle = f[0]
        s.save()
        _answer(mac, mc.DUTY_CYCLE, ())
    elif cid == mc.RX_PARAM_SETUP:
        off_ok = r.rx1_dr(s.dr, f[0], s.downlink_dwell) >= 0
        dr_ok = r.lora_dr(f[1])
        fr_ok = r.valid_rx_frequency(f[2])
        if off_ok and dr_ok and fr_ok:
            s.rx1_dr_offset, s.rx2_dr, s.rx2_freq = f
            s.save()
        _answer(mac, mc.RX_PARAM_SETUP, (off_ok, dr_ok, fr_ok))
    elif cid == mc.DEV_STATUS:
        margin = int(mac.radio.snr)
        margin = -32 if margin < -32 else (31 if margin > 31 else margin)
        _answer(mac, mc.DEV_STATUS, (battery_level(mac), margin))
    elif cid == mc.NEW_CHANNEL:
        _new_channel(mac, *f)
    elif cid == mc.RX_TIMING_SETUP:
        s.rx1_delay = f[0] or 1
        s.save()
        _answer(mac, mc.RX_TIMING_SETUP, ())
    elif cid == mc.DL_CHANNEL:
        if r.fixed:
            return  # not defined for fixed channel plans (RP002 2.5.8, 2.8.8): no answer
        idx, freq = f
        exists = idx < len(s.ch_freq) and s.ch_freq[idx] != 0
        fr_ok = r.valid_frequency(freq)
        if exists and fr_ok:
            s.ch_dl[idx] = freq
            s.save()
        _answer(mac, mc.DL_CHANNEL, (exists, fr_ok))
    elif cid == mc.TX_PARAM_SETUP and r.tx_param_setup:
        # Only where the region implements it (AS923, AU915); elsewhere (EU868 2.4.9, US915
        # 2.5.9, IN865, KR920) the command is ignored and not answered, as RP002 specifies.
        s.downlink_dwell, s.uplink_dwell = f[0], f[1]
        s.max_eirp = MAX_EIRP_TABLE[f[2]]
        if s.uplink_dwell and not r.uplink_dr(s.dr, True):
            s.dr = r.dwell_dr_min  # the current rate is not allowed with dwell time on
        s.save()
        _answer(mac, mc.TX_PARAM_SETUP, ())


def _new_channel(mac, idx, freq, min_dr, max_dr):
    s = mac.session
    r = mac.region
    if r.fixed:
        return  # fixed channel plans have no NewChannelReq (RP002 2.5.8, 2.8.8): no answer
    if idx < len(r.default_channels) or idx >= len(s.ch_freq):
        _answer(mac, mc.NEW_CHANNEL, (False, False))  # default channels are fixed
        return
    if freq == 0:  # deletes the channel (RP002 2.4.8)
        s.ch_freq[idx] = 0
        s.ch_dl[idx] = 0
        s.ch_drange[idx] = 0
        s.ch_mask &= ~(1 << idx)
        s.save()
        _answer(mac, mc.NEW_CHANNEL, (True, True))
        return
    fr_ok = r.valid_frequency(freq) and r.subband(freq) >= 0
    dr_ok = min_dr <= max_dr and r.valid_dr(max_dr)
    if fr_ok and dr_ok:
        s.ch_freq[idx] = freq
        s.ch_dl[idx] = freq
        s.ch_drange[idx] = min_dr | (max_dr << 4)
        s.ch_mask |= 1 << idx
        s.save()
    _answer(mac, mc.NEW_CHANNEL, (dr_ok, fr_ok))


def battery_level(mac):
    """DevStatusAns battery: 0 external power, 1..254 level, 255 unknown (1.0.4 5.5)."""
    if mac.battery is not None:
        return mac.battery()
    try:
        mv = mac._board.battery_mv()
    except (NotImplementedError, OSError):
        return 255
    if mv is None:
        return 255
    # Li-ion cell: 3.0 V empty .. 4.2 V full, linear (the board may pass its own curve).
    level = 1 + (mv - 3000) * 253 // 1200
    return 1 if level < 1 else (254 if level > 254 else level)
