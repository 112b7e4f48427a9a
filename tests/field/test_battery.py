"""The field's battery projection (lorafield_tools.field.battery): routine hours only, the
one-off costs named, and the same figure as `lorafield bench energy` for the same setup,
settings and day."""

import pytest
from lorafield_tools.bench import energy
from lorafield_tools.field import setups
from lorafield_tools.field.battery import project
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import FieldSpec, GatewaySpec, NodeSpec, gateway_id


def _node(**kwargs):
    return NodeSpec("n", "water_level", (0.0, 0.0), **kwargs)


def test_routine_hours_leave_out_start_up_power_cuts_and_floods():
    node = _node(
        start_s=30.0,
        power_cycles=[(5 * 3600.0, 600.0)],
        scenario={"floods": [[9 * 3600.0, 1800.0, 1500.0, 3600.0]]},
    )
    per_hour = [1.0] * 14
    per_hour[0] = per_hour[1] = 3.0  # install at 30 s: hours 0 and 1 hold its first hour
    per_hour[5] = 0.8  # off for 10 minutes, then the start-up again
    per_hour[6] = 2.0
    per_hour[9] = per_hour[10] = 5.0  # the flood (1.5 h) and its all-clear half hour: to 11:00
    hourly = [sum(per_hour[: k + 1]) for k in range(len(per_hour))]
    p = project(node, hourly, capacity_mah=2600.0)
    assert p.routine_hours == 8  # 2, 3, 4, 7, 8, 11, 12, 13
    assert p.routine_mah_per_day == pytest.approx(24.0)
    assert p.life_days == pytest.approx(2600 / 24)
    assert p.one_off_mah["flood"] == pytest.approx(4 + 4)
    assert p.one_off_mah["start-up"] == pytest.approx(2 + 2 - 0.2 + 1)
    assert not p.whole_run


def test_a_run_without_a_routine_hour_is_projected_from_the_whole_run():
    p = project(_node(), [2.0], capacity_mah=2600.0)
    assert p.whole_run and p.routine_mah_per_day == pytest.approx(48.0) and p.one_off_mah == {}


def test_battery_agrees_with_bench_energy(tmp_path):
    """One node of each kind on its field-grade setup, on bench energy's day (its parking
    events, DR5, one gateway 50 m away, the first hour as warm-up, no ADR: bench energy's
    server runs none): the field's routine projection is bench energy's figure."""
    hours = 24
    bay = energy._parking_day(hours, 20)
    spec = FieldSpec(name="bench day", hours=hours + 1, seed=1)
    spec.gateways.append(GatewaySpec("gw", (0.0, 0.0), gateway_id(0)))
    for kind in ("parking", "water_level", "temperature"):
        world = (
            {"events": [[t + 3600, what] for t, what in bay.events]} if kind == "parking" else {}
        )
        spec.nodes.append(NodeSpec(kind, kind, (50.0, 0.0), settings={"dr": 5}, scenario=world))
    field = Field(spec.check(), str(tmp_path))
    field.server.adr = False
    field.run()
    results = field.finish()
    for node in results.nodes:
        bench = energy.measure(node.kind, setups.get(node.setup), hours=hours)
        assert node.setup == setups.FIELD_GRADE[node.kind]
        assert node.battery.routine_hours == hours
        years = node.battery.life_days / 365.25
        assert years == pytest.approx(bench["life_years"], rel=0.01), node.kind
