"""A field with its node firmware in worker processes (field/parallel.py): 1, 2 and 3 workers
give the same exports byte for byte and the same per-node accounting, and so does the field
in one process (workers 0) -- with joins, downlinks (a queued config change among them), two
gateways, every kind and board, and a power cut in the middle of an uplink. And the
coordinator's window rule is checked, not trusted: a window too long for it stops the run."""

import filecmp

import pytest
from lorafield_tools.cli import main
from lorafield_tools.field.export import export
from lorafield_tools.field.parallel import ParallelFieldError, open_field, workers_for
from lorafield_tools.field.run import Field
from lorafield_tools.field.setups import DEV_BOARD
from lorafield_tools.field.spec import DownlinkSpec, FieldSpec, GatewaySpec, NodeSpec, gateway_id

HOURS = 2


def _spec(power_cut=None):
    spec = FieldSpec(name="parallel", hours=HOURS, seed=7)
    spec.gateways.append(GatewaySpec("gw-west", (300, 500), gateway_id(0)))
    spec.gateways.append(GatewaySpec("gw-east", (900, 500), gateway_id(1)))
    kinds = ["parking"] * 6 + ["water_level"] * 3 + ["temperature"] * 3
    for i, kind in enumerate(kinds):
        settings = {"thresholds": {"high_mm": 1200}} if kind == "water_level" else {}
        scenario = (
            {"floods": [[1800.0, 1200.0, 1600.0, 3600.0]]}
            if kind == "water_level"
            else {"arrivals_per_hour": 3.0, "mean_stay_min": 20}
            if kind == "parking"
            else {}
        )
        spec.nodes.append(
            NodeSpec(
                f"n{i}",
                kind,
                (200 + 60 * i, 420 + 13 * i),
                # one parking node on the light-sleep dev board, the rest field-grade
                board=DEV_BOARD if i == 5 else "",
                settings=settings,
                scenario=scenario,
                start_s=17.0 * i,
                power_cycles=[power_cut] if power_cut and i == 2 else [],
            )
        )
    spec.downlinks.append(DownlinkSpec("n7", 1500.0, {"interval_s": 600}))
    return spec.check("test")


def _uplink_start_s(node_name, directory):
    """When n2 starts an uplink an hour in (a one-worker probe run): the power cut goes 10 ms
    into that frame, which the workers must then report as cut short."""
    field = Field(_spec(), str(directory))
    try:
        field.run(until_us=4000 * 1_000_000)
        chip = next(n.chip for n in field.nodes if n.name == node_name)
        starts = [f.start_us for f in field.air.log if f.sender is chip and f.start_us > 3.6e9]
    finally:
        field.finish()
    assert starts, "n2 sent nothing in the probe"
    return starts[0] / 1e6


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cut_at_s = _uplink_start_s("n2", tmp_path_factory.mktemp("probe")) + 0.010
    spec_cut = (cut_at_s, 120.0)
    out = {}
    for workers in (0, 1, 2, 3):
        directory = tmp_path_factory.mktemp(f"workers{workers}")
        field = open_field(_spec(spec_cut), str(directory), workers=workers)
        field.run()
        aborted = [f for f in field.air.log if f.aborted]
        starts = [(f.start_us, f.end_us) for f in field.air.log if getattr(f.sender, "air_node", 0)]
        results = field.finish()
        export(field.db_path, str(directory / "export"))
        out[workers] = (directory, results, aborted, type(field).__name__, starts)
    return out


def test_zero_workers_is_the_single_process_field(runs):
    assert runs[0][3] == "Field"
    assert runs[1][3] == runs[2][3] == runs[3][3] == "ParallelField"


@pytest.mark.parametrize("workers", [0, 2, 3])
def test_exports_identical_byte_for_byte(runs, workers):
    if workers == 0:  # one process: the same only without frames of the same microsecond
        starts = [start for start, _ in runs[0][4]]
        ends = [end for _, end in runs[0][4]]
        assert len(set(starts)) == len(starts) and len(set(ends)) == len(ends)
    one = runs[1][0] / "export"
    many = runs[workers][0] / "export"
    for name in ("frames.jsonl", "readings.jsonl", "sessions.json"):
        assert filecmp.cmp(one / name, many / name, shallow=False), name
    assert len((one / "frames.jsonl").read_text().splitlines()) > 100


def _per_node(results):
    return [
        (
            n.name,
            n.sent,
            n.received,
            n.lost_collision,
            n.lost_range,
            n.lost_busy,
            n.unheard,
            n.joins,
            n.readings,
            n.downlinks_sent,
            n.downlinks_delivered,
            n.airtime_s,
            n.boots,
            n.battery.life_days,
            sorted(n.gateways),
        )
        for n in results.nodes
    ]


@pytest.mark.parametrize("workers", [0, 2, 3])
def test_accounting_identical(runs, workers):
    one, many = runs[1][1], runs[workers][1]
    assert _per_node(one) == _per_node(many)
    assert one.gateway_rx == many.gateway_rx
    assert one.events == many.events
    assert one.requested == many.requested


def test_the_run_covers_downlinks_joins_and_a_cut_frame(runs):
    results = runs[2][1]
    assert sum(n.downlinks_delivered for n in results.nodes) >= len(results.nodes)  # accepts
    assert sum(n.joins for n in results.nodes) >= len(results.nodes)
    assert len(results.gateway_rx) == 2
    ((_, node, _, _, status),) = results.requested
    assert node == "n7" and status is not None  # the queued config downlink was taken
    for workers in (0, 1, 2, 3):
        aborted = runs[workers][2]
        assert [(f.start_us, f.end_us) for f in aborted] == [
            (f.start_us, f.end_us) for f in runs[1][2]
        ]
        assert len(aborted) == 1  # n2's uplink, cut 10 ms in


def test_a_window_longer_than_the_rule_is_caught(tmp_path):
    """Windows of 3 s let a join accept (5 s after the request) and an RX1 downlink (1 s)
    go out before the workers heard of them: the coordinator stops the run."""
    field = open_field(_spec(), str(tmp_path), workers=2)
    field.window_us = 3_000_000
    try:
        with pytest.raises(ParallelFieldError, match="not announced"):
            field.run()
    finally:
        field.finish()


def test_workers_for():
    spec = _spec()
    assert workers_for(spec, 2) == (2, None)
    assert workers_for(spec, 1) == (1, None)
    assert workers_for(spec, 50)[0] == len(spec.nodes)
    assert workers_for(spec) == (0, None)  # 12 nodes: the windows would cost more than they give
    n, why = workers_for(spec, 2, also_forward=[("udp", "127.0.0.1", 1700)])
    assert n == 0 and "--also-forward" in why
    n, why = workers_for(spec, 2, runtime="micropython")
    assert n == 0 and "MicroPython" in why


SCENARIO = """
[field]
name = "workers"
hours = 0.5

[[gateway]]
name = "gw"
position = [0, 0]

[[node]]
kind = "temperature"
name = "t"
position = [100, 0]
count = 3
step = [20, 0]
"""


def test_emulate_with_workers(tmp_path, capsys):
    scenario = tmp_path / "workers.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    argv = ["emulate", str(scenario), "--out", str(out), "--quiet", "--export", str(out / "x")]
    assert main([*argv, "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "node firmware in 2 worker processes" in printed
    assert (out / "x" / "readings.jsonl").read_text().count("\n") >= 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--workers", "2", "--also-forward", "udp://127.0.0.1:1700"], "--also-forward"),
        (["--workers", "x"], "not a number of workers"),
        (["--workers", "-3"], "not a number of workers"),
    ],
)
def test_emulate_workers_user_errors(tmp_path, capsys, extra, message):
    scenario = tmp_path / "workers.toml"
    scenario.write_text(SCENARIO)
    argv = ["emulate", str(scenario), "--out", str(tmp_path / "out"), "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
