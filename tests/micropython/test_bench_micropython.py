"""`lorafield bench micropython` prints the three figures, the .mpy total matching the check."""

import re

import pytest
from lorafield_tools.cli import main
from lorafield_tools.mpcheck import compile_project

pytestmark = pytest.mark.micropython


def test_bench_micropython_prints_figures(capsys, tmp_path):
    assert main(["bench", "micropython", "--runs", "3", "--starts", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^VM start .*: \d+ ms$", out, re.M), out
    assert re.search(r"^run\(\) round trip .*: \d+ us$", out, re.M), out
    total = re.search(r"^\.mpy total, firmware/ \+ codecs/: (\d+) bytes", out, re.M)
    assert total, out
    assert int(total.group(1)) == compile_project(tmp_path).total_bytes


def test_bench_micropython_rejects_zero_runs(capsys):
    assert main(["bench", "micropython", "--runs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--runs" in err
