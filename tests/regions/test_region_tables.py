"""Every region of `lorafield_node.region.NAMES` against the values of LoRaWAN Regional
Parameters RP002-1.0.4, written down with the section they come from: the tables in
`rp002.py` (shared with the field tests of this folder), the rest here (RP002-1.0.4
numbering: 2.3 common defaults, 2.4 EU863-870, 2.5 US902-928, 2.8 AU915-928, 2.10 AS923,
2.11 KR920-923, 2.12 IN865-867; .2 channels, .3 data rates and TX power, .4 CFList, .5
LinkADRReq, .6 maximum payload, .7 receive windows).

A value the firmware's tables hold differently from RP002 is an `xfail(strict=True)` case
naming the difference (see the test's reason): it is reported, not changed here, and the
case turns into a failure the day the table is corrected, so that the mark goes too.
"""

from __future__ import annotations

import pytest
from lorafield_node import region as rg
from lorafield_node.macjoin import join_channels
from rp002 import (
    AS923_RX1_DWELL,
    DATA_RATES,
    DEFAULT_CHANNELS,
    EU868_M_REPEATER,
    FSK,
    MAX_M,
    MAX_M_DWELL,
    NAMES,
    RFU,
    RX1,
    RX2,
    UPLINK_DRS,
    US915_M_REPEATER,
    key,
)


def test_the_regions():
    assert rg.NAMES == NAMES
    for name in NAMES:
        assert rg.region(name).name == name
    assert rg.region("AS923").name == "AS923-1"  # the common name of group 1
    with pytest.raises(ValueError):
        rg.region("CN470")


# -- data rates (x.3) ------------------------------------------------------------------------
def _dr_table(r):
    out = []
    for dr in range(r.num_dr()):
        if not r.valid_dr(dr):
            out.append(RFU)
        elif r.dr_sf[dr] == rg.FSK:
            out.append(FSK)
        else:
            out.append(r.dr_params(dr))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_data_rates(name):
    want = DATA_RATES[key(name)]
    r = rg.region(name)
    assert _dr_table(r) == want
    for dr, setting in enumerate(want):
        if isinstance(setting, tuple):
            assert r.dr_of(*setting) in (dr, _first(want, setting))


def _first(table, setting):
    return table.index(setting)


@pytest.mark.parametrize("name", NAMES)
def test_uplink_data_rates(name):
    r = rg.region(name)
    want = UPLINK_DRS[key(name)]
    assert [dr for dr in range(r.num_dr()) if r.uplink_dr(dr)] == want
    if name.startswith("AS923") or name == "AU915":
        # 2.10.3 / 2.8.3: with UplinkDwellTime = 1 (400 ms), DR0 and DR1 are not allowed.
        assert [dr for dr in range(r.num_dr()) if r.uplink_dr(dr, True)] == want[2:]


def _m(r, dwell=False):
    out = []
    for dr in range(r.num_dr()):
        if not r.valid_dr(dr):
            out.append(None)
            continue
        n = r.max_payload(dr, 0, dwell)
        out.append(None if n < 0 else n + 8)
    return out


@pytest.mark.parametrize("name", [n for n in NAMES if n != "EU868"])
def test_max_payload(name):
    k = key(name)
    r = rg.region(name)
    assert _m(r) == MAX_M[k]
    if k in MAX_M_DWELL:
        assert _m(r, dwell=True) == MAX_M_DWELL[k]
    # N = M - 8, minus FOpts
    dr = next(d for d, m in enumerate(MAX_M[k]) if m)
    assert r.max_payload(dr, fopts_len=5) == MAX_M[k][dr] - 8 - 5


def test_eu868_max_payload_is_the_repeater_compatible_table():
    # By decision (issue 20): EU868 keeps RP002 2.4.6's repeater-compatible M (230 at DR4..7,
    # N 222, as TTN and ChirpStack in Europe and lorawan-facts.md); the other regions use their
    # not-repeater-compatible tables.
    assert _m(rg.region("EU868")) == EU868_M_REPEATER


def test_us915_repeater_table():
    got = [m or None for m in rg.region("US915").max_mac_payload_repeater]
    assert got[8:] == US915_M_REPEATER[8:]
    assert got[:3] == US915_M_REPEATER[:3]


def test_us915_repeater_table_uplink_rates():
    assert list(rg.region("US915").max_mac_payload_repeater)[3:5] == US915_M_REPEATER[3:5]


# Cells where the firmware's table holds another value: (region, up, offset, dwell) -> it.
# Cells where the firmware's table holds another value: (region, up, offset, dwell) -> it.
# None since issue 20's review: AS923 reaches DR6/DR7 and IN865 DR5 + offset 7 gives DR7.
RX1_DIFFERENT: dict[tuple[str, int, int, bool], int] = {}


def _rx1_cases():
    for name, table in RX1.items():
        for dwell, rows in ((False, table), (True, AS923_RX1_DWELL)):
            if dwell and name != "AS923-1":
                continue
            got = {}
            for up, row in enumerate(rows):
                for off, want in enumerate(row):
                    got[(up, off)] = want
            yield name, dwell, got


@pytest.mark.parametrize(
    ("name", "dwell"),
    [(n, d) for n, d, _ in _rx1_cases()],
)
def test_rx1_data_rate_tables(name, dwell):
    (want,) = [w for n, d, w in _rx1_cases() if (n, d) == (name, dwell)]
    r = rg.region(name)
    wrong = {}
    for (up, off), dr in want.items():
        have = r.rx1_dr(up, off, dwell)
        if have != dr:
            wrong[(up, off)] = (have, dr)
    expected_wrong = {
        (up, off): (have, want[(up, off)])
        for (n, up, off, d), have in RX1_DIFFERENT.items()
        if n == name and d == dwell
    }
    # every difference is a reported one, and every reported one is still there
    assert wrong == expected_wrong


def test_as923_rx1_reaches_dr6_and_dr7():
    r = rg.region("AS923-1")
    assert (r.rx1_dr(5, 6), r.rx1_dr(6, 0), r.rx1_dr(7, 0)) == (6, 6, 7)


def test_in865_rx1_dr5_offset7_is_dr7():
    assert rg.region("IN865").rx1_dr(5, 7) == 7


@pytest.mark.parametrize("name", NAMES)
def test_rx2_defaults(name):
    r = rg.region(name)
    assert (r.rx2_frequency, r.rx2_dr) == RX2[name]


def test_class_a_timing_is_the_common_default():
    # 2.3 (default settings, every region): RECEIVE_DELAY1 1 s, RECEIVE_DELAY2 2 s,
    # JOIN_ACCEPT_DELAY1 5 s, JOIN_ACCEPT_DELAY2 6 s, ADR_ACK_LIMIT 64, ADR_ACK_DELAY 32
    assert (rg.RECEIVE_DELAY1, rg.RECEIVE_DELAY2) == (1, 2)
    assert (rg.JOIN_ACCEPT_DELAY1, rg.JOIN_ACCEPT_DELAY2) == (5, 6)
    assert (rg.ADR_ACK_LIMIT, rg.ADR_ACK_DELAY) == (64, 32)


# -- channels (x.2) --------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(DEFAULT_CHANNELS))
def test_default_channels(name):
    channels = DEFAULT_CHANNELS[name]
    r = rg.region(name)
    assert not r.fixed
    assert tuple(r.default_channels) == channels
    assert (r.default_dr_min, r.default_dr_max) == (0, 5)  # DR0..DR5 on each
    assert r.max_channels == 16  # channel data structure for at least 16 channels
    assert r.default_mask() == (1 << len(channels)) - 1
    assert r.cflist_type == 0  # x.4: a list of frequencies
    for f in channels:
        assert r.valid_frequency(f)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("EU868", 863_000_000, 870_000_000),  # 2.4.2
        ("US915", 902_000_000, 928_000_000),  # 2.5.2
        ("AU915", 915_000_000, 928_000_000),  # 2.8.2
        ("AS923-1", 915_000_000, 928_000_000),  # 2.10.2 groups
        ("AS923-2", 920_000_000, 923_000_000),
        ("AS923-3", 915_000_000, 921_000_000),
        ("AS923-4", 917_000_000, 920_000_000),
        ("KR920", 920_900_000, 923_300_000),  # 2.11.2
        ("IN865", 865_000_000, 867_000_000),  # 2.12.2
    ],
)
def test_frequency_range(name, low, high):
    r = rg.region(name)
    assert r.valid_frequency(low) and r.valid_frequency(high)
    assert not r.valid_frequency(low - 100) and not r.valid_frequency(high + 100)


@pytest.mark.parametrize(
    ("name", "up125", "up500", "dr125", "dr500"),
    [
        # 2.5.2: 64 channels of 125 kHz from 902.3 MHz by 200 kHz (DR0..3), 8 of 500 kHz
        # from 903.0 MHz by 1.6 MHz (DR4); downlink 8 x 500 kHz from 923.3 MHz by 600 kHz
        ("US915", 902_300_000, 903_000_000, (0, 3), 4),
        # 2.8.2: 915.2 MHz (DR0..5), 915.9 MHz (DR6); downlink as US915
        ("AU915", 915_200_000, 915_900_000, (0, 5), 6),
    ],
)
def test_fixed_channel_grid(name, up125, up500, dr125, dr500):
    r = rg.region(name)
    assert r.fixed and r.max_channels == 72 and r.cflist_type == 1  # x.4: ChMask CFList
    for i in range(72):
        up, rx1, rng = r.channel(i)
        if i < 64:
            assert up == up125 + 200_000 * i
            assert (rng & 0x0F, rng >> 4) == dr125
        else:
            assert up == up500 + 1_600_000 * (i - 64)
            assert (rng & 0x0F, rng >> 4) == (dr500, dr500)
        # x.7: RX1 channel = uplink channel modulo 8, 923.3 MHz + 600 kHz * n
        assert rx1 == 923_300_000 + 600_000 * (i % 8)
        assert r.rx1_frequency(i, up) == rx1
        assert r.valid_frequency(up)
    assert r.channel(63)[0] == (914_900_000 if name == "US915" else 927_800_000)
    assert r.channel(71)[0] == (914_200_000 if name == "US915" else 927_100_000)
    assert [r.valid_rx_frequency(923_300_000 + 600_000 * n) for n in range(8)] == [True] * 8
    assert not r.valid_rx_frequency(923_400_000)
    assert r.default_mask() == (1 << 72) - 1  # all 72 channels after a reset (x.2)


@pytest.mark.parametrize("name", ["US915", "AU915"])
def test_sub_bands(name):
    """Sub-band k (1..8): 125 kHz channels 8(k-1)..8k-1 and 500 kHz channel 64 + k - 1
    (FSB2 in US915: 903.9..905.3 MHz and 904.6 MHz)."""
    r = rg.region(name, sub_bands=(2,))
    mask = r.default_mask()
    assert [i for i in range(72) if mask >> i & 1] == [8, 9, 10, 11, 12, 13, 14, 15, 65]
    if name == "US915":
        assert [r.channel(i)[0] for i in (8, 15, 65)] == [903_900_000, 905_300_000, 904_600_000]
    one = rg.region(name, channels=(8,))
    assert one.default_mask() == 1 << 8
    with pytest.raises(ValueError):
        rg.region(name, sub_bands=(9,))
    with pytest.raises(ValueError):
        rg.region("EU868", sub_bands=(2,))


# -- TX power (x.3) --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "max_eirp", "steps"),
    [
        ("EU868", 16, 7),  # 2.4.3: MaxEIRP 16 dBm, TXPower 0..7 = MaxEIRP - 2n
        ("US915", 30, 14),  # 2.5.3: 30 dBm - 2n, 0..14
        ("AU915", 30, 14),  # 2.8.3: MaxEIRP 30 dBm, 0..14
        ("AS923-1", 16, 7),  # 2.10.3: MaxEIRP 16 dBm, 0..7
        ("KR920", 14, 7),  # 2.11.3: MaxEIRP 14 dBm (channels >= 922 MHz), 0..7
        ("IN865", 30, 10),  # 2.12.3: MaxEIRP 30 dBm, 0..10
    ],
)
def test_tx_power(name, max_eirp, steps):
    r = rg.region(name)
    assert [r.tx_power_dbm(n) for n in range(steps + 1)] == [
        max_eirp - 2 * n for n in range(steps + 1)
    ]
    assert r.tx_power_dbm(steps + 1) == -1


def test_max_eirp_field():
    """LoRaWAN 1.0.4 5.12 table 20 (TxParamSetupReq MaxEIRP codes 0..15)."""
    want = [8, 10, 12, 13, 14, 16, 18, 20, 21, 24, 26, 27, 29, 30, 33, 36]
    assert list(rg.MAX_EIRP_TABLE) == want


# -- duty cycle, dwell time, TxParamSetupReq -------------------------------------------------
@pytest.mark.parametrize(
    ("name", "tx_param", "uplink_dwell"),
    [
        ("EU868", False, False),  # 2.4.3: no dwell time limit, TxParamSetupReq not implemented
        ("US915", False, False),  # 2.5.3: 400 ms by the tables, TxParamSetupReq not implemented
        ("AU915", True, True),  # 2.8.3: UplinkDwellTime = 1 until TxParamSetupReq says 0
        ("AS923-1", True, True),  # 2.10.3: likewise
        ("KR920", False, False),  # 2.11.3
        ("IN865", False, False),  # 2.12.3
    ],
)
def test_dwell_time_and_tx_param_setup(name, tx_param, uplink_dwell):
    r = rg.region(name)
    assert (r.tx_param_setup, r.uplink_dwell) == (tx_param, uplink_dwell)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "EU868"])
def test_no_duty_cycle_outside_europe(name):
    """RP002 sets no duty cycle in these regions (US/AU: FCC 15.247 and ACMA dwell time;
    KR920: listen before talk; IN865: none; AS923: the country's rules): factor 0."""
    r = rg.region(name)
    freqs = [r.channel(i)[0] for i in range(72)] if r.fixed else list(r.default_channels)
    assert {r.off_time_factor(f) for f in freqs} == {0}


def test_eu868_duty_cycle_sub_bands():
    """2.4.2 (ETSI EN 300 220): the default channels are in the 868.0-868.6 MHz 1 % band,
    RX2's 869.525 MHz in the 10 % band."""
    r = rg.region("EU868")
    assert {r.off_time_factor(f) for f in r.default_channels} == {99}
    assert r.off_time_factor(869_525_000) == 9


# -- join channels (x.2) ---------------------------------------------------------------------
def test_us915_join_rotation_visits_every_sub_band_and_500_khz():
    """2.5.2: a device joins on random 125 kHz channels at DR0 and 500 kHz channels at DR4;
    the rotation (eight 125 kHz attempts, one per sub-band, then one at DR4) finds a gateway
    of any sub-band within nine attempts."""
    r = rg.region("US915")
    bands = set()
    for attempt in range(9):
        mask, dr = join_channels(r, attempt)
        if dr == 4:
            assert mask == 0xFF << 64
        else:
            assert dr == 0
            (band,) = {i // 8 for i in range(64) if mask >> i & 1}
            bands.add(band)
    assert bands == set(range(8))
    fsb2 = rg.region("US915", sub_bands=(2,))
    for attempt in range(18):
        mask, dr = join_channels(fsb2, attempt)
        assert mask & ~fsb2.default_mask() == 0 and mask


@pytest.mark.parametrize("name", ["AS923-1", "AU915"])
def test_dwell_time_regions_join_at_dr2_or_faster(name):
    r = rg.region(name)
    assert min(join_channels(r, n)[1] for n in range(30)) == 2
