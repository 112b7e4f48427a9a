"""EU868 regional parameters (RP002-1.0.4 section 2.4, figures in lorawan-facts.md)."""

from __future__ import annotations

import pytest
from lorafield_node import region as rg


@pytest.fixture
def eu():
    return rg.region("EU868")


def test_channels_and_rx2(eu):
    assert eu.default_channels == (868100000, 868300000, 868500000)
    assert (eu.default_dr_min, eu.default_dr_max) == (0, 5)
    assert (eu.rx2_frequency, eu.rx2_dr) == (869525000, 0)
    assert eu.sync_word == 0x34 and eu.preamble == 8
    for f in eu.default_channels:
        assert eu.valid_frequency(f)
    assert not eu.valid_frequency(862900000)
    assert not eu.valid_frequency(868100050)


def test_data_rates(eu):
    assert [eu.dr_params(d) for d in range(6)] == [(sf, 125000) for sf in (12, 11, 10, 9, 8, 7)]
    assert eu.dr_params(6) == (7, 250000)
    assert eu.dr_params(7)[0] == rg.FSK
    assert eu.dr_of(9, 125000) == 3 and eu.dr_of(7, 250000) == 6 and eu.dr_of(6, 125000) == -1
    with pytest.raises(ValueError):
        eu.dr_params(8)


def test_max_payload_m_and_n(eu):
    assert list(eu.max_mac_payload) == [59, 59, 59, 123, 230, 230, 230, 230]
    assert list(eu.max_app_payload) == [51, 51, 51, 115, 222, 222, 222, 222]
    # N = M - 8 (FHDR without FOpts + FPort), minus whatever FOpts take.
    assert [eu.max_payload(d) for d in range(8)] == list(eu.max_app_payload)
    assert eu.max_payload(0, fopts_len=3) == 48


def test_rx1_dr_offset_table(eu):
    assert eu.rx1_dr(5, 0) == 5
    assert eu.rx1_dr(5, 2) == 3
    assert eu.rx1_dr(1, 5) == 0  # floor at DR0
    assert eu.rx1_dr(7, 5) == 2
    assert eu.rx1_dr(5, 6) == -1  # offsets 6 and 7 are RFU in EU868
    assert eu.rx1_dr(8, 0) == -1


def test_tx_power(eu):
    assert [eu.tx_power_dbm(p) for p in range(8)] == [16, 14, 12, 10, 8, 6, 4, 2]
    assert eu.tx_power_dbm(8) == -1 and eu.tx_power_dbm(rg.TX_POWER_KEEP) == -1


@pytest.mark.parametrize(
    ("freq", "factor"),
    [
        (863100000, 999),  # 0.1 %
        (865000000, 99),
        (867900000, 99),  # 1 %
        (868000000, 99),
        (868100000, 99),
        (868500000, 99),
        (868800000, 999),
        (869525000, 9),  # 10 %
        (869850000, 99),
        (868650000, -1),  # between sub-bands: not allowed
        (869300000, -1),
        (870000000, -1),
    ],
)
def test_duty_cycle_subbands(eu, freq, factor):
    assert eu.off_time_factor(freq) == factor
    assert (eu.subband(freq) >= 0) == (factor >= 0)


def test_default_channels_share_one_subband(eu):
    assert len({eu.subband(f) for f in eu.default_channels}) == 1


def test_ch_mask():
    # Dynamic plans' LinkADRReq mask (RP002 2.4.5), as the node's receive path applies it.
    from lorafield_node.macrx import _dynamic_mask

    defined = 0b1111
    assert _dynamic_mask(0b101, 0, defined) == 0b101
    assert _dynamic_mask(1 << 9, 0, defined) == -1  # undefined channel
    assert _dynamic_mask(0x1234, 6, defined) == defined  # all defined on
    assert _dynamic_mask(0b1, 5, defined) == -1  # RFU ChMaskCntl
    assert not rg.region("EU868").mask_usable(0, 0)  # all off


def test_unknown_region():
    with pytest.raises(ValueError, match="unsupported region"):
        rg.region("CN470")


def test_fresh_objects_share_no_mutable_state():
    a, b = rg.region("EU868"), rg.region("EU868")
    a.rx2_dr = 3
    assert b.rx2_dr == 0
