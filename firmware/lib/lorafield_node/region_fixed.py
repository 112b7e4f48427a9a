"""Fixed channel grids, the part US902-928 (RP002-1.0.4 section 2.5, ``region_us915``) and
AU915-928 (section 2.8, ``region_au915``) share.

64 uplink channels of 125 kHz 200 kHz apart (0..63), 8 of 500 kHz 1.6 MHz apart (64..71),
8 downlink channels of 500 kHz 600 kHz apart from 923.3 MHz: the RX1 channel of an uplink on
channel n is n mod 8 (2.5.7 / 2.8.7). Sub-band k (1..8) is channels 8(k-1)..8k-1 plus 500 kHz
channel 64+k-1; FSB2 (channels 8-15 and 65) is what TTN and most ChirpStack installs use.
Channel masks are bit masks over 0..71 (a Python int; MicroPython keeps it as a long int).
No NewChannelReq, DlChannelReq or duty cycle (FCC 15.247 / ACMA: dwell time instead, which
the data-rate and payload limits keep uplinks within).
"""

from .region import Region

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_DL_FIRST = const(923300000)  # downlink channel 0 (both regions)
_DL_STEP = const(600000)


class Grid:
    """One column of the fixed grid as a read-only sequence (``Session.ch_freq`` etc. of a
    fixed plan): 72 channels computed on access instead of three lists kept in RAM."""

    def __init__(self, region, column):
        self._region = region
        self._column = column

    def __len__(self):
        return 72

    def __getitem__(self, i):
        if not 0 <= i < 72:
            raise IndexError("channel index")
        return self._region.channel(i)[self._column]

    def __setitem__(self, i, value):
        raise TypeError("the fixed grid's channels cannot be changed")


class FixedRegion(Region):
    """US915 / AU915. Extra attributes: ``up125_first`` (Hz of channel 0), ``up500_first``
    (Hz of channel 64), ``dr125`` (DR range of channels 0..63 as (min, max)), ``dr500`` (the
    500 kHz channels' DR), ``min_125_channels`` (a LinkADRReq mask for 125 kHz rates must keep
    at least this many 125 kHz channels on: 2 in US915, FCC 15.247 frequency hopping)."""

    up125_first = 0
    up500_first = 0
    dr125 = (0, 0)
    dr500 = 0
    min_125_channels = 1
    fixed = True
    max_channels = 72
    cflist_type = 1  # 2.5.4 / 2.8.4: the Join-accept's CFList is a channel mask
    rx2_frequency = _DL_FIRST  # 2.5.7 / 2.8.7: 923.3 MHz, DR8
    rx2_dr = 8
    max_eirp = 30  # US915: conducted 30 dBm - 2n, n = 0..14 (2.5.3); AU915: MaxEIRP 30 dBm
    max_tx_power = 14
    freq_max = 928000000

    # -- the grid ---------------------------------------------------------------------------
    def channel(self, i):
        """(uplink Hz, RX1 Hz, DR range min | max << 4) of channel ``i`` (0..71)."""
        if i < 64:
            up = self.up125_first + 200000 * i
            rng = self.dr125[0] | (self.dr125[1] << 4)
        else:
            up = self.up500_first + 1600000 * (i - 64)
            rng = self.dr500 | (self.dr500 << 4)
        return up, _DL_FIRST + _DL_STEP * (i % 8), rng

    def valid_rx_frequency(self, f):
        """RXParamSetupReq may only choose one of the 8 downlink channels (2.5.7)."""
        d = f - _DL_FIRST
        return 0 <= d <= 7 * _DL_STEP and d % _DL_STEP == 0

    def rx1_frequency(self, ch, dl_freq):
        return _DL_FIRST + _DL_STEP * (ch % 8)

    def restrict(self, sub_bands, channels):
        m = 0
        for k in sub_bands or ():
            if not 1 <= k <= 8:
                raise ValueError("sub-bands are 1..8")
            m |= (0xFF << (8 * (k - 1))) | (1 << (63 + k))
        for c in channels or ():
            if not 0 <= c < 72:
                raise ValueError("channels are 0..71")
            m |= 1 << c
        self._only = m

    def mask_usable(self, mask, dr):
        """A channel of ``dr``'s bandwidth stays on and, for a 125 kHz DR, at least
        ``min_125_channels`` of them (US915: 2, FCC 15.247 frequency hopping)."""
        if dr == self.dr500:
            return (mask >> 64) & 0xFF != 0
        n = 0
        low = mask & ((1 << 64) - 1)
        while low:
            n += low & 1
            low >>= 1
        return n > 0 and n >= self.min_125_channels

    def default_mask(self):
        """All 72 channels (2.5.2), or the sub-bands/channels the device was set up with."""
        return self._only or (1 << 72) - 1
