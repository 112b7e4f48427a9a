"""Regional parameters (LoRaWAN RP002-1.0.4): the table interface every region fills.

``region("US915", sub_bands=(2,))`` imports the one module that holds the named region's
tables (``region_eu868``, ``region_us915`` and ``region_au915`` (both on ``region_fixed``),
``region_as923``, ``region_in865``, ``region_kr920``) and builds a fresh object, so a device
loads only its own region and nothing lives in module state. ``Region`` here is the dynamic
channel plan (up to 16 channels defined by the default list, the CFList and NewChannelReq:
EU868, AS923, IN865, KR920); ``region_fixed.FixedRegion`` is the fixed 64 + 8 channel grid
of US915 and AU915.
Frequencies are in Hz (they fit MicroPython's small ints), times in seconds, power in dBm.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


FSK = const(0)  # ``sf`` of a data rate that is not LoRa (EU868 DR7: FSK 50 kbit/s)
RFU = const(255)  # ``sf`` of a data rate a region leaves undefined (US915 DR5..7, LR-FHSS)
TX_POWER_KEEP = const(15)  # LinkADRReq TXPower 0xF: keep the current power (1.0.4 5.3)
DR_KEEP = const(15)  # LinkADRReq DataRate 0xF: keep the current data rate

# Class A timing, LoRaWAN 1.0.4 section 6 table 17 (defaults, all regions in RP002).
RECEIVE_DELAY1 = const(1)
RECEIVE_DELAY2 = const(2)
JOIN_ACCEPT_DELAY1 = const(5)
JOIN_ACCEPT_DELAY2 = const(6)
ADR_ACK_LIMIT = const(64)
ADR_ACK_DELAY = const(32)

# TxParamSetupReq MaxEIRP field -> dBm (LoRaWAN 1.0.4 section 5.12 table 20).
MAX_EIRP_TABLE = b"\x08\x0a\x0c\x0d\x0e\x10\x12\x14\x15\x18\x1a\x1b\x1d\x1e\x21\x24"

NAMES = ("EU868", "US915", "AU915", "AS923-1", "AS923-2", "AS923-3", "AS923-4", "IN865", "KR920")


class Region:
    """One regional channel plan (the dynamic kind; see the module doc).

    Attributes: ``name``; ``freq_min``/``freq_max``; ``default_channels`` (Hz, DR range
    ``default_dr_min..default_dr_max``); ``max_channels``; ``fixed`` (False here);
    ``dr_sf``/``dr_bw`` (``RFU`` sf: undefined); ``max_mac_payload``/``max_app_payload`` (M
    and N per DR) and the same with uplink
    dwell time on (``*_dwell``, None where the region has no dwell-time rule);
    ``max_mac_payload_repeater`` (M where a repeater may relay the frame, where RP002 gives a
    second table; the stack uses ``max_mac_payload``); ``rx2_frequency``/``rx2_dr``;
    ``rx1_dr_table`` (row = uplink DR, column = RX1DROffset; ``rx1_dr_table_dwell`` with
    downlink dwell time on); ``max_eirp``, ``tx_power_step`` and ``max_tx_power`` (TXPower
    n = MaxEIRP - step * n dB, n = 0..max); ``subbands`` ((low, high, 1/duty-cycle), 1 = no
    duty-cycle limit); ``cflist_type``; ``tx_param_setup`` (TxParamSetupReq implemented);
    ``uplink_dwell``/``downlink_dwell`` (their defaults); ``dwell_dr_min`` (slowest DR allowed
    with uplink dwell time on); ``sync_word``; ``preamble``.
    """

    # Defaults of the attributes most regions share; a region module's subclass sets the
    # rest as class attributes (immutable tables: one copy, nothing per instance).
    name = ""
    freq_min = 0
    freq_max = 0
    dr_sf = b""
    dr_bw = ()
    max_uplink_dr = 0
    max_mac_payload = b""
    max_app_payload = b""
    rx2_frequency = 0
    rx2_dr = 0
    rx1_dr_table = ()
    max_eirp = 0
    max_tx_power = 0
    subbands = ((0, 0, 1),)  # (low Hz, high Hz exclusive, 1/duty); a region sets its own
    fixed = False
    max_channels = 16
    default_dr_min = 0
    default_dr_max = 5
    default_channels = ()
    cflist_type = 0
    tx_power_step = 2
    default_tx_power = 0
    max_mac_payload_dwell = None
    max_app_payload_dwell = None
    max_mac_payload_repeater = None
    rx1_dr_table_dwell = None
    tx_param_setup = False
    uplink_dwell = False
    downlink_dwell = False
    dwell_dr_min = 0
    sync_word = 0x34  # public-network LoRa sync word on SX127x
    preamble = 8

    # -- data rates -------------------------------------------------------------------------

    def num_dr(self):
        return len(self.dr_sf)

    def valid_dr(self, dr):
        return 0 <= dr < len(self.dr_sf) and self.dr_sf[dr] != RFU

    def lora_dr(self, dr):
        """True for a defined LoRa data rate (what an SX127x can send and receive)."""
        return self.valid_dr(dr) and self.dr_sf[dr] != FSK

    def uplink_dr(self, dr, dwell=False):
        """True when an uplink may use ``dr`` (with uplink dwell time on or off)."""
        if not self.lora_dr(dr) or dr > self.max_uplink_dr:
            return False
        return not dwell or dr >= self.dwell_dr_min

    def dr_params(self, dr):
        """(SF, bandwidth Hz) of data rate ``dr``; SF is FSK (0) for a non-LoRa rate."""
        if not self.valid_dr(dr):
            raise ValueError("data rate not defined in this region")
        return self.dr_sf[dr], self.dr_bw[dr]

    def dr_of(self, sf, bw):
        """The data rate with this SF and bandwidth, or -1 (the lowest one where uplink and
        downlink rates share a setting, as US915 DR4 and DR12 do: the uplink one; a
        downlink's DR is the RX1/RX2 rule's, never looked up)."""
        for dr in range(len(self.dr_sf)):
            if self.dr_sf[dr] == sf and self.dr_bw[dr] == bw:
                return dr
        return -1

    def payload_table(self, dwell=False):
        """The M table (max MACPayload per DR) for uplink dwell time on or off."""
        if dwell and self.max_mac_payload_dwell is not None:
            return self.max_mac_payload_dwell
        return self.max_mac_payload

    def max_payload(self, dr, fopts_len=0, dwell=False):
        """Max FRMPayload bytes at ``dr`` with ``fopts_len`` bytes of FOpts (M - 8 - FOpts);
        negative where the DR is not allowed (dwell time on, DR0/1 in AS923)."""
        if not self.valid_dr(dr):
            raise ValueError("data rate not defined in this region")
        m = self.payload_table(dwell)[dr]
        if m == 0:
            return -1
        return m - 8 - fopts_len

    def rx1_dr(self, up_dr, offset, dwell=False):
        """RX1 data rate for an uplink at ``up_dr`` with RX1DROffset ``offset`` (downlink
        dwell time on or off); -1 if invalid."""
        table = self.rx1_dr_table
        if dwell and self.rx1_dr_table_dwell is not None:
            table = self.rx1_dr_table_dwell
        if not (0 <= up_dr < len(table)):
            return -1
        row = table[up_dr]
        if not 0 <= offset < len(row):
            return -1
        return row[offset]

    # -- power ------------------------------------------------------------------------------

    def tx_power_dbm(self, tx_power, max_eirp=-1):
        """EIRP in dBm of TXPower index ``tx_power`` (``max_eirp``: a TxParamSetupReq's
        limit, -1 for the region's); -1 if the region does not define the index."""
        if not 0 <= tx_power <= self.max_tx_power:
            return -1
        top = self.max_eirp if max_eirp < 0 else max_eirp
        return top - self.tx_power_step * tx_power

    # -- frequencies and duty cycle ---------------------------------------------------------

    def valid_frequency(self, f):
        return self.freq_min <= f <= self.freq_max and f % 100 == 0

    def valid_rx_frequency(self, f):
        """A frequency RXParamSetupReq or DlChannelReq may set for receiving."""
        return self.valid_frequency(f)

    def subband(self, f):
        """Index into ``subbands`` for a frequency, or -1 where transmitting is not allowed."""
        for i in range(len(self.subbands)):
            lo, hi, _ = self.subbands[i]
            if lo <= f < hi:
                return i
        return -1

    def off_time_factor(self, f):
        """After ``t`` s of airtime on ``f`` the sub-band stays silent ``t * factor`` s
        (1/duty - 1: 99 for 1 %, 0 without a duty-cycle limit). -1 where transmitting is not
        allowed."""
        i = self.subband(f)
        if i < 0:
            return -1
        return self.subbands[i][2] - 1

    # -- channels ---------------------------------------------------------------------------

    _only = 0  # restrict(): the channels a fresh session enables (0: the region's default)

    def restrict(self, sub_bands, channels):
        """Enable only these default channels in a fresh session (``region()``'s options)."""
        if sub_bands:
            raise ValueError("sub-bands exist only in US915 and AU915")
        m = 0
        for c in channels:
            if not 0 <= c < len(self.default_channels):
                raise ValueError("channel %d is not a default channel of %s" % (c, self.name))
            m |= 1 << c
        self._only = m

    def default_mask(self):
        """Enabled-channel bit mask of a fresh session: the default channels."""
        return self._only or (1 << len(self.default_channels)) - 1

    def mask_usable(self, mask, dr):
        """A channel mask (after LinkADRReq or a CFList) leaves some channel on."""
        return mask != 0

    def rx1_frequency(self, ch, dl_freq):
        """RX1 frequency after an uplink on channel ``ch`` whose downlink frequency is
        ``dl_freq`` (its uplink frequency unless DlChannelReq moved it): that one."""
        return dl_freq


def minus8(table):
    """The N table (max FRMPayload) of an M table: N = M - 8 (FHDR without FOpts, FPort)."""
    return bytes(m - 8 if m >= 8 else 0 for m in table)


def region(name, sub_bands=None, channels=None):
    """The plan called ``name`` (one of ``NAMES``; "AS923" means AS923-1).

    ``sub_bands`` (fixed plans: sub-bands 1..8 to enable, e.g. (2,) for FSB2) and ``channels``
    (any plan: the only channel indices to enable, e.g. (8,) for a single-channel gateway on
    903.9 MHz) restrict the channels a fresh session starts with."""
    if name == "EU868":
        from .region_eu868 import make
    elif name == "US915":
        from .region_us915 import make
    elif name == "AU915":
        from .region_au915 import make
    elif name.startswith("AS923"):
        from .region_as923 import make
    elif name == "IN865":
        from .region_in865 import make
    elif name == "KR920":
        from .region_kr920 import make
    else:
        raise ValueError("unsupported region")
    r = make(name)
    if sub_bands or channels:
        r.restrict(sub_bands, channels)
    return r


def eu868():
    """EU868 (the host's default; ``region("EU868")``)."""
    return region("EU868")
