"""US902-928 tables (RP002-1.0.4 section 2.5); built by ``region.region("US915")``."""

from .region import RFU, minus8
from .region_fixed import FixedRegion

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_W = const(125000)
_N = const(500000)


class US915(FixedRegion):
    """RP002-1.0.4 2.5. DR0..3 SF10..7/125 kHz, DR4 SF8/500 kHz, DR5/6 LR-FHSS (RFU here),
    DR8..13 SF12..7/500 kHz downlink only (2.5.3)."""

    name = "US915"
    freq_min = 902000000
    up125_first = 902300000
    up500_first = 903000000
    dr125 = (0, 3)
    dr500 = 4
    min_125_channels = 2
    default_dr_max = 3
    max_uplink_dr = 4
    dr_sf = bytes((10, 9, 8, 7, 8, RFU, RFU, RFU, 12, 11, 10, 9, 8, 7))
    dr_bw = (_W, _W, _W, _W, _N, 0, 0, 0, _N, _N, _N, _N, _N, _N)
    # Max MACPayload M per DR (2.5.6, no repeater; N = M - 8). 0: not usable.
    max_mac_payload = bytes((19, 61, 133, 250, 250, 0, 0, 0, 61, 137, 250, 250, 250, 250))
    max_app_payload = minus8(max_mac_payload)
    max_mac_payload_repeater = bytes((19, 61, 133, 250, 250, 0, 0, 0, 41, 117, 230, 230, 230, 230))
    # RX1 DR per uplink DR (rows) and RX1DROffset (columns), 2.5.7.
    rx1_dr_table = (
        bytes((10, 9, 8, 8)),
        bytes((11, 10, 9, 8)),
        bytes((12, 11, 10, 9)),
        bytes((13, 12, 11, 10)),
        bytes((13, 13, 12, 11)),
    )
    subbands = ((902000000, 928000001, 1),)  # no duty cycle (FCC: dwell time instead)


def make(name):
    return US915()
