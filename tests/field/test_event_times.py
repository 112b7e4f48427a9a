"""Every event the network server writes during an emulated field carries the emulated time
(the field's epoch plus virtual time), none 0 / 1970: joins and the join-accepts sent,
uplinks, downlinks queued and sent."""

import sqlite3

from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import parse_scenario

S = 1_000_000
SCENARIO = {
    "field": {"name": "event times", "hours": 1, "seed": 5},
    "gateway": [{"name": "a", "position": [0, 0]}, {"name": "b", "position": [300, 0]}],
    "node": [
        {"kind": "temperature", "name": "t", "position": [100, 50], "count": 2, "step": [50, 0]},
        {"kind": "temperature", "name": "cfg", "position": [60, -40], "start_s": 5},
    ],
    "downlink": [{"node": "cfg", "at_s": 600, "config": {"interval_s": 300}}],
}


def test_every_event_in_a_field_is_stamped_with_emulated_time(tmp_path):
    field = Field(parse_scenario(SCENARIO, "times.toml"), str(tmp_path / "out"))
    field.run()
    results = field.finish()
    db = sqlite3.connect(results.db_path)
    events = db.execute("SELECT kind, dev_eui, time_us FROM events ORDER BY id").fetchall()
    db.close()
    kinds = {kind for kind, _, _ in events}
    assert {"join", "join_accept_sent", "uplink", "downlink", "downlink_sent"} <= kinds
    end = EMULATION_EPOCH_US + field.end_us
    stale = [(k, t) for k, _, t in events if not EMULATION_EPOCH_US <= t <= end]
    assert stale == []
    # A join-accept is handed to the gateway when the join is processed: same instant.
    joins = [(eui, t) for kind, eui, t in events if kind == "join"]
    accepts = [(eui, t) for kind, eui, t in events if kind == "join_accept_sent"]
    assert joins and accepts == joins
