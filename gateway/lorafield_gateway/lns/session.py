"""A device's network session (after a join, or from ABP keys) and its MAC state."""

from collections import deque

from lorafield_node.phy import SessionCrypto

from .channelplan import CHANNEL_MATCH_HZ, channel_index

ADR_HISTORY = 20  # uplinks of SNR history an ADR decision needs (as ChirpStack's default)


class Session:
    """Counters, keys and radio settings of one device's session.

    ``fcnt_up_next`` is the smallest 32-bit FCntUp still acceptable; ``fcnt_down`` the next
    FCntDown to use. Radio settings mirror what the device was told (join defaults, then what
    it acknowledged). The two keys are only reachable through ``keys()`` and are never
    printed.

    Fixed channel plans (US915, AU915) keep no channel table: ``enabled_mask`` is the
    72-channel mask the device is known to use (None: not known, e.g. before it answered the
    first LinkADRReq after a join) and ``mask_rejected`` that it refused the server's mask.
    """

    # Defaults for sessions stored before these existed (all EU868: no dwell time, no mask).
    uplink_dwell = False
    downlink_dwell = False
    max_eirp = -1
    enabled_mask = None
    mask_rejected = False
    link_adr_sent_at = 0

    def __init__(
        self,
        dev_eui,
        dev_addr,
        nwk_s_key,
        app_s_key,
        region,
        *,
        rx1_dr_offset=0,
        rx2_dr=None,
        rx2_frequency_hz=None,
        rx1_delay_s=1,
        channels_hz=None,
    ):
        self.dev_eui = dev_eui  # hex string
        self.dev_addr = dev_addr
        self._keys = (bytes(nwk_s_key), bytes(app_s_key))
        self.crypto = SessionCrypto(nwk_s_key, app_s_key, "cryptography")
        self.fcnt_up_next = 0
        self.fcnt_down = 0
        self.last_fcnt_up = None
        self.last_phy = None
        self.rx1_dr_offset = rx1_dr_offset
        self.rx2_dr = region.rx2_dr if rx2_dr is None else rx2_dr
        self.rx2_frequency_hz = (
            region.rx2_frequency if rx2_frequency_hz is None else rx2_frequency_hz
        )
        self.rx1_delay_s = rx1_delay_s
        # Channel index -> uplink frequency (0 = undefined), as the device's table: the
        # defaults, the CFList, then NewChannelReq the device accepted; DlChannelReq moves a
        # channel's RX1 frequency (``dl_frequencies``).
        self.channels_hz = [0] * (0 if region.fixed else region.max_channels)
        for i, f in enumerate(channels_hz or region.default_channels):
            self.channels_hz[i] = f
        self.dl_frequencies = {}
        # TxParamSetupReq's settings once the device accepted them (AS923, AU915): dwell time
        # on or off for uplinks and downlinks, MaxEIRP in dBm (-1: the region's).
        self.uplink_dwell = region.uplink_dwell
        self.downlink_dwell = region.downlink_dwell
        self.max_eirp = -1
        self.enabled_mask = None
        self.mask_rejected = False
        self.link_adr_sent_at = 0  # ``uplinks`` when the last LinkADRReq (block) went out
        self.max_duty_cycle = 0
        # What the network believes the device uses (updated by acknowledged LinkADRReq).
        self.dr = None
        self.tx_power = region.default_tx_power
        self.nb_trans = 1
        self.snr_history = deque(maxlen=ADR_HISTORY)  # best SNR per uplink, for ADR
        self.mac_pending = []  # (cid, fields) to send in the next downlink
        self.mac_awaiting = {}  # cid -> fields of a request the device has not answered yet
        self.dev_status = None  # (battery, margin) from the last DevStatusAns
        self.confirmed_down_fcnt = None  # FCntDown of a confirmed downlink awaiting its ACK
        self.uplinks = 0

    def rx1_frequency(self, uplink_hz, region=None, bw_hz=125_000):
        """RX1 frequency for an uplink heard on ``uplink_hz`` (RP002 2.4.7 and alike: the
        uplink channel unless DlChannelReq moved it); in a fixed plan (``region`` US915/AU915)
        the downlink channel of the uplink's grid channel (2.5.7 / 2.8.7: 923.3 MHz + 600 kHz
        * (channel mod 8)), None when the uplink is on no grid channel."""
        if region is not None and region.fixed:
            ch = channel_index(region, uplink_hz, bw_hz)
            return None if ch < 0 else region.rx1_frequency(ch, uplink_hz)
        # Radios report the frequency their synthesiser is on (61 Hz steps on an SX127x,
        # rounded to 1 Hz by gateways), so the uplink channel is the defined one nearby.
        for i, f in enumerate(self.channels_hz):
            if f and abs(f - uplink_hz) <= CHANNEL_MATCH_HZ:
                return self.dl_frequencies.get(i, f)
        return uplink_hz

    def ch_mask(self):
        """ChMask with a bit per defined channel (LinkADRReq, ChMaskCntl 0)."""
        mask = 0
        for i, f in enumerate(self.channels_hz[:16]):
            if f:
                mask |= 1 << i
        return mask

    def keys(self):
        """(NwkSKey, AppSKey). For storage and the emulation's export only."""
        return self._keys

    @property
    def dev_addr_hex(self):
        return f"{self.dev_addr:08x}"

    def __repr__(self):  # no keys
        return (
            f"Session({self.dev_eui}, dev_addr={self.dev_addr_hex}, "
            f"fcnt_up_next={self.fcnt_up_next}, fcnt_down={self.fcnt_down})"
        )
