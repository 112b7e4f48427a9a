"""`lorafield bench field` runs and reports (figures themselves are not asserted here)."""

from lorafield_tools.cli import main


def test_bench_field_prints_a_row_per_size_and_the_profile(capsys):
    assert main(["bench", "field", "--nodes", "12,24", "--hours", "0.3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["nodes", "gateways", "emulated"]
    assert lines[1].split()[:3] == ["12", "2", "0.3"] and lines[2].split()[0] == "24"
    assert out.count("where the time went") == 2
    assert "emulated hardware" in out and "firmware" in out
    # The 24-node field has all three kinds; every process's time is attributed somewhere.
    last = out.rsplit("by process", 1)[1].splitlines()[1:]
    shares = {
        line.split("%", 1)[1].split(",")[0].strip(): float(line.split("%")[0]) for line in last
    }
    assert {"parking", "water_level", "temperature"} <= set(shares)
    assert "ms per node-day" in out.rsplit("by process", 1)[1]
    assert 90 <= sum(shares.values()) <= 110


def test_bench_field_user_errors(capsys):
    assert main(["bench", "field", "--nodes", "10,20", "--hours", "1,2,3"]) == 2
    assert main(["bench", "field", "--nodes", "x"]) == 2
    assert main(["bench", "field", "--nodes", "10", "--hours", "0"]) == 2


def test_bench_field_of_one_kind(capsys):
    assert main(["bench", "field", "--nodes", "6", "--hours", "0.2", "--kind", "temperature"]) == 0
    section = capsys.readouterr().out.rsplit("by process", 1)[1]
    assert "temperature, 6 nodes:" in section
    assert "parking" not in section and "water_level" not in section
    assert main(["bench", "field", "--kind", "tractor"]) == 2
