"""Regions on the command line and in the emulated field's scenarios: `lorafield airtime
--region`, `lorafield bench air --region`, SCENARIO.toml's `region`/`sub_bands`, the device
settings `region`/`sub_bands`/`channels` (lorafield_node.settings, also under MicroPython),
the air model's 500 kHz channels, and a short US915 and AS923 field run with the apps, the
gateway service and the local server."""

import json

import pytest
from lorafield_hw.air import SENSITIVITY_DBM, Air, Gateway, Transmitter
from lorafield_hw.airtime import time_on_air_us
from lorafield_hw.plans import gateway_channels
from lorafield_hw.scheduler import Scheduler
from lorafield_node.deploy import ConfigError, parse
from lorafield_node.settings import check_settings
from lorafield_tools.cli import main
from lorafield_tools.field.spec import ScenarioError, parse_scenario, scenario_toml
from lorafield_tools.workbench.config import device_config
from rp002 import NAMES, sub_band_channels

VALID = ", ".join(NAMES)


# -- lorafield airtime -----------------------------------------------------------------------
def test_airtime_of_a_regions_data_rate(capsys):
    # US915 DR4 = SF8/500 kHz (RP002 2.5.3); 20 bytes: 12.25 + 30 symbols of 0.512 ms
    assert main(["airtime", "--region", "US915", "--dr", "4", "--payload-bytes", "20"]) == 0
    assert capsys.readouterr().out == "25.728\n"
    assert main(["airtime", "--sf", "8", "--bw", "500", "--payload-bytes", "20"]) == 0
    assert capsys.readouterr().out == "25.728\n"  # the same frame without a region
    argv = ["airtime", "--region", "US915", "--sf", "8", "--bw", "500", "--payload-bytes", "20"]
    assert main(argv) == 0
    assert capsys.readouterr().out == "25.728\n"


def test_airtime_lists_every_uplink_data_rate(capsys):
    assert main(["airtime", "--region", "US915", "--payload-bytes", "30"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "DR0 SF10/125 kHz: 452.608 ms (over 24 bytes)",  # M 19 + MHDR + MIC (2.5.6)
        "DR1 SF9/125 kHz: 226.304 ms",
        "DR2 SF8/125 kHz: 123.392 ms",
        "DR3 SF7/125 kHz: 71.936 ms",
        "DR4 SF8/500 kHz: 30.848 ms",
    ]
    assert main(["airtime", "--region", "AS923-2", "--payload-bytes", "20"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 7  # DR0..DR6 (DR7 is FSK)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--region", "US902"], f"--region: unknown region 'US902': one of {VALID}"),
        (["--region", "US915", "--dr", "5"], "US915's uplink data rates are DR0, DR1, DR2, DR3"),
        (["--region", "US915", "--dr", "8"], "uplink data rates are"),  # downlink only
        (["--region", "US915", "--sf", "12", "--bw", "125"], "not an uplink data rate of US915"),
        (["--region", "US915", "--dr", "1", "--sf", "9"], "give --dr or --sf/--bw, not both"),
        (["--dr", "3"], "--dr needs --region"),
        (["--bw", "125"], "--sf and --bw are needed"),
    ],
)
def test_airtime_region_errors(argv, needle, capsys):
    assert main(["airtime", *argv, "--payload-bytes", "12"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lorafield airtime: ") and needle in err and err.count("\n") == 1


def test_airtime_refuses_a_frame_too_long_for_the_rate(capsys):
    argv = ["airtime", "--region", "US915", "--dr", "0", "--payload-bytes", "25"]
    assert main(argv) == 2
    assert "US915 DR0 carries at most 24 bytes of PHYPayload (MACPayload 19)" in (
        capsys.readouterr().err
    )


# -- lorafield bench air ---------------------------------------------------------------------
def _lines(out):
    return dict(line.split(": ", 1) for line in out.splitlines())


def test_bench_air_in_us915(capsys):
    argv = ["bench", "air", "--region", "US915", "--nodes", "50", "--interval-s", "60"]
    argv += ["--sf", "8", "--bw", "500", "--hours", "0.2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("region: US915\nsub_bands: 2\nchannels: 1\n")
    got = _lines(out)
    assert got["sent_per_channel_mhz"].startswith("904.6=")  # FSB2's 500 kHz channel 65
    assert got["airtime_ms"] == "25.728"
    assert int(got["received"]) > 0


def test_bench_air_channels_of_a_sub_band(capsys):
    argv = ["bench", "air", "--region", "US915", "--sub-band", "3", "--nodes", "40"]
    argv += ["--channels", "8", "--hours", "0.2", "--interval-s", "60"]
    assert main(argv) == 0
    got = _lines(capsys.readouterr().out)
    used = [float(item.split("=")[0]) for item in got["sent_per_channel_mhz"].split()]
    want = [f / 1e6 for f, bw in sub_band_channels("US915", 3) if bw == 125_000]
    assert used == pytest.approx(want)


def test_bench_air_without_a_region_prints_what_it_did(capsys):
    assert main(["bench", "air", "--nodes", "10", "--hours", "0.05"]) == 0
    assert capsys.readouterr().out.startswith("channels: 1\ncapture: on\n")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--region", "XX"], f"unknown region 'XX': one of {VALID}"),
        (["--region", "EU868", "--sub-band", "2"], "EU868 has no sub-bands"),
        (["--region", "US915", "--sub-band", "9"], "US915 sub-bands are 1..8"),
        (["--sub-band", "2"], "--sub-band needs --region"),
        (["--region", "US915", "--nodes", "5", "--sf", "12"], "not an uplink data rate of US915"),
        (["--region", "US915", "--nodes", "5", "--channels", "9"], "--channels must be 1..8"),
    ],
)
def test_bench_air_region_errors(argv, needle, capsys):
    assert main(["bench", "air", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lorafield bench air: ") and needle in err and err.count("\n") == 1


# -- the air at 500 kHz ----------------------------------------------------------------------
def test_a_concentrator_hears_its_500_khz_channel_at_the_datasheets_sensitivity():
    """An 8-channel US915 gateway (FSB2): eight 125 kHz channels at SF7..SF10 and the 500 kHz
    channel 65 at SF8 (DR4). A DR4 frame there is received at or above the SX1276's
    RFS_L500_HF SF8 sensitivity, -119 dBm (datasheet rev. 7, 2.5.5), and lost below it; the
    same SF8 at 125 kHz on 904.6 MHz is not on any channel the gateway listens on."""
    assert SENSITIVITY_DBM[500_000][8] == -119
    plan = gateway_channels("US915", (2,))
    assert plan["channels_hz"] == tuple(f for f, bw in sub_band_channels("US915", 2)[:8])
    assert plan["sfs"] == (7, 8, 9, 10)
    assert plan["extra_channels"] == ((904_600_000, 500_000, (8,)),)
    scheduler = Scheduler(1)
    air = Air(scheduler)
    gateway = Gateway(air, "gw", (0.0, 0.0), on_receive=None, **plan).start()
    # LoRaSim's default path loss: 127.41 dB at 40 m, exponent 2.08
    budget = 14 + 119 - 127.41  # dB over the reference loss at -119 dBm
    edge_m = 40 * 10 ** (budget / 20.8)
    near = Transmitter(air, "near", (edge_m * 0.98, 0.0), frequency_hz=904_600_000, sf=8)
    far = Transmitter(air, "far", (edge_m * 1.02, 0.0), frequency_hz=904_600_000, sf=8)
    narrow = Transmitter(air, "narrow", (10.0, 0.0), frequency_hz=904_600_000, sf=8)
    near.send(bytes(20), bw_hz=500_000)
    scheduler.run_until(100_000)
    far.send(bytes(20), bw_hz=500_000)
    scheduler.run_until(200_000)
    narrow.send(bytes(20), bw_hz=125_000)
    scheduler.run_until(400_000)
    assert [r.frame.sender.name for r in gateway.received] == ["near"]
    assert far.tx.lost_sensitivity == 1 and narrow.tx.received == 0
    assert gateway.received[0].frame.end_us - gateway.received[0].frame.start_us == round(
        time_on_air_us(20, 8, 500_000)
    )


# -- device settings -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"region": "US915", "sub_bands": [2], "dr": 4}, None),
        ({"region": "US915", "channels": [8], "dr": 3}, None),
        ({"region": "US915", "channels": [8], "dr": 4}, "dr must be an integer 0..3 in US915"),
        ({"region": "US915", "dr": 5}, "dr must be an integer 0..4 in US915"),
        ({"region": "AU915", "dr": 6}, None),
        ({"region": "AU915", "dr": 1}, "dr must be an integer 2..6 in AU915"),  # dwell time
        ({"region": "AS923-3", "dr": 1}, "dr must be an integer 2..5 in AS923-3"),
        ({"region": "KR920", "channels": [0, 2]}, None),
        ({"dr": 5}, None),
        ({"dr": 6}, "dr must be an integer 0..5"),  # EU868's message as it always was
        ({"region": "US902"}, f"region must be one of: {VALID}"),
        ({"sub_bands": [2]}, "sub-bands exist only in US915 and AU915"),
        ({"region": "US915", "sub_bands": [0]}, "sub-bands are 1..8"),
        ({"region": "US915", "sub_bands": 2}, "sub_bands must be a non-empty list of integers"),
        ({"region": "US915", "channels": []}, "channels must be a non-empty list of integers"),
        ({"region": "US915", "channels": [72]}, "channels are 0..71"),
        ({"region": "IN865", "channels": [3]}, "channel 3 is not a default channel of IN865"),
    ],
)
def test_region_settings_are_checked_against_the_region(settings, error):
    if error is None:
        check_settings("temperature", settings)
    else:
        with pytest.raises(ConfigError) as exc:
            check_settings("temperature", settings)
        assert str(exc.value) == error


CONFIG = {
    "board": "pico_rfm95w",
    "app": "temperature",
    "dev_eui": "70b3d57ed0002001",
    "join_eui": "70b3d57ed00000ff",
    "app_key": "2b7e151628aed2a6abf7158809cf4f3c",
}


@pytest.mark.micropython
def test_the_device_checks_region_settings_and_unloads_the_tables(micropython):
    """On the device the check loads the region's tables and unloads them again (the MAC
    loads its own later): after parse() no region module is left in sys.modules."""
    vm = micropython
    vm.run("import sys\nfrom lorafield_node.deploy import parse, ConfigError")
    good = json.dumps(dict(CONFIG, region="US915", sub_bands=[2], dr=4))
    out = vm.run(
        f"s = parse({good!r})\n"
        "print(s['region'], s['sub_bands'], s['dr'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('lorafield_node.region')))"
    )
    assert out.splitlines() == ["US915 [2] 4", "[]"]
    bad = json.dumps(dict(CONFIG, region="US915", dr=5))
    out = vm.run(f"try:\n    parse({bad!r})\nexcept ConfigError as e:\n    print(e)")
    assert out.strip() == "dr must be an integer 0..4 in US915"
    assert parse(good)["region"] == "US915"  # CPython: the same parse


# -- scenarios and the emulated field --------------------------------------------------------
SCENARIO = {
    "field": {"name": "plains", "hours": 1, "seed": 2, "region": "US915", "sub_bands": [2]},
    "gateway": [{"position": [0, 0]}],
    "node": [
        {"kind": "temperature", "name": "t", "position": [200, 0], "count": 3},
        {"kind": "temperature", "name": "one", "position": [150, 50], "settings": {"dr": 3}},
    ],
}


def test_a_scenario_names_its_region():
    spec = parse_scenario(json.loads(json.dumps(SCENARIO)))
    assert (spec.region, spec.sub_bands, spec.gateway_sub_bands()) == ("US915", [2], [2])
    node = spec.nodes[-1]
    assert spec.device_settings(node)["region"] == "US915"
    assert spec.device_settings(node)["sub_bands"] == [2]
    again = parse_scenario(__import__("tomllib").loads(scenario_toml(spec)))
    assert (again.region, again.sub_bands) == ("US915", [2])
    eu = parse_scenario({"gateway": [{"position": [0, 0]}], "node": SCENARIO["node"][:1]})
    assert eu.region == "EU868" and eu.radio_settings() == {} and "region" not in scenario_toml(eu)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda s: s["field"].update(region="US"), f"region must be one of {VALID}, got 'US'"),
        (lambda s: s["field"].update(region="EU868"), "sub_bands: EU868: sub-bands exist only"),
        (lambda s: s["field"].update(sub_bands=[9]), "sub_bands: US915: sub-bands are 1..8"),
        (lambda s: s["field"].update(sub_bands=2), "sub_bands must be a list of sub-band"),
        (lambda s: s["node"][1]["settings"].update(dr=5), "dr must be an integer 0..4 in US915"),
        (lambda s: s["node"][1]["settings"].update(region="AU915"), "region is the field's"),
    ],
)
def test_scenario_region_errors(change, needle):
    raw = json.loads(json.dumps(SCENARIO))
    change(raw)
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(raw, "plains.toml")
    assert str(exc.value).startswith("plains.toml: ") and needle in str(exc.value)


@pytest.mark.parametrize("region", ["US915", "AS923-1"])
def test_an_emulated_field_in_another_region(tmp_path, capsys, region):
    """The apps (their framework builds the Mac from the device settings), the gateway
    service on the region's channels and the local server of the region: every node joins
    and reports, every frame on the region's channels (FSB2 in US915, after the join)."""
    raw = json.loads(json.dumps(SCENARIO))
    raw["field"]["region"] = region
    if region != "US915":
        del raw["field"]["sub_bands"]
        raw["node"][1]["settings"] = {"dr": 5}
    path = tmp_path / "plains.toml"
    path.write_text(_toml(raw))
    assert main(["emulate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    where = "US915 (sub-band 2)" if region == "US915" else region
    assert out.startswith(f"plains: 4 nodes (4 temperature), 1 gateway, 1 h emulated, in {where}")
    fleet = (tmp_path / "out" / "fleet.toml").read_text()
    assert f'\nregion = "{region}"\n' in fleet  # the fleet's region, given to every device
    from lorafield_gateway.fleet import load_fleet

    for device in load_fleet(tmp_path / "out" / "fleet.toml"):
        assert json.loads(device_config(device, device.board))["region"] == region
    import sqlite3

    db = sqlite3.connect(tmp_path / "out" / "lns.sqlite3")
    joined = db.execute("SELECT count(DISTINCT dev_eui) FROM sessions").fetchone()[0]
    readings = db.execute("SELECT count(DISTINCT dev_eui) FROM readings").fetchone()[0]
    freqs = {row[0] for row in db.execute("SELECT frequency_hz FROM frames")}
    db.close()
    assert joined == readings == 4
    if region == "US915":
        assert freqs <= {f for f, _ in sub_band_channels("US915", 2)}
    else:
        assert freqs <= {923_200_000, 923_400_000}


def _toml(raw):
    from lorafield_gateway.toml_text import toml_value

    lines = ["[field]"] + [f"{k} = {toml_value(v)}" for k, v in raw["field"].items()]
    for table in ("gateway", "node"):
        for entry in raw[table]:
            lines += ["", f"[[{table}]]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"
