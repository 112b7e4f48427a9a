"""Regional parameters (LoRaWAN RP002-1.0.4), one ``Region`` object per plan.

All tables are immutable tuples/bytes; ``region("EU868")`` builds a fresh object so nothing
lives in module state. A plan with a fixed channel grid (US915) is another constructor that fills
the same attributes and overrides the few methods whose rules differ (channel masks).
Frequencies are in Hz (they fit MicroPython's small ints), times in seconds, power in dBm.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


FSK = const(0)  # ``sf`` of a data rate that is not LoRa (EU868 DR7: FSK 50 kbit/s)
TX_POWER_KEEP = const(15)  # LinkADRReq TXPower 0xF: keep the current power (1.0.4 5.3)
DR_KEEP = const(15)  # LinkADRReq DataRate 0xF: keep the current data rate

# Class A timing, LoRaWAN 1.0.4 section 6 table 17 (defaults, all regions in RP002).
RECEIVE_DELAY1 = const(1)
RECEIVE_DELAY2 = const(2)
JOIN_ACCEPT_DELAY1 = const(5)
JOIN_ACCEPT_DELAY2 = const(6)
ADR_ACK_LIMIT = const(64)
ADR_ACK_DELAY = const(32)

# EU868, RP002-1.0.4 section 2.4.
_EU_DR_SF = b"\x0c\x0b\x0a\x09\x08\x07\x07\x00"  # DR0..DR7 (2.4.3 table 14)
_EU_DR_BW = (125000, 125000, 125000, 125000, 125000, 125000, 250000, 0)
_EU_MAX_M = b"\x3b\x3b\x3b\x7b\xe6\xe6\xe6\xe6"  # MACPayload 59 59 59 123 230... (2.4.6)
_EU_MAX_N = b"\x33\x33\x33\x73\xde\xde\xde\xde"  # FRMPayload 51 51 51 115 222...
_EU_CHANNELS = (868100000, 868300000, 868500000)  # 2.4.2: default and join channels
# Duty-cycle sub-bands (ETSI EN 300 220, as applied in RP002 2.4): (low Hz, high Hz, 1/duty).
# The upper edge is exclusive so 868.0 MHz belongs to the 868.0-868.6 band.
_EU_SUBBANDS = (
    (863000000, 865000000, 1000),
    (865000000, 868000000, 100),
    (868000000, 868600000, 100),
    (868700000, 869200000, 1000),
    (869400000, 869650000, 10),
    (869700000, 870000000, 100),
)


class Region:
    """One regional channel plan.

    Attributes: ``name``; ``freq_min``/``freq_max``; ``default_channels`` (Hz, DR range
    ``default_dr_min..default_dr_max``, all 125 kHz); ``max_channels``; ``dr_sf``/``dr_bw``;
    ``max_mac_payload``/``max_app_payload`` (M and N per DR); ``rx2_frequency``/``rx2_dr``;
    ``rx1_dr_table`` (row = uplink DR, column = RX1DROffset); ``max_eirp`` and ``tx_power_step``;
    ``subbands`` ((low, high, 1/duty-cycle) tuples); ``cflist_type``; ``sync_word``;
    ``preamble``.
    """

    def __init__(
        self,
        name,
        freq_min,
        freq_max,
        default_channels,
        default_dr_min,
        default_dr_max,
        max_channels,
        dr_sf,
        dr_bw,
        max_mac_payload,
        max_app_payload,
        rx2_frequency,
        rx2_dr,
        rx1_dr_table,
        max_eirp,
        tx_power_step,
        max_tx_power,
        default_tx_power,
        subbands,
        cflist_type,
        sync_word=0x34,
        preamble=8,
    ):
        self.name = name
        self.freq_min = freq_min
        self.freq_max = freq_max
        self.default_channels = default_channels
        self.default_dr_min = default_dr_min
        self.default_dr_max = default_dr_max
        self.max_channels = max_channels
        self.dr_sf = dr_sf
        self.dr_bw = dr_bw
        self.max_mac_payload = max_mac_payload
        self.max_app_payload = max_app_payload
        self.rx2_frequency = rx2_frequency
        self.rx2_dr = rx2_dr
        self.rx1_dr_table = rx1_dr_table
        self.max_eirp = max_eirp
        self.tx_power_step = tx_power_step
        self.max_tx_power = max_tx_power
        self.default_tx_power = default_tx_power
        self.subbands = subbands
        self.cflist_type = cflist_type
        self.sync_word = sync_word
        self.preamble = preamble

    # -- data rates -------------------------------------------------------------------------

    def num_dr(self):
        return len(self.dr_sf)

    def valid_dr(self, dr):
        return 0 <= dr < len(self.dr_sf)

    def dr_params(self, dr):
        """(SF, bandwidth Hz) of data rate ``dr``; SF is FSK (0) for a non-LoRa rate."""
        if not self.valid_dr(dr):
            raise ValueError("data rate not defined in this region")
        return self.dr_sf[dr], self.dr_bw[dr]

    def dr_of(self, sf, bw):
        """The data rate with this SF and bandwidth, or -1."""
        for dr in range(len(self.dr_sf)):
            if self.dr_sf[dr] == sf and self.dr_bw[dr] == bw:
                return dr
        return -1

    def max_payload(self, dr, fopts_len=0):
        """Max FRMPayload bytes at ``dr`` with ``fopts_len`` bytes of FOpts (M - 8 - FOpts)."""
        if not self.valid_dr(dr):
            raise ValueError("data rate not defined in this region")
        return self.max_mac_payload[dr] - 8 - fopts_len

    def rx1_dr(self, up_dr, offset):
        """RX1 data rate for an uplink at ``up_dr`` with RX1DROffset ``offset``; -1 if invalid."""
        if not (0 <= up_dr < len(self.rx1_dr_table)):
            return -1
        row = self.rx1_dr_table[up_dr]
        if not 0 <= offset < len(row):
            return -1
        return row[offset]

    # -- power ------------------------------------------------------------------------------

    def tx_power_dbm(self, tx_power):
        """EIRP in dBm of TXPower index ``tx_power``; -1 if the region does not define it."""
        if not 0 <= tx_power <= self.max_tx_power:
            return -1
        return self.max_eirp - self.tx_power_step * tx_power

    # -- frequencies and duty cycle ---------------------------------------------------------

    def valid_frequency(self, f):
        return self.freq_min <= f <= self.freq_max and f % 100 == 0

    def subband(self, f):
        """Index into ``subbands`` for a frequency, or -1 where transmitting is not allowed."""
        for i in range(len(self.subbands)):
            lo, hi, _ = self.subbands[i]
            if lo <= f < hi:
                return i
        return -1

    def off_time_factor(self, f):
        """After ``t`` s of airtime on ``f`` the sub-band stays silent ``t * factor`` s
        (1/duty - 1: 99 for 1 %). -1 where transmitting is not allowed."""
        i = self.subband(f)
        if i < 0:
            return -1
        return self.subbands[i][2] - 1

    # -- channel masks ----------------------------------------------------------------------

    def apply_ch_mask(self, enabled, ch_mask, ch_mask_cntl, defined):
        """New enabled-channel bit mask after LinkADRReq, or -1 to reject it (RP002 2.4.5).

        ``enabled`` and ``defined`` are bit masks over channel indices 0..15 (``defined``: the
        channels that have a frequency). EU868: ChMaskCntl 0 applies ChMask to channels 0..15,
        6 turns on every defined channel, anything else is RFU and rejected; a mask that enables
        an undefined channel or disables all channels is rejected.
        """
        if ch_mask_cntl == 0:
            if ch_mask & ~defined or ch_mask == 0:
                return -1
            return ch_mask
        if ch_mask_cntl == 6:
            return defined
        return -1


def eu868():
    return Region(
        "EU868",
        freq_min=863000000,
        freq_max=870000000,
        default_channels=_EU_CHANNELS,
        default_dr_min=0,
        default_dr_max=5,
        max_channels=16,
        dr_sf=_EU_DR_SF,
        dr_bw=_EU_DR_BW,
        max_mac_payload=_EU_MAX_M,
        max_app_payload=_EU_MAX_N,
        rx2_frequency=869525000,
        rx2_dr=0,
        # RP002 2.4.7: RX1 DR = max(uplink DR - RX1DROffset, 0), offsets 0..5.
        rx1_dr_table=tuple(tuple(max(up - off, 0) for off in range(6)) for up in range(8)),
        max_eirp=16,  # RP002 2.4.3 table 15: TXPower n = MaxEIRP - 2n dB, n = 0..7
        tx_power_step=2,
        max_tx_power=7,
        default_tx_power=0,
        subbands=_EU_SUBBANDS,
        cflist_type=0,
        sync_word=0x34,  # public-network LoRa sync word on SX127x
        preamble=8,
    )


def region(name):
    """The plan called ``name`` (only "EU868" so far)."""
    if name == "EU868":
        return eu868()
    raise ValueError("unsupported region")
