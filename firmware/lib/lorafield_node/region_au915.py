"""AU915-928 tables (RP002-1.0.4 section 2.8); built by ``region.region("AU915")``."""

from .region import RFU, minus8
from .region_fixed import FixedRegion

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_W = const(125000)
_N = const(500000)


class AU915(FixedRegion):
    """RP002-1.0.4 2.8. DR0..5 SF12..7/125 kHz, DR6 SF8/500 kHz, DR7 LR-FHSS (RFU here),
    DR8..13 as US915 (2.8.3). Uplink dwell time on by default (400 ms): DR0/1 unusable until
    a TxParamSetupReq turns it off (2.8.9), joins at DR2."""

    name = "AU915"
    freq_min = 915000000
    up125_first = 915200000
    up500_first = 915900000
    dr125 = (0, 5)
    dr500 = 6
    min_125_channels = 1
    default_dr_max = 5
    max_uplink_dr = 6
    dr_sf = bytes((12, 11, 10, 9, 8, 7, 8, RFU, 12, 11, 10, 9, 8, 7))
    dr_bw = (_W, _W, _W, _W, _W, _W, _N, 0, _N, _N, _N, _N, _N, _N)
    max_mac_payload = bytes((59, 59, 59, 123, 250, 250, 250, 0, 61, 137, 250, 250, 250, 250))
    max_app_payload = minus8(max_mac_payload)
    max_mac_payload_dwell = bytes((0, 0, 19, 61, 133, 250, 250, 0, 61, 137, 250, 250, 250, 250))
    max_app_payload_dwell = minus8(max_mac_payload_dwell)
    max_mac_payload_repeater = bytes(
        (59, 59, 59, 123, 230, 230, 230, 0, 41, 117, 230, 230, 230, 230)
    )
    rx1_dr_table = (  # 2.8.7
        bytes((8, 8, 8, 8, 8, 8)),
        bytes((9, 8, 8, 8, 8, 8)),
        bytes((10, 9, 8, 8, 8, 8)),
        bytes((11, 10, 9, 8, 8, 8)),
        bytes((12, 11, 10, 9, 8, 8)),
        bytes((13, 12, 11, 10, 9, 8)),
        bytes((13, 13, 12, 11, 10, 9)),
    )
    subbands = ((915000000, 928000001, 1),)
    tx_param_setup = True  # 2.8.9
    uplink_dwell = True
    dwell_dr_min = 2


def make(name):
    return AU915()
