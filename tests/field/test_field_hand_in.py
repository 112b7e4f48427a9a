"""The field hands the gateways' copies to the server when a de-duplication window closes,
in one transaction with the flush. Handing each copy in at its arrival instead (what a Pi's
forwarder thread does) gives the same air traffic and the same database, in more
transactions. And the field's held transaction (one commit per 5 emulated minutes,
`FieldNetwork.hold`) changes nothing but the number of commits either."""

import sqlite3

from lorafield_gateway.lns.sqlite_store import SqliteStore
from lorafield_tools.field import gateway as field_gateway
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import parse_scenario

S = 1_000_000
# Two gateways hearing most frames, a config downlink, nodes installed together (collisions).
SCENARIO = {
    "field": {"name": "hand-in", "hours": 1, "seed": 7},
    "gateway": [
        {"name": "north", "position": [0, 300]},
        {"name": "south", "position": [200, -300]},
    ],
    "node": [
        {
            "kind": "parking",
            "name": "bay",
            "position": [100, 0],
            "count": 2,
            "step": [6, 0],
            "settings": {"sample_s": 10},
            "events": [[600, "arrive"], [1500, "depart"]],
        },
        {"kind": "temperature", "name": "cfg", "position": [50, 50]},
        {"kind": "temperature", "name": "crowd-1", "position": [10, 10]},
        {"kind": "temperature", "name": "crowd-2", "position": [11, 10]},
    ],
    "downlink": [{"node": "cfg", "at_s": 1800, "config": {"interval_s": 300}}],
}
UNTIL_US = 3000 * S  # past the joins, the config downlink (1800 s) and its answer


def run_field(out, monkeypatch, at_arrival, hold=False):
    commits = []
    original_commit = SqliteStore.commit

    def counting_commit(store, *args, **kwargs):
        commits.append(1)
        return original_commit(store, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(SqliteStore, "commit", counting_commit)
        if at_arrival:

            def wake(forwarder):  # the copy goes in now, then the flush is armed
                forwarder.network.copy_queued(forwarder)
                forwarder.network.hand_in()
                forwarder.network.arm_flush()

            patch.setattr(field_gateway.FieldLocalForwarder, "wake", wake)
        if not hold:  # a transaction per server call or batch, as on a Pi
            patch.setattr(field_gateway.FieldNetwork, "hold", lambda network: None)
        field_run = Field(parse_scenario(SCENARIO, "test.toml"), str(out))
        field_run.run(until_us=UNTIL_US)
        air = [(f.start_us, f.payload, f.frequency_hz, f.sf) for f in field_run.air.log]
        handed = sum(g.service.stats.get("forwarded.local") for g in field_run.gateways)
        field_run.finish()
    db = sqlite3.connect(field_run.db_path)
    try:
        tables = {
            "events": db.execute(
                "SELECT time_us, kind, dev_eui, reason, detail FROM events ORDER BY id"
            ).fetchall(),
            "readings": db.execute(
                "SELECT time_us, dev_eui, fcnt, data FROM readings ORDER BY id"
            ).fetchall(),
            "frames": db.execute(
                "SELECT time_us, fcnt, gateway_id, copies FROM frames ORDER BY id"
            ).fetchall(),
            "downlinks": db.execute("SELECT ref, status, window, fcnt_down FROM downlinks")
            .fetchall(),
            "sessions": db.execute(
                "SELECT dev_eui, dev_addr, fcnt_up_next, fcnt_down FROM sessions ORDER BY 1"
            ).fetchall(),
        }  # fmt: skip
    finally:
        db.close()
    return air, tables, handed, len(commits)


def test_handing_in_at_window_close_changes_nothing_but_the_transactions(tmp_path, monkeypatch):
    air, tables, handed, commits = run_field(tmp_path / "batched", monkeypatch, False)
    air_a, tables_a, handed_a, commits_a = run_field(tmp_path / "arrival", monkeypatch, True)
    assert air == air_a
    for name, content in tables.items():
        assert content == tables_a[name], name
    assert len(tables["readings"]) >= 10 and handed == handed_a > len(tables["frames"])
    assert any(status == "sent" for _, status, _, _ in tables["downlinks"])
    # A copy each at arrival (plus a flush per frame); a frame's copies together when batched.
    assert commits_a >= handed_a
    assert commits < handed


def test_the_held_transaction_changes_nothing_but_the_commits(tmp_path, monkeypatch):
    air, tables, handed, commits = run_field(tmp_path / "per-frame", monkeypatch, False)
    air_h, tables_h, handed_h, commits_h = run_field(tmp_path / "held", monkeypatch, False, True)
    assert air == air_h and handed == handed_h
    for name, content in tables.items():
        assert content == tables_h[name], name
    # 10 steps of 5 min to 3000 s, the downlink request's early commit, and the finish
    assert commits_h <= UNTIL_US // (300 * S) + 3 < commits
