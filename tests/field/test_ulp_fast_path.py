"""The emulated field with the ULP's fast path (translated code running ahead of the
scheduler while the CPU deep-sleeps) against its reference (the interpreter, one scheduler
event per pause): the same frames, readings, ULP wakes and runs, and energy to the last bit,
in a field of ULP-sampling parking nodes with cars, a heartbeat, a power cut and hourly meter
readings."""

import filecmp

import pytest
from lorafield_tools.field.export import export
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import FieldSpec, GatewaySpec, NodeSpec, gateway_id


def _spec():
    spec = FieldSpec(name="ulp fast path", hours=3, seed=4)
    spec.gateways.append(GatewaySpec("gw", (500, 500), gateway_id(0)))
    for i in range(4):
        spec.nodes.append(
            NodeSpec(
                f"bay{i}",
                "parking",
                (480 + 6 * i, 520),
                scenario={"arrivals_per_hour": 2.5, "mean_stay_min": 25},
                start_s=30 * i,
                # one node loses power mid-run: the ULP must not have run past the cut
                power_cycles=[(5000.0 + 0.0042 * i, 600.0)] if i == 1 else [],
            )
        )
    spec.nodes.append(NodeSpec("t", "temperature", (520, 480)))
    return spec.check("test")


def _run(directory, reference):
    field = Field(_spec(), str(directory))
    ulps = [node.board.ulp for node in field.nodes if node.board.ulp is not None]
    assert len(ulps) == 4  # the parking nodes (esp32_bare); the temperature node is an RP2040
    for ulp in ulps:
        if reference:
            ulp.engine, ulp.horizon = "interpreter", None
    field.run()
    parking = [n for n in field.nodes if n.kind == "parking"]
    figures = [
        (
            n.board.ulp.runs,
            n.board.ulp.wakes,
            n.board.ulp.active_us,
            n.board.ulp.ahead_runs,
            n.board.energy.charge_mas,
            n.board.energy.battery.used_mah,
            n.hourly_mah,
            n.board.boots,
        )
        for n in parking
    ]
    field.finish()
    export(field.db_path, str(directory / "export"))
    return figures


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    reference = tmp_path_factory.mktemp("reference")
    fast = tmp_path_factory.mktemp("fast")
    return (reference, _run(reference, True)), (fast, _run(fast, False))


def test_the_fast_path_gives_the_references_frames_and_readings(runs):
    (reference, _), (fast, _) = runs
    for name in ("frames.jsonl", "readings.jsonl"):
        assert filecmp.cmp(reference / "export" / name, fast / "export" / name, shallow=False)
    assert (fast / "export" / "readings.jsonl").read_text().count("occupied") > 10


def test_the_fast_path_gives_the_references_ulp_and_energy_figures(runs):
    (_, reference), (_, fast) = runs
    strip = [f[:3] + f[4:] for f in reference], [f[:3] + f[4:] for f in fast]
    assert strip[0] == strip[1]  # runs, wakes, active time, charge, battery, hours, boots
    assert all(f[3] == 0 for f in reference)
    assert all(f[3] > 0.9 * f[0] for f in fast)  # nearly every run began ahead
    assert any(len(f[7]) > 2 for f in fast)  # woken for cars, and the power cut's boot
