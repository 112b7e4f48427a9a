"""`lorafield codec`, `lorafield bench codec` and `lorafield codec demo` (the codec self-demo)."""

import json
import subprocess
import sys

import pytest
from lorafield_codec import KINDS, decode, encode
from lorafield_tools.bench import codec as bench_codec
from lorafield_tools.cli import main
from lorafield_tools.commands import codec_demo as demo


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_encode_prints_kind_fport_hex(capsys):
    status, out, err = run_cli(capsys, "codec", "encode", "temperature", '{"temperature_c": 21.5}')
    assert status == 0 and err == ""
    assert json.loads(out) == {
        "kind": "temperature",
        "fPort": 12,
        "hex": encode("temperature", {"temperature_c": 21.5}).hex(),
    }
    assert out.count("\n") == 1


def test_decode_prints_kind_and_data(capsys):
    data = {"levels_mm": [1200, 1203, 1199], "interval_s": 900, "alarm": "rise"}
    hexa = encode("water_level", data).hex()
    status, out, err = run_cli(capsys, "codec", "decode", "--fport", "11", hexa)
    assert status == 0 and err == ""
    assert json.loads(out) == {"kind": "water_level", "data": data}


def test_encode_then_decode_every_kind(capsys):
    for kind, data in demo.EXAMPLES:
        _, out, _ = run_cli(capsys, "codec", "encode", kind, json.dumps(data))
        enc = json.loads(out)
        _, out, _ = run_cli(capsys, "codec", "decode", "--fport", str(enc["fPort"]), enc["hex"])
        assert json.loads(out) == {"kind": kind, "data": data}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["codec", "encode", "temperature", '{"temperature_c": 90}'], "temperature_c"),
        (["codec", "encode", "temperature", "{not json"], "JSON"),
        (["codec", "encode", "humidity", "{}"], "unknown kind"),
        (["codec", "encode", "parking", '{"occupied": true, "colour": 1}'], "colour"),
        (["codec", "encode", "parking", "[true]"], "wrong type"),
        (["codec", "decode", "--fport", "12", "19zz"], "hex"),
        (["codec", "decode", "--fport", "12", "1908"], "truncated"),
        (["codec", "decode", "--fport", "99", "01"], "unknown fPort"),
        (["codec", "decode", "--fport", "ten", "01"], "--fport"),
        (["codec", "decode", "01"], "--fport"),
        (["codec"], "ACTION"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err
    assert "Traceback" not in err


def test_cli_as_a_real_process():
    def lorafield(*argv):
        cmd = [sys.executable, "-m", "lorafield_tools", *argv]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    enc = lorafield("codec", "encode", "parking", '{"occupied": true, "since_s": 600}')
    assert enc.returncode == 0, enc.stderr
    result = json.loads(enc.stdout)
    assert result["fPort"] == 10
    dec = lorafield("codec", "decode", "--fport", "10", result["hex"])
    assert json.loads(dec.stdout) == {"kind": "parking", "data": {"occupied": True, "since_s": 600}}
    bad = lorafield("codec", "decode", "--fport", "10", "ff")
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr


def test_demo_encodes_and_decodes_one_message_of_each_kind(capsys):
    assert {kind for kind, _ in demo.EXAMPLES} == set(KINDS)
    status, out, _ = run_cli(capsys, "codec", "demo")
    assert status == 0
    for kind, data in demo.EXAMPLES:
        payload = encode(kind, data)
        assert f"{kind} (fPort {KINDS[kind]['fport']})" in out
        assert f"payload  {payload.hex()}" in out
        assert f"size     {len(payload)} bytes" in out
        assert decode(KINDS[kind]["fport"], payload) == (kind, data)
    assert out.count("round trip ok") == len(KINDS)


def test_lpp_size_model():
    # 2-byte header per value + the type's data bytes (the figures issue 2 quotes).
    assert bench_codec.lpp_size("parking", {"occupied": True})[0] == 3
    assert bench_codec.lpp_size("temperature", {"temperature_c": 21.5})[0] == 4
    assert bench_codec.lpp_size("temperature", {"temperature_c": 1, "humidity_pct": 2})[0] == 7
    assert bench_codec.lpp_size("water_level", {"level_mm": 1234})[0] == 6
    series = {"levels_mm": list(range(16)), "interval_s": 900}
    assert bench_codec.lpp_size("water_level", series)[0] == 96
    assert bench_codec.lpp_size("config", {"reboot": True})[0] is None


def test_bench_codec_reports_sizes_beside_lpp_and_timings(capsys):
    status, out, _ = run_cli(capsys, "bench", "codec", "--number", "5")
    assert status == 0
    lines = out.splitlines()
    for label, kind, data, _target in bench_codec.MESSAGES:
        row = next(line for line in lines if line.startswith(label))
        cols = row[len(label) :].split()
        assert cols[0] == kind
        assert int(cols[2]) == len(encode(kind, data))
        lpp = bench_codec.lpp_size(kind, data)[0]
        assert cols[4] == (str(lpp) if lpp is not None else "-")
        assert float(cols[5]) > 0 and float(cols[6]) > 0
    assert "size targets: all met" in out


def test_bench_targets_are_the_issue_targets():
    targets = {label: t for label, _, _, t in bench_codec.MESSAGES if t is not None}
    assert sorted(targets.values()) == [2, 3, 3, 3, 4, 7, 18, 24]
