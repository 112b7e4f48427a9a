"""The network server's side of a region's channel plan (LoRaWAN RP002-1.0.4).

One server serves one region: ``server_plan(name or region, sub_bands, channels)`` gives the
region object (the firmware's tables, ``lorafield_node.region``: one source for both sides)
and, for the fixed 64 + 8 channel plans (US915, AU915), the channel mask the server wants its
devices on -- the sub-bands its gateways listen on (FSB2: channels 8-15 and 65), or all 72
channels when none are named. The rest is the network's own logic, written from RP002 rather
than taken from the device's code, so that the tests can hold one against the other:

- ``channel_index``: which grid channel an uplink came on (from its frequency and bandwidth);
  its RX1 channel follows from it (2.5.7 / 2.8.7: downlink channel ``index mod 8``);
- ``cflist_channel_mask``: the Join-accept's CFList type 1 (2.5.4 / 2.8.4);
- ``link_adr_block`` and ``apply_link_adr``: a channel mask as a block of LinkADRReq with
  ChMaskCntl (2.5.5 / 2.8.5), and the mask a block leaves a device with.

Masks are Python ints with bit ``i`` for channel ``i`` (0..71).
"""

from lorafield_node.join import CFLIST_CHMASK
from lorafield_node.region import NAMES, region

from .errors import LnsError

FIXED_CHANNELS = 72
ALL_125 = (1 << 64) - 1  # channels 0..63, 125 kHz
ALL_FIXED = (1 << FIXED_CHANNELS) - 1
# A reported uplink frequency within this of a grid channel is that channel (radios report
# their synthesiser's frequency, 61 Hz steps on an SX127x; grid channels are 200 kHz apart).
CHANNEL_MATCH_HZ = 5_000
_125 = 125_000
_500 = 500_000


def server_plan(plan=None, sub_bands=None, channels=None):
    """(region, wanted mask) of a server for ``plan`` (a name of ``region.NAMES`` or a region
    object; None: EU868). The wanted mask is None for the dynamic plans (their channels come
    from the defaults and the CFList type 0); for US915/AU915 it is the channels of
    ``sub_bands`` (1..8) and ``channels`` (0..71), else what the region object was restricted
    to (``region(name, sub_bands)``), else all 72. Raises LnsError naming what is wrong."""
    if plan is None:
        plan = "EU868"
    if isinstance(plan, str):
        if plan not in NAMES:
            raise LnsError(f"unknown region {plan!r}: one of {', '.join(NAMES)}")
        plan = region(plan)
    if not plan.fixed:
        if sub_bands or channels:
            raise LnsError(f"{plan.name} has no sub-bands or channel mask (US915 and AU915 do)")
        return plan, None
    wanted = fixed_mask(sub_bands, channels) if sub_bands or channels else plan.default_mask()
    check_fixed_mask(plan, wanted)
    return plan, wanted


def fixed_mask(sub_bands=(), channels=()):
    """The mask of sub-bands 1..8 (sub-band k: channels 8(k-1)..8k-1 and 500 kHz channel
    63+k, RP002 2.5.2) and of single channels 0..71."""
    mask = 0
    for k in sub_bands or ():
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 8:
            raise LnsError(f"sub-bands are 1..8, got {k!r}")
        mask |= (0xFF << (8 * (k - 1))) | (1 << (63 + k))
    for c in channels or ():
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < FIXED_CHANNELS:
            raise LnsError(f"channels are 0..71, got {c!r}")
        mask |= 1 << c
    return mask


def check_fixed_mask(plan, mask):
    """A wanted mask must leave the device something to send on: a 500 kHz channel or enough
    125 kHz ones (US915 at least 2, FCC 15.247 frequency hopping; the device refuses fewer)."""
    narrow = bin(mask & ALL_125).count("1")
    if narrow and narrow < plan.min_125_channels:
        raise LnsError(
            f"{plan.name} needs at least {plan.min_125_channels} channels of 125 kHz in its "
            f"channel mask, got {narrow}"
        )
    if not mask:
        raise LnsError(f"{plan.name}: the channel mask enables no channel")


def channel_index(plan, frequency_hz, bw_hz):
    """The fixed grid's channel (0..71) of an uplink heard on ``frequency_hz`` at ``bw_hz``,
    or -1 when it is on none: 125 kHz channel n at first + 200 kHz * n, 500 kHz channel
    64 + n at first + 1.6 MHz * n (RP002 2.5.2 / 2.8.2)."""
    if bw_hz == _125:
        first, step, base, count = plan.channel(0)[0], 200_000, 0, 64
    elif bw_hz == _500:
        first, step, base, count = plan.channel(64)[0], 1_600_000, 64, 8
    else:
        return -1
    n = round((frequency_hz - first) / step)
    if not 0 <= n < count:
        return -1
    if abs(first + step * n - frequency_hz) > CHANNEL_MATCH_HZ:
        return -1
    return base + n


def cflist_channel_mask(mask):
    """CFList type 1 (RP002 2.5.4 / 2.8.4): ChMask0..ChMask3 (channels 0..63, 16 each, LE),
    ChMask4 (channels 64..71 in its low byte), RFU to byte 14, CFListType 1 in byte 15."""
    out = bytearray(16)
    for i in range(5):
        bits = (mask >> (16 * i)) & (0xFF if i == 4 else 0xFFFF)
        out[2 * i] = bits & 0xFF
        out[2 * i + 1] = bits >> 8
    out[15] = CFLIST_CHMASK
    return bytes(out)


def apply_ch_mask_cntl(mask, ch_mask, ch_mask_cntl):
    """The mask after one LinkADRReq of a fixed-plan block (RP002 2.5.5 / 2.8.5), or None when
    the result depends on channels not known (``mask`` None) or the command is RFU.

    ChMaskCntl 0..3: ChMask is channels 16c..16c+15; 4: channels 64..71; 5: bit k of the low
    byte turns sub-band k+1 (channels 8k..8k+7) and 500 kHz channel 64+k on, a clear bit off
    (high byte RFU); 6: all 125 kHz channels on, 7: all off, ChMask then being 64..71."""
    if 0 <= ch_mask_cntl <= 3:
        if mask is None:
            return None
        shift = 16 * ch_mask_cntl
        return (mask & ~(0xFFFF << shift)) | ((ch_mask & 0xFFFF) << shift)
    if ch_mask_cntl == 4:
        if mask is None:
            return None
        return (mask & ALL_125) | ((ch_mask & 0xFF) << 64)
    if ch_mask_cntl == 5:
        if ch_mask & 0xFF00:
            return None
        out = 0
        for k in range(8):
            if (ch_mask >> k) & 1:
                out |= (0xFF << (8 * k)) | (1 << (64 + k))
        return out
    if ch_mask_cntl in (6, 7):
        narrow = ALL_125 if ch_mask_cntl == 6 else 0
        return narrow | ((ch_mask & 0xFF) << 64)
    return None


def apply_link_adr(mask, block):
    """The mask a device has after accepting a block of LinkADRReq ``fields`` (fixed plans),
    starting from ``mask`` (None: not known); None when still not known."""
    for fields in block:
        mask = apply_ch_mask_cntl(mask, fields[2], fields[3])
    return mask


def link_adr_block(plan, current, wanted, dr, tx_power, nb_trans):
    """LinkADRReq fields ``(dr, tx_power, ch_mask, ch_mask_cntl, nb_trans)`` that set ``dr``,
    ``tx_power`` and ``nb_trans`` and leave a fixed-plan device on ``wanted`` when it is on
    ``current`` (None: not known). Every command of a block carries the same DR, power and
    NbTrans (the device takes them from the last one, LoRaWAN 1.0.4 5.3).

    In step (``current == wanted``): one command that rewrites a 16-channel block with the
    bits it has. Otherwise the shorter of "ChMaskCntl 7 (all 125 kHz off) + 500 kHz byte, then
    ChMaskCntl 0..3 for each block that has a channel on" and "ChMaskCntl 6 (all on) + 500 kHz
    byte, then ChMaskCntl 0..3 for each block that is not all on" (ties: the first). Both
    forms exist in every LoRaWAN 1.0.x regional parameters version, unlike ChMaskCntl 5 (RFU
    before RP002-1.0.1, a sub-band form that cannot say "FSB2 without its 500 kHz channel");
    ChirpStack chooses the same way. FSB2: (7, 0x0002) then (0, 0xFF00)."""
    if not plan.fixed:
        raise LnsError("channel-mask blocks are for US915 and AU915")
    wide = (wanted >> 64) & 0xFF

    def cmd(ch_mask, cntl):
        return (dr, tx_power, ch_mask, cntl, nb_trans)

    if current == wanted:
        for c in range(4):
            bits = (wanted >> (16 * c)) & 0xFFFF
            if bits:
                return [cmd(bits, c)]
        return [cmd(wide, 4)]
    groups = [(wanted >> (16 * c)) & 0xFFFF for c in range(4)]
    off = [cmd(wide, 7)] + [cmd(g, c) for c, g in enumerate(groups) if g]
    on = [cmd(wide, 6)] + [cmd(g, c) for c, g in enumerate(groups) if g != 0xFFFF]
    return on if len(on) < len(off) else off


def adr_top_dr(plan):
    """The fastest LoRa uplink data rate on a 125 kHz channel: where ADR stops raising the data
    rate (EU868, AS923, IN865, KR920 and AU915 DR5, US915 DR3); the 250/500 kHz rates are
    left alone (a single 125 kHz channel gateway would not hear them)."""
    best = 0
    for dr in range(plan.num_dr()):
        if plan.uplink_dr(dr) and plan.dr_bw[dr] == _125:
            best = dr
    return best
