"""AS923 tables, groups 1-4 (RP002-1.0.4 section 2.10); built by ``region.region("AS923-2")``.

A group is AS923-1's plan moved by a frequency offset (2.10.2): AS923-2 -1.8 MHz, AS923-3
-6.6 MHz, AS923-4 -5.9 MHz. Dwell time (2.10.9 TxParamSetupReq) is on by default for uplinks
and downlinks (400 ms where the country requires it): DR0 and DR1 cannot be used then, so
joins start at DR2. No duty-cycle limit is applied by the stack: where a country needs one
(or listen-before-talk), the network sets it with DutyCycleReq / the operator configures it.
"""

from .region import FSK, Region, minus8


class AS923(Region):
    dr_sf = bytes((12, 11, 10, 9, 8, 7, 7, FSK))  # 2.10.3
    dr_bw = (125000, 125000, 125000, 125000, 125000, 125000, 250000, 0)
    max_uplink_dr = 7
    max_mac_payload = bytes((59, 59, 123, 123, 250, 250, 250, 250))  # 2.10.6, dwell time off
    max_app_payload = minus8(max_mac_payload)
    max_mac_payload_dwell = bytes((0, 0, 19, 61, 133, 250, 250, 250))  # dwell on: no DR0/1
    max_app_payload_dwell = minus8(max_mac_payload_dwell)
    max_mac_payload_repeater = bytes((59, 59, 123, 123, 230, 230, 230, 230))
    rx2_dr = 2
    # 2.10.7: RX1 DR per uplink DR (rows DR0..DR7) and RX1DROffset (columns 0..7; 6 and 7
    # mean one and two rates faster than the uplink), with downlink dwell time off and on
    # (on: never below DR2). The 1.0.4 table reaches DR7, as LoRaMac-node has had it since
    # its 1.0.4 support.
    rx1_dr_table = (
        bytes((0, 0, 0, 0, 0, 0, 1, 2)),
        bytes((1, 0, 0, 0, 0, 0, 2, 3)),
        bytes((2, 1, 0, 0, 0, 0, 3, 4)),
        bytes((3, 2, 1, 0, 0, 0, 4, 5)),
        bytes((4, 3, 2, 1, 0, 0, 5, 6)),
        bytes((5, 4, 3, 2, 1, 0, 6, 7)),
        bytes((6, 5, 4, 3, 2, 1, 7, 7)),
        bytes((7, 6, 5, 4, 3, 2, 7, 7)),
    )
    rx1_dr_table_dwell = (
        bytes((2, 2, 2, 2, 2, 2, 2, 2)),
        bytes((2, 2, 2, 2, 2, 2, 2, 3)),
        bytes((2, 2, 2, 2, 2, 2, 3, 4)),
        bytes((3, 2, 2, 2, 2, 2, 4, 5)),
        bytes((4, 3, 2, 2, 2, 2, 5, 6)),
        bytes((5, 4, 3, 2, 2, 2, 6, 7)),
        bytes((6, 5, 4, 3, 2, 2, 7, 7)),
        bytes((7, 6, 5, 4, 3, 2, 7, 7)),
    )
    max_eirp = 16  # 2.10.3: default MaxEIRP 16 dBm, TXPower n = MaxEIRP - 2n, n = 0..7
    max_tx_power = 7
    tx_param_setup = True
    uplink_dwell = True
    downlink_dwell = True
    dwell_dr_min = 2

    def __init__(self, name, offset, lo, hi):
        # the group's frequencies (2.10.2): AS923-1's moved by ``offset``
        self.name = name
        self.freq_min = lo
        self.freq_max = hi
        self.default_channels = (923200000 + offset, 923400000 + offset)
        self.rx2_frequency = 923200000 + offset  # 2.10.7
        self.subbands = ((lo, hi + 1, 1),)


def make(name):
    if name == "AS923":
        name = "AS923-1"
    # (name, frequency offset, band low, band high): the allocations each group serves
    for group, off, lo, hi in (
        ("AS923-1", 0, 915000000, 928000000),
        ("AS923-2", -1800000, 920000000, 923000000),
        ("AS923-3", -6600000, 915000000, 921000000),
        ("AS923-4", -5900000, 917000000, 920000000),
    ):
        if group == name:
            return AS923(name, off, lo, hi)
    raise ValueError("AS923 groups are AS923-1 .. AS923-4")
