"""Time on air: the Semtech formula against the reference table, and the airtime command."""

import re
from fractions import Fraction

import pytest
from lorafield_hw import airtime
from lorafield_tools.cli import main

# Time on air (PL = the whole PHYPayload; explicit header, CRC on, 8 preamble symbols, CR 4/5
# unless said, low data rate optimisation at SF11/SF12 at 125 kHz), from Semtech AN1200.13
# ("LoRa Modem Designer's Guide") and the SX1276 datasheet section 4.1.1.7, as tabulated in
# the project's reference notes (lorawan-facts.md, "Time on air"): copied here so the suite
# depends on nothing outside the repository.
TABLE = [
    (14, "SF7/125", 46.336),
    (16, "SF7/125", 51.456),
    (25, "SF7/125", 61.696),
    (14, "SF8/125", 82.432),
    (25, "SF8/125", 113.152),
    (14, "SF11/125", 659.456),
    (25, "SF11/125", 823.296),
    (14, "SF7/250", 23.168),
    (14, "SF7/125, CR 4/8", 61.696),
]


def _parse(setting):
    match = re.fullmatch(r"SF(\d+)/(\d+)(?:, CR 4/(\d))?", setting)
    sf, bw, cr = match.groups()
    return int(sf), bw, int(cr or 5)


@pytest.mark.parametrize(("payload", "setting", "expected_ms"), TABLE)
def test_formula_matches_reference_table(payload, setting, expected_ms):
    sf, bw, cr = _parse(setting)
    seconds = airtime.time_on_air_s(payload, sf, int(bw) * 1000, coding_rate=cr)
    assert airtime.format_ms(seconds) == f"{expected_ms:.3f}"
    assert airtime.time_on_air_us(payload, sf, int(bw) * 1000, coding_rate=cr) == pytest.approx(
        expected_ms * 1000
    )


@pytest.mark.parametrize(("payload", "setting", "expected_ms"), TABLE)
def test_cli_prints_reference_value(payload, setting, expected_ms, capsys):
    sf, bw, cr = _parse(setting)
    argv = ["airtime", "--sf", str(sf), "--bw", bw, "--payload-bytes", str(payload)]
    if cr != 5:
        argv += ["--cr", str(cr)]
    assert main(argv) == 0
    assert capsys.readouterr().out == f"{expected_ms:.3f}\n"


def test_ldro_follows_symbol_time():
    assert airtime.ldro_required(11, 125_000) and airtime.ldro_required(12, 125_000)
    assert not airtime.ldro_required(10, 125_000)
    assert not airtime.ldro_required(11, 250_000)
    # Forcing LDRO off at SF11/125 gives fewer bits per symbol block -> shorter frame.
    auto = airtime.time_on_air_s(25, 11, 125_000)
    off = airtime.time_on_air_s(25, 11, 125_000, ldro=False)
    assert off < auto


def test_crc_header_and_preamble_options():
    base = airtime.time_on_air_s(14, 7, 125_000)
    t_sym = airtime.symbol_time_s(7, 125_000)
    assert airtime.time_on_air_s(14, 7, 125_000, preamble=10) - base == 2 * t_sym
    assert airtime.time_on_air_s(14, 7, 125_000, crc=False) <= base
    assert airtime.time_on_air_s(14, 7, 125_000, implicit_header=True) < base
    # 4.25 symbols of sync/SFD on top of the programmed preamble, 8 symbols minimum payload.
    assert (
        airtime.time_on_air_s(1, 7, 125_000, crc=False, implicit_header=True)
        == (Fraction(8 + 8) + Fraction(17, 4)) * t_sym
    )


def test_exact_for_non_integer_bandwidth():
    # 7.8 kHz is 7812.5 Hz exactly: SF12 symbol = 4096 / 7812.5 = 524.288 ms.
    assert airtime.symbol_time_s(12, airtime.BANDWIDTH_BY_KHZ["7.8"]) * 1000 == Fraction("524.288")


def test_cli_options(capsys):
    assert main(["airtime", "--sf", "7", "--bw", "125", "--payload-bytes", "14", "--no-crc"]) == 0
    no_crc = float(capsys.readouterr().out)
    assert no_crc == float(airtime.format_ms(airtime.time_on_air_s(14, 7, 125_000, crc=False)))
    argv = ["airtime", "--sf", "11", "--bw", "125", "--payload-bytes", "25", "--ldro", "off"]
    assert main(argv) == 0
    assert float(capsys.readouterr().out) < 823.296
    assert (
        main(["airtime", "--sf", "7", "--bw", "125", "--payload-bytes", "14", "--preamble", "10"])
        == 0
    )
    assert float(capsys.readouterr().out) == pytest.approx(46.336 + 2 * 1.024)


@pytest.mark.parametrize(
    "argv",
    [
        ["--sf", "13", "--bw", "125", "--payload-bytes", "14"],
        ["--sf", "7", "--bw", "100", "--payload-bytes", "14"],
        ["--sf", "7", "--bw", "125", "--payload-bytes", "0"],
        ["--sf", "7", "--bw", "125", "--payload-bytes", "256"],
        ["--sf", "7", "--bw", "125", "--payload-bytes", "14", "--cr", "9"],
        ["--sf", "7", "--bw", "125", "--payload-bytes", "14", "--preamble", "2"],
        ["--sf", "seven", "--bw", "125", "--payload-bytes", "14"],
        ["--bw", "125", "--payload-bytes", "14"],
        ["--sf", "7", "--bw", "125", "--payload-bytes", "14", "--ldro", "maybe"],
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv, capsys):
    assert main(["airtime", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_firmware_integer_airtime_agrees_with_the_host_formula():
    # The device needs its own MicroPython-friendly copy; both must give the same physics.
    firmware = pytest.importorskip("lorafield_node.airtime")
    for sf in range(6, 13):
        for bw in (62_500, 125_000, 250_000, 500_000):
            for cr in range(5, 9):
                for crc in (True, False):
                    for length in range(0, 256, 9):
                        expected = round(
                            airtime.time_on_air_us(length, sf, bw, coding_rate=cr, crc=crc)
                        )
                        assert firmware.airtime_us(length, sf, bw, cr, crc) == expected
