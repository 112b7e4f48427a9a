"""`lorafield bench field` runs and reports (figures themselves are not asserted here)."""

from lorafield_tools.cli import main


def _rows(out):
    lines = out.splitlines()
    header = lines[0]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        rows.append(line.split())
    return header, rows


def test_bench_field_prints_a_row_per_mix_and_size_and_the_profile(capsys):
    assert main(["bench", "field", "--nodes", "12,24", "--hours", "0.3"]) == 0
    out = capsys.readouterr().out
    header, rows = _rows(out)
    for column in ("nodes", "workers", "wall s", "CPU s", "emulated:wall", "wakes/day"):
        assert column in header
    for column in ("boots/day", "ULP runs/day", "uplinks", "peak RSS"):
        assert column in header
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("field", "12", "2", "0.3"),
        ("field", "24", "2", "0.3"),
        ("dev", "12", "2", "0.3"),
        ("dev", "24", "2", "0.3"),
    ]
    ulp_runs = [int(r[13].replace(",", "")) for r in rows]
    wakes, boots = ([int(r[i].replace(",", "")) for r in rows] for i in (11, 12))
    # field: parking nodes sample with the ULP, ~17,000 runs a node-day; dev: no ULP
    assert 12 * 15_000 < ulp_runs[0] < 12 * 18_000 and ulp_runs[2:] == [0, 0]
    assert all(w >= b > 0 for w, b in zip(wakes, boots, strict=True))
    assert wakes[2] > boots[2]  # dev boards wake from light sleep without a boot
    assert out.count("where the time went") == 4
    assert "ULP (the sampler's runs)" in out and "firmware" in out and "network server" in out
    # The 24-node field has all three kinds; every process's time is attributed somewhere.
    last = out.rsplit("by process", 1)[1].splitlines()[1:]
    shares = {
        line.split("%", 1)[1].split(",")[0].strip(): float(line.split("%")[0]) for line in last
    }
    assert {"parking", "water_level", "temperature"} <= set(shares)
    assert "ms per node-day" in out.rsplit("by process", 1)[1]
    assert 90 <= sum(shares.values()) <= 110


def test_bench_field_with_workers(capsys):
    """The node firmware in 2 worker processes: the row says so, the node figures come back
    from the workers, and the profile samples every process (their waits included)."""
    arguments = ["--nodes", "24", "--hours", "0.3", "--mix", "field", "--workers", "2"]
    assert main(["bench", "field", *arguments]) == 0
    out = capsys.readouterr().out
    _, rows = _rows(out)
    (row,) = rows
    assert row[5] == "2"
    ulp_runs, boots = int(row[13].replace(",", "")), int(row[12].replace(",", ""))
    assert 12 * 15_000 < ulp_runs < 12 * 18_000 and boots > 0
    assert "waiting at window barriers" in out and "ULP (the sampler's runs)" in out
    assert "every process" in out and "by process" not in out


def test_bench_field_user_errors(capsys):
    assert main(["bench", "field", "--nodes", "10,20", "--hours", "1,2,3"]) == 2
    assert main(["bench", "field", "--nodes", "x"]) == 2
    assert main(["bench", "field", "--nodes", "10", "--hours", "0"]) == 2
    assert main(["bench", "field", "--nodes", "10", "--mix", "lab"]) == 2
    assert main(["bench", "field", "--nodes", "10", "--mix", "dev,dev"]) == 2
    assert main(["bench", "field", "--nodes", "10", "--workers", "-1"]) == 2
    assert "--mix is a comma-separated list of field, dev" in capsys.readouterr().err


def test_bench_field_of_one_kind(capsys):
    arguments = ["--nodes", "6", "--hours", "0.2", "--kind", "temperature", "--mix", "dev"]
    assert main(["bench", "field", *arguments]) == 0
    section = capsys.readouterr().out.rsplit("by process", 1)[1]
    assert "temperature, 6 nodes:" in section
    assert "parking" not in section and "water_level" not in section
    assert main(["bench", "field", "--kind", "tractor"]) == 2
