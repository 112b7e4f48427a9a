"""`lorafield bench lns` runs and reports every figure."""

import pytest
from lorafield_tools.cli import main


def test_bench_lns_reports_figures(capsys):
    assert main(["bench", "lns", "--devices", "5", "--uplinks", "3", "--gateways", "2"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert lines["devices"] == "5" and lines["uplinks"] == "15 (downlinks 2)"
    for name in ("joins_per_s", "uplinks_per_s", "cpu_us_per_uplink"):
        assert float(lines[name]) > 0


@pytest.mark.parametrize("flag", ["--devices", "--uplinks", "--gateways"])
def test_bench_lns_rejects_bad_sizes(flag, capsys):
    assert main(["bench", "lns", flag, "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
