"""Firmware time-on-air against the reference table (lorawan-facts.md, AN1200.13)."""

import pytest
from lorafield_node.airtime import airtime_us, low_data_rate_optimize, symbol_us

REFERENCE = [  # (PHYPayload bytes, SF, bandwidth kHz, CR denominator, ms)
    (14, 7, 125, 5, 46.336),
    (16, 7, 125, 5, 51.456),
    (25, 7, 125, 5, 61.696),
    (14, 8, 125, 5, 82.432),
    (25, 8, 125, 5, 113.152),
    (14, 11, 125, 5, 659.456),
    (25, 11, 125, 5, 823.296),
    (14, 7, 250, 5, 23.168),
    (14, 7, 125, 8, 61.696),
]


@pytest.mark.parametrize(("length", "sf", "bw_khz", "cr", "ms"), REFERENCE)
def test_matches_reference_table(length, sf, bw_khz, cr, ms):
    assert airtime_us(length, sf, bw_khz * 1000, cr) == round(ms * 1000)


def test_low_data_rate_optimise_only_for_long_symbols():
    assert low_data_rate_optimize(11, 125_000) and low_data_rate_optimize(12, 125_000)
    assert not low_data_rate_optimize(10, 125_000)
    assert not low_data_rate_optimize(12, 500_000)


def test_downlinks_without_crc_are_shorter_and_sf12_is_longest():
    assert airtime_us(20, 7, 125_000, crc=False) < airtime_us(20, 7, 125_000)
    assert airtime_us(51, 12, 125_000) > airtime_us(51, 11, 125_000) > airtime_us(51, 10, 125_000)
    assert symbol_us(12, 125_000) == 32_768


@pytest.mark.parametrize(
    "kwargs", [{"sf": 13}, {"sf": 5}, {"cr": 9}, {"cr": 4}, {"payload_len": 256}, {"bw_hz": 0}]
)
def test_rejects_impossible_settings(kwargs):
    args = {"payload_len": 10, "sf": 7, "bw_hz": 125_000, "cr": 5} | kwargs
    with pytest.raises(ValueError):
        airtime_us(**args)
