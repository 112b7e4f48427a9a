"""Facts of LoRaWAN Regional Parameters RP002-1.0.4, written down from the specification for
the tests of this folder, with the section each comes from (RP002-1.0.4 numbering: 2.3 the
defaults every region shares, 2.4 EU863-870, 2.5 US902-928, 2.8 AU915-928, 2.10 AS923,
2.11 KR920-923, 2.12 IN865-867; in each, .2 channels, .3 data rates and TX power, .4 CFList,
.5 LinkADRReq, .6 maximum payload, .7 receive windows). Checked a second time against
Semtech's reference stack (LoRaMac-node src/mac/region/Region*.h, whose payload tables hold
N = M - 8).

Independent of `lorafield_node.region` on purpose: the tests hold the firmware's tables (and
what the emulated field puts on the air) against these.
"""

NAMES = ("EU868", "US915", "AU915", "AS923-1", "AS923-2", "AS923-3", "AS923-4", "IN865", "KR920")
RFU = None  # a data rate the region leaves undefined
FSK = "FSK"
K125, K250, K500 = 125_000, 250_000, 500_000


def key(name):
    """The table a region's facts are under (the AS923 groups share AS923-1's)."""
    return "AS923-1" if name.startswith("AS923") else name


# -- data rates (x.3) ------------------------------------------------------------------------
_DYNAMIC_DR = [(12, K125), (11, K125), (10, K125), (9, K125), (8, K125), (7, K125)]
DATA_RATES = {
    # 2.4.3 table: DR0..5 SF12..SF7/125 kHz, DR6 SF7/250 kHz, DR7 FSK 50 kbit/s
    "EU868": _DYNAMIC_DR + [(7, K250), FSK],
    # 2.5.3: DR0..3 SF10..SF7/125, DR4 SF8/500, DR5/6 LR-FHSS (not implemented: RFU here),
    # DR7 RFU, DR8..13 SF12..SF7/500 (downlink only)
    "US915": [(10, K125), (9, K125), (8, K125), (7, K125), (8, K500), RFU, RFU, RFU]
    + [(sf, K500) for sf in (12, 11, 10, 9, 8, 7)],
    # 2.8.3: DR0..5 SF12..SF7/125, DR6 SF8/500, DR7 LR-FHSS (RFU here), DR8..13 as US915
    "AU915": _DYNAMIC_DR + [(8, K500), RFU] + [(sf, K500) for sf in (12, 11, 10, 9, 8, 7)],
    # 2.10.3: as EU868
    "AS923-1": _DYNAMIC_DR + [(7, K250), FSK],
    # 2.11.3: DR0..5 only
    "KR920": _DYNAMIC_DR,
    # 2.12.3: DR6 RFU, DR7 FSK 50 kbit/s
    "IN865": _DYNAMIC_DR + [RFU, FSK],
}

# Uplink data rates (the LoRa ones an end device may send with dwell time off; US915 DR8..13
# and AU915 DR8..13 are downlink-only, 2.5.3 / 2.8.3).
UPLINK_DRS = {
    "EU868": [0, 1, 2, 3, 4, 5, 6],
    "US915": [0, 1, 2, 3, 4],
    "AU915": [0, 1, 2, 3, 4, 5, 6],
    "AS923-1": [0, 1, 2, 3, 4, 5, 6],
    "KR920": [0, 1, 2, 3, 4, 5],
    "IN865": [0, 1, 2, 3, 4, 5],
}


def uplink_dr(name, sf, bw):
    """The uplink DR of an (SF, bandwidth) in a region, or None."""
    table = DATA_RATES[key(name)]
    for dr in UPLINK_DRS[key(name)]:
        if table[dr] == (sf, bw):
            return dr
    return None


def dr_setting(name, dr):
    """(SF, bandwidth) of a LoRa data rate."""
    return DATA_RATES[key(name)][dr]


# -- maximum payload, not repeater compatible (x.6) -----------------------------------------
# M per DR (N = M - 8); None where undefined. EU868 is special, see below.
MAX_M = {
    # 2.5.6 table (not repeater compatible): DR0 19, DR1 61, DR2 133, DR3/4 250, DR8 61,
    # DR9 137, DR10..13 250 (LoRaMac-node N: 11, 53, 125, 242, 242, 53, 129, 242...)
    "US915": [19, 61, 133, 250, 250, None, None, None, 61, 137, 250, 250, 250, 250],
    # 2.8.6, UplinkDwellTime = 0
    "AU915": [59, 59, 59, 123, 250, 250, 250, None, 61, 137, 250, 250, 250, 250],
    # 2.10.6, UplinkDwellTime = 0
    "AS923-1": [59, 59, 123, 123, 250, 250, 250, 250],
    # 2.11.6
    "KR920": [59, 59, 59, 123, 250, 250],
    # 2.12.6 (DR6 RFU)
    "IN865": [59, 59, 59, 123, 250, 250, None, 250],
}
# With UplinkDwellTime = 1 (2.8.6, 2.10.6): DR0 and DR1 not allowed.
MAX_M_DWELL = {
    "AU915": [None, None, 19, 61, 133, 250, 250, None, 61, 137, 250, 250, 250, 250],
    "AS923-1": [None, None, 19, 61, 133, 250, 250, 250],
}
# 2.4.6: EU868 has two tables, repeater compatible and not. lorafield's EU868 has always used
# the repeater-compatible one (the project's reference facts, lorawan-facts.md); every other
# region's table in the firmware is the not repeater compatible one.
EU868_M_REPEATER = [59, 59, 59, 123, 230, 230, 230, 230]  # (not compatible: 250 at DR4..7)
# 2.5.6, repeater compatible: DR0..4 as without a repeater (their limits are the 400 ms dwell
# time's), DR8 41, DR9 117, DR10..13 230.
US915_M_REPEATER = [19, 61, 133, 250, 250, None, None, None, 41, 117, 230, 230, 230, 230]

# -- receive windows (x.7) -------------------------------------------------------------------
# RX1 data rate, rows = uplink DR, columns = RX1DROffset.
RX1 = {
    # 2.4.7: DR = max(up - offset, 0), offsets 0..5
    "EU868": [[max(up - off, 0) for off in range(6)] for up in range(8)],
    # 2.11.7: the same, DR0..5
    "KR920": [[max(up - off, 0) for off in range(6)] for up in range(6)],
    # 2.5.7 table, offsets 0..3
    "US915": [[10, 9, 8, 8], [11, 10, 9, 8], [12, 11, 10, 9], [13, 12, 11, 10], [13, 13, 12, 11]],
    # 2.8.7 table, offsets 0..5
    "AU915": [
        [8, 8, 8, 8, 8, 8],
        [9, 8, 8, 8, 8, 8],
        [10, 9, 8, 8, 8, 8],
        [11, 10, 9, 8, 8, 8],
        [12, 11, 10, 9, 8, 8],
        [13, 12, 11, 10, 9, 8],
        [13, 13, 12, 11, 10, 9],
    ],
    # 2.10.7 table, DownlinkDwellTime = 0, offsets 0..7 (6 and 7: one and two rates faster)
    "AS923-1": [
        [0, 0, 0, 0, 0, 0, 1, 2],
        [1, 0, 0, 0, 0, 0, 2, 3],
        [2, 1, 0, 0, 0, 0, 3, 4],
        [3, 2, 1, 0, 0, 0, 4, 5],
        [4, 3, 2, 1, 0, 0, 5, 6],
        [5, 4, 3, 2, 1, 0, 6, 7],
        [6, 5, 4, 3, 2, 1, 7, 7],
        [7, 6, 5, 4, 3, 2, 7, 7],
    ],
    # 2.12.7 table, offsets 0..7, uplink DR0..5 (DR6 RFU; DR7 FSK is not sent by lorafield)
    "IN865": [
        [0, 0, 0, 0, 0, 0, 1, 2],
        [1, 0, 0, 0, 0, 0, 2, 3],
        [2, 1, 0, 0, 0, 0, 3, 4],
        [3, 2, 1, 0, 0, 0, 4, 5],
        [4, 3, 2, 1, 0, 0, 5, 5],
        [5, 4, 3, 2, 1, 0, 5, 7],
    ],
}
# 2.10.7, DownlinkDwellTime = 1: no RX1 rate below DR2.
AS923_RX1_DWELL = [[max(2, dr) for dr in row] for row in RX1["AS923-1"]]

# RX2 defaults (x.7): frequency, DR. AS923: 923.2 MHz + the group's AS923_FREQ_OFFSET.
RX2 = {
    "EU868": (869_525_000, 0),  # 2.4.7
    "US915": (923_300_000, 8),  # 2.5.7
    "AU915": (923_300_000, 8),  # 2.8.7
    "AS923-1": (923_200_000, 2),  # 2.10.7
    "AS923-2": (921_400_000, 2),
    "AS923-3": (916_600_000, 2),
    "AS923-4": (917_300_000, 2),
    "KR920": (921_900_000, 0),  # 2.11.7
    "IN865": (866_550_000, 2),  # 2.12.7
}

# 2.3: the Class A delays of every region, seconds.
RECEIVE_DELAY1, RECEIVE_DELAY2 = 1, 2
JOIN_ACCEPT_DELAY1, JOIN_ACCEPT_DELAY2 = 5, 6

# -- channels (x.2) --------------------------------------------------------------------------
# Default (and join) channels of the dynamic plans. AS923 (2.10.2): 923.2 and 923.4 MHz +
# AS923_FREQ_OFFSET (group 2: -1.8 MHz, group 3: -6.6 MHz, group 4: -5.9 MHz).
DEFAULT_CHANNELS = {
    "EU868": (868_100_000, 868_300_000, 868_500_000),  # 2.4.2
    "AS923-1": (923_200_000, 923_400_000),
    "AS923-2": (921_400_000, 921_600_000),
    "AS923-3": (916_600_000, 916_800_000),
    "AS923-4": (917_300_000, 917_500_000),
    "KR920": (922_100_000, 922_300_000, 922_500_000),  # 2.11.2
    "IN865": (865_062_500, 865_402_500, 865_985_000),  # 2.12.2
}
# Fixed plans (2.5.2 / 2.8.2): 125 kHz channel n (0..63) at first + 200 kHz n, 500 kHz channel
# 64 + n at first + 1.6 MHz n; downlink channel n (0..7) at 923.3 MHz + 600 kHz n, the RX1
# channel of uplink channel c being c mod 8 (2.5.7 / 2.8.7).
FIXED_FIRST_125 = {"US915": 902_300_000, "AU915": 915_200_000}
FIXED_FIRST_500 = {"US915": 903_000_000, "AU915": 915_900_000}
DOWNLINK_FIRST, DOWNLINK_STEP = 923_300_000, 600_000


def fixed_channel(name, frequency_hz, bw):
    """The grid channel (0..71) of an uplink frequency in US915/AU915."""
    if bw == K125:
        n, rest = divmod(frequency_hz - FIXED_FIRST_125[name], 200_000)
        assert rest == 0 and 0 <= n < 64, frequency_hz
        return n
    n, rest = divmod(frequency_hz - FIXED_FIRST_500[name], 1_600_000)
    assert rest == 0 and 0 <= n < 8, frequency_hz
    return 64 + n


def sub_band_channels(name, k):
    """(frequency, bandwidth) of sub-band k's eight 125 kHz channels and its 500 kHz one."""
    first = FIXED_FIRST_125[name] + 1_600_000 * (k - 1)
    return [(first + 200_000 * i, K125) for i in range(8)] + [
        (FIXED_FIRST_500[name] + 1_600_000 * (k - 1), K500)
    ]


def rx1_frequency(name, uplink_hz, bw):
    """RX1 frequency after an uplink: the uplink's own (dynamic plans, x.7: "the same channel
    as the preceding uplink") or the downlink channel (uplink channel mod 8)."""
    if key(name) in ("US915", "AU915"):
        return DOWNLINK_FIRST + DOWNLINK_STEP * (fixed_channel(name, uplink_hz, bw) % 8)
    return uplink_hz


def rx1_dr(name, up_dr, offset=0, dwell=False):
    table = AS923_RX1_DWELL if dwell else RX1[key(name)]
    return table[up_dr][offset]


# -- MAC commands (LoRaWAN 1.0.4 section 5, table 4): CID -> (length in an uplink, length in a
# downlink), the payload after the CID.
MAC_LENGTHS = {
    0x01: (1, 1),  # ResetInd/Conf (1.1; never sent by 1.0.4 devices)
    0x02: (0, 2),  # LinkCheckReq / LinkCheckAns
    0x03: (1, 4),  # LinkADRAns / LinkADRReq
    0x04: (0, 1),  # DutyCycleAns / DutyCycleReq
    0x05: (1, 4),  # RXParamSetupAns / RXParamSetupReq
    0x06: (2, 0),  # DevStatusAns / DevStatusReq
    0x07: (1, 5),  # NewChannelAns / NewChannelReq
    0x08: (0, 1),  # RXTimingSetupAns / RXTimingSetupReq
    0x09: (0, 1),  # TxParamSetupAns / TxParamSetupReq
    0x0A: (1, 4),  # DlChannelAns / DlChannelReq
    0x0D: (0, 5),  # DeviceTimeReq / DeviceTimeAns
}
LINK_ADR = 0x03
