"""`lorafield bench firmware` prints its figures, consistent with what they measure."""

import re

import pytest
from lorafield_tools.cli import main

pytestmark = pytest.mark.micropython


def test_bench_firmware_prints_figures(capsys):
    assert main(["bench", "firmware", "--uplinks", "20", "--reserve", "8"]) == 0
    out = capsys.readouterr().out
    mpy = re.search(r"^\.mpy of the LoRaWAN stack \((\d+) modules\): (\d+) B$", out, re.M)
    modules = re.search(r"^  per module: (.*)$", out, re.M)
    assert mpy and modules, out
    sizes = [int(part.split()[1]) for part in modules.group(1).split(", ")]
    assert len(sizes) == int(mpy.group(1)) and sum(sizes) == int(mpy.group(2))
    heap = re.search(r"Mac built (\d+) B, after join (\d+) B, after join \+ uplink (\d+) B", out)
    assert heap, out
    built, joined, sent = map(int, heap.groups())
    assert 0 < built < joined <= sent
    assert re.search(r"^MicroPython heap allocated per uplink .*: \d+ B$", out, re.M), out
    # 1,000 uplinks with a reservation of 8 write ceil(1000 / 8) = 125 records.
    assert re.search(r"N=8: 125 store records, 125 NOR programs", out), out
    # Through the whole Mac: ceil(1000 / 16) counter records and one duty record per frame
    # (plus the session record when the ADR backoff steps: no downlink ever comes).
    assert re.search(r"whole Mac, N=16: \d+ store records \(dc 1000, fu 63, ses \d\)", out), out
    assert re.search(r"^CPU per uplink on CPython .*: \d+\.\d us$", out, re.M), out
    regions = re.findall(
        r"^  (\S+) +region\w*\.mpy \d+ B.*heap (\d+) B \(qstr pools (\d+) B; "
        r"without them (\d+) B, ([+-]\d+) B against EU868\)$",
        out,
        re.M,
    )
    assert [r[0] for r in regions][:2] == ["EU868", "US915"] and len(regions) == 9, out
    for _, held, pools, own, _ in regions:
        assert int(held) - int(pools) == int(own) > 20000, out
    assert regions[0][4] == "+0", out


def test_bench_firmware_rejects_bad_options(capsys):
    assert main(["bench", "firmware", "--reserve", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--reserve" in err
