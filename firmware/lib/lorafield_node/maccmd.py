"""LoRaWAN 1.0.4 MAC commands (section 5): encode and parse, both directions.

A command is ``(cid, fields)``, ``fields`` a tuple of ints/bools in the order listed below
("up" = sent by the device, "down" = sent by the network). Frequencies are in Hz (the air
format is 24 bits in units of 100 Hz, RP002 / section 5.6).

  0x02 LinkCheckReq up ()                    LinkCheckAns down (margin_db, gw_cnt)
  0x03 LinkADRAns up (power_ack, data_rate_ack, ch_mask_ack)
       LinkADRReq down (data_rate, tx_power, ch_mask, ch_mask_cntl, nb_trans)
  0x04 DutyCycleAns up ()                    DutyCycleReq down (max_dcycle,)
  0x05 RXParamSetupAns up (rx1_dr_offset_ack, rx2_dr_ack, channel_ack)
       RXParamSetupReq down (rx1_dr_offset, rx2_dr, frequency)
  0x06 DevStatusAns up (battery, margin)     DevStatusReq down ()
       battery: 0 external power, 1..254 level, 255 unknown; margin: SNR dB, -32..31
  0x07 NewChannelAns up (dr_range_ok, frequency_ok)
       NewChannelReq down (ch_index, frequency, min_dr, max_dr)
  0x08 RXTimingSetupAns up ()                RXTimingSetupReq down (delay,)
  0x09 TxParamSetupAns up ()                 TxParamSetupReq down (downlink_dwell,
                                                 uplink_dwell, max_eirp)
  0x0A DlChannelAns up (uplink_frequency_exists, frequency_ok)
       DlChannelReq down (ch_index, frequency)
  0x0D DeviceTimeReq up ()                   DeviceTimeAns down (gps_seconds, fraction_256)

The parser stops at the first unknown CID (section 5: the rest of the list cannot be framed)
and at a truncated command, raising ``MacCommandError``; with ``iter_commands`` the caller has
already acted on the commands before it, and ``parse_commands`` puts them in ``error.parsed``.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


LINK_CHECK = const(0x02)
LINK_ADR = const(0x03)
DUTY_CYCLE = const(0x04)
RX_PARAM_SETUP = const(0x05)
DEV_STATUS = const(0x06)
NEW_CHANNEL = const(0x07)
RX_TIMING_SETUP = const(0x08)
TX_PARAM_SETUP = const(0x09)
DL_CHANNEL = const(0x0A)
DEVICE_TIME = const(0x0D)
# Answers repeated in every uplink until a downlink arrives (1.0.4 section 5).
STICKY = (RX_PARAM_SETUP, RX_TIMING_SETUP, DL_CHANNEL)

# Payload length (bytes after the CID) per CID 0x00..0x0D; -1 = not a LoRaWAN 1.0.4 command.
_LEN_UP = b"\xff\xff\x00\x01\x00\x01\x02\x01\x00\x00\x01\xff\xff\x00"
_LEN_DOWN = b"\xff\xff\x02\x04\x01\x04\x00\x05\x01\x01\x04\xff\xff\x05"


class MacCommandError(ValueError):
    """Unknown CID, truncated command or unencodable field; ``parsed`` holds the commands
    decoded before the problem (parse_commands only)."""

    def __init__(self, reason, parsed=()):
        super().__init__(reason)
        self.reason = reason
        self.parsed = parsed


def payload_len(cid, uplink):
    """Bytes after the CID for a known command, else -1."""
    table = _LEN_UP if uplink else _LEN_DOWN
    if not 0 <= cid < len(table) or table[cid] == 0xFF:
        return -1
    return table[cid]


def _freq(b, off):
    return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16)) * 100


def _bit(v, n):
    return bool((v >> n) & 1)


def _decode(cid, b, p, uplink):
    # b[p:] holds at least payload_len(cid, uplink) bytes.
    if uplink:
        if cid == LINK_ADR:
            s = b[p]
            return (_bit(s, 2), _bit(s, 1), _bit(s, 0))
        if cid == RX_PARAM_SETUP:
            s = b[p]
            return (_bit(s, 2), _bit(s, 1), _bit(s, 0))
        if cid == DEV_STATUS:
            m = b[p + 1] & 0x3F
            return (b[p], m - 64 if m & 0x20 else m)
        if cid in (NEW_CHANNEL, DL_CHANNEL):
            s = b[p]
            return (_bit(s, 1), _bit(s, 0))
        return ()
    if cid == LINK_CHECK:
        return (b[p], b[p + 1])
    if cid == LINK_ADR:
        r = b[p + 3]
        return (b[p] >> 4, b[p] & 0x0F, b[p + 1] | (b[p + 2] << 8), (r >> 4) & 0x07, r & 0x0F)
    if cid in (DUTY_CYCLE, RX_TIMING_SETUP):
        return (b[p] & 0x0F,)
    if cid == RX_PARAM_SETUP:
        return ((b[p] >> 4) & 0x07, b[p] & 0x0F, _freq(b, p + 1))
    if cid == NEW_CHANNEL:
        return (b[p], _freq(b, p + 1), b[p + 4] & 0x0F, b[p + 4] >> 4)
    if cid == TX_PARAM_SETUP:
        return (_bit(b[p], 5), _bit(b[p], 4), b[p] & 0x0F)
    if cid == DL_CHANNEL:
        return (b[p], _freq(b, p + 1))
    if cid == DEVICE_TIME:
        s = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)
        return (s, b[p + 4])
    return ()  # DevStatusReq


def iter_commands(data, uplink):
    """Yield ``(cid, fields)`` for each command in ``data`` (FOpts or an FPort 0 payload).

    ``uplink`` is True for commands sent by the device. Raises MacCommandError at the first
    unknown CID or truncated command, after yielding the ones before it.
    """
    n = len(data)
    p = 0
    while p < n:
        cid = data[p]
        ln = payload_len(cid, uplink)
        if ln < 0:
            raise MacCommandError("unknown CID 0x%02x" % cid)
        if p + 1 + ln > n:
            raise MacCommandError("truncated command CID 0x%02x" % cid)
        yield cid, _decode(cid, data, p + 1, uplink)
        p += 1 + ln


def parse_commands(data, uplink):
    """All commands in ``data`` as a list; on error the good prefix is in ``error.parsed``."""
    out = []
    try:
        for item in iter_commands(data, uplink):
            out.append(item)
    except MacCommandError as e:
        raise MacCommandError(e.reason, tuple(out)) from None
    return out


def _check(ok, what):
    if not ok:
        raise MacCommandError(what + " out of range")


def _u(v, hi, what):
    _check(0 <= v <= hi, what)
    return v


def _put_freq(buf, p, f):
    _check(f % 100 == 0 and 0 <= f // 100 <= 0xFFFFFF, "frequency")
    f //= 100
    buf[p] = f & 0xFF
    buf[p + 1] = (f >> 8) & 0xFF
    buf[p + 2] = (f >> 16) & 0xFF


def _bits(*flags):
    v = 0
    for f in flags:
        v = (v << 1) | (1 if f else 0)
    return v


def encode_into(buf, p, cid, fields, uplink):
    """Write command ``(cid, fields)`` at ``buf[p]``; return the offset after it."""
    ln = payload_len(cid, uplink)
    if ln < 0:
        raise MacCommandError("unknown CID 0x%02x" % cid)
    if p + 1 + ln > len(buf):
        raise MacCommandError("buffer too small")
    if len(fields) != _arity(cid, uplink):
        raise MacCommandError("wrong number of fields for CID 0x%02x" % cid)
    buf[p] = cid
    q = p + 1
    f = fields
    if uplink:
        if cid in (LINK_ADR, RX_PARAM_SETUP):
            buf[q] = _bits(f[0], f[1], f[2])
        elif cid == DEV_STATUS:
            buf[q] = _u(f[0], 255, "battery")
            _check(-32 <= f[1] <= 31, "margin")
            buf[q + 1] = f[1] & 0x3F
        elif cid in (NEW_CHANNEL, DL_CHANNEL):
            buf[q] = _bits(f[0], f[1])
    elif cid == LINK_CHECK:
        buf[q] = _u(f[0], 255, "margin")
        buf[q + 1] = _u(f[1], 255, "gateway count")
    elif cid == LINK_ADR:
        buf[q] = (_u(f[0], 15, "data rate") << 4) | _u(f[1], 15, "TX power")
        m = _u(f[2], 0xFFFF, "ChMask")
        buf[q + 1] = m & 0xFF
        buf[q + 2] = m >> 8
        buf[q + 3] = (_u(f[3], 7, "ChMaskCntl") << 4) | _u(f[4], 15, "NbTrans")
    elif cid in (DUTY_CYCLE, RX_TIMING_SETUP):
        buf[q] = _u(f[0], 15, "value")
    elif cid == RX_PARAM_SETUP:
        buf[q] = (_u(f[0], 7, "RX1DROffset") << 4) | _u(f[1], 15, "RX2DataRate")
        _put_freq(buf, q + 1, f[2])
    elif cid == NEW_CHANNEL:
        buf[q] = _u(f[0], 255, "ChIndex")
        _put_freq(buf, q + 1, f[1])
        buf[q + 4] = (_u(f[3], 15, "MaxDR") << 4) | _u(f[2], 15, "MinDR")
    elif cid == TX_PARAM_SETUP:
        buf[q] = (_bits(f[0], f[1]) << 4) | _u(f[2], 15, "MaxEIRP")
    elif cid == DL_CHANNEL:
        buf[q] = _u(f[0], 255, "ChIndex")
        _put_freq(buf, q + 1, f[1])
    elif cid == DEVICE_TIME:
        s = _u(f[0], 0xFFFFFFFF, "seconds")
        for i in range(4):
            buf[q + i] = (s >> (8 * i)) & 0xFF
        buf[q + 4] = _u(f[1], 255, "fraction")
    return q + ln


def encode(cid, fields, uplink):
    """One command as new bytes."""
    ln = payload_len(cid, uplink)
    if ln < 0:
        raise MacCommandError("unknown CID 0x%02x" % cid)
    buf = bytearray(1 + ln)
    encode_into(buf, 0, cid, fields, uplink)
    return bytes(buf)


# Number of fields per CID 0x00..0x0D (same index as the length tables).
_ARITY_UP = b"\x00\x00\x00\x03\x00\x03\x02\x02\x00\x00\x02\x00\x00\x00"
_ARITY_DOWN = b"\x00\x00\x02\x05\x01\x03\x00\x04\x01\x03\x02\x00\x00\x02"


def _arity(cid, uplink):
    return (_ARITY_UP if uplink else _ARITY_DOWN)[cid]
