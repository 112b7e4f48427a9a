"""A short emulated field end to end: real firmware nodes, the air, two gateways running the
gateway service, the local network server on SQLite. Every reading a node got through is in
the database exactly once with the right values; the air's losses are accounted for and
match what the server stored; joins, a config downlink, a power cycle; a replayed and a
forged frame are rejected with their reason; two gateways hearing a frame give one reading.
"""

import json
import sqlite3

import lorafield_codec
import pytest
from lorafield_gateway.lns.sqlite_store import SqliteStore
from lorafield_hw.air import RECEIVED, Transmitter
from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US
from lorafield_node.phy import (
    CONFIRMED_UP,
    JOIN_REQUEST,
    UNCONFIRMED_UP,
    SessionCrypto,
    open_data,
    parse_data,
    parse_mhdr,
)
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import parse_scenario

S = 1_000_000
SCENARIO = {
    "field": {"name": "test street", "hours": 2, "seed": 4},
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
            "events": [[900, "arrive"], [2700, "depart"], [4000, "arrive"]],
        },
        {
            "kind": "water_level",
            "name": "gauge",
            "position": [-200, 100],
            "settings": {"thresholds": {"high_mm": 1200}, "mount_height_mm": 3000},
            "floods": [[1800, 1200, 1400, 3600]],
        },
        # deep sleep on its own timer (no TPL5110, whose 15-min period a 5-min interval
        # cannot keep): the config downlink's interval is what it then sends at
        {"kind": "temperature", "name": "cfg", "position": [50, 50], "board": "esp32_bare"},
        {
            "kind": "temperature",
            "name": "cycled",
            "position": [60, -40],
            # no TPL5110: its wake marker would make the power-on read as a timed wake
            # (tests/hardware/boards/test_tpl5110.py), and no power_on status would be sent
            "board": "esp32_bare",
            "start_s": 3,
            "power_cycle": [[3600, 120]],
        },
        # Three installed at the same instant next to each other: their join requests
        # go out together and some collide.
        {"kind": "temperature", "name": "crowd-1", "position": [10, 10]},
        {"kind": "temperature", "name": "crowd-2", "position": [11, 10]},
        {"kind": "temperature", "name": "crowd-3", "position": [12, 10]},
    ],
    "downlink": [{"node": "cfg", "at_s": 1800, "config": {"interval_s": 300}}],
}


def decode_uplinks(field_run, sessions):
    """Every data uplink the node radios put on the air: (dev_eui, fcnt, kind, data,
    heard by a gateway)."""
    by_addr = {
        addr: (eui, SessionCrypto(nwk, app, "cryptography")) for eui, addr, nwk, app in sessions
    }
    chips = {node.chip: node for node in field_run.nodes}
    out = []
    for frame in field_run.air.log:
        if frame.sender not in chips or parse_mhdr(frame.payload) == JOIN_REQUEST:
            continue
        assert parse_mhdr(frame.payload) in (UNCONFIRMED_UP, CONFIRMED_UP)
        parsed = parse_data(frame.payload)
        eui, crypto = by_addr[parsed.dev_addr]
        opened = open_data(frame.payload, crypto, parsed.fcnt)  # no 16-bit rollover in 2 h
        kind, data = lorafield_codec.decode(opened.fport, bytes(opened.payload))
        out.append((eui, parsed.fcnt, kind, data, frame.outcome == RECEIVED, frame))
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("field")
    spec = parse_scenario(SCENARIO, "test.toml")
    field_run = Field(spec, str(out))
    injector = Transmitter(field_run.air, "rogue", (0, 290))
    injected = {}

    def inject():
        # A data frame of the gauge heard earlier (past the counter-reset window), replayed
        # as is, and a forged copy of its latest.
        chip = next(n.chip for n in field_run.nodes if n.name == "gauge")
        frames = [
            f
            for f in field_run.air.log
            if f.sender is chip and parse_mhdr(f.payload) != JOIN_REQUEST
        ]
        old = frames[-5]
        assert parse_data(old.payload).fcnt >= 16
        settings = {"frequency_hz": old.frequency_hz, "sf": old.sf, "power_dbm": 14.0}
        injector.send(old.payload, **settings)
        forged = bytearray(frames[-1].payload)
        forged[6] = (forged[6] + 1) & 0xFF  # FCnt + 1 ...
        forged[-1] ^= 0x5A  # ... with a MIC nobody computed
        field_run.scheduler.after(2 * S, lambda: injector.send(bytes(forged), **settings))
        injected["replayed"] = old.payload
        injected["forged"] = bytes(forged)

    field_run.scheduler.at(int(1.5 * 3600 * S), inject)
    field_run.run()
    results = field_run.finish()
    db = sqlite3.connect(field_run.db_path)
    yield field_run, results, db, injected
    db.close()


def rows(db, sql, *args):
    return db.execute(sql, args).fetchall()


def test_every_reading_that_got_through_is_stored_exactly_once_with_its_data(run):
    field_run, results, db, _ = run
    sessions = rows(db, "SELECT dev_eui, dev_addr, nwk_s_key, app_s_key FROM sessions")
    sessions = [(e, a, bytes.fromhex(n), bytes.fromhex(k)) for e, a, n, k in sessions]
    uplinks = decode_uplinks(field_run, sessions)
    stored = {}
    for eui, fcnt, kind, data in rows(db, "SELECT dev_eui, fcnt, kind, data FROM readings"):
        stored.setdefault((eui, fcnt), []).append((kind, json.loads(data)))
    heard = [(eui, fcnt, kind, data) for eui, fcnt, kind, data, ok, _ in uplinks if ok]
    lost = [(eui, fcnt) for eui, fcnt, _, _, ok, _ in uplinks if not ok]
    assert len(heard) > 60
    for eui, fcnt, kind, data in heard:
        assert stored.get((eui, fcnt)) == [(kind, _jsonable(data))], (eui, fcnt)
    assert sum(len(v) for v in stored.values()) == len(heard)  # nothing else, nothing twice
    for key in lost:  # an uplink no gateway got is not made up (a retry has a new FCnt)
        assert key not in stored


def _jsonable(data):
    return json.loads(json.dumps(data))


def test_air_losses_are_accounted_and_match_what_the_server_stored(run):
    field_run, results, db, _ = run
    chips = {node.chip for node in field_run.nodes}
    node_frames = [f for f in field_run.air.log if f.sender in chips]
    outcomes = {}
    for frame in node_frames:
        outcomes[frame.outcome] = outcomes.get(frame.outcome, 0) + 1
    sent = results.total("sent")
    assert sent == len(node_frames)
    assert results.total("received") == outcomes.get("received", 0)
    assert results.total("lost_collision") == outcomes.get("collision", 0) > 0  # the crowd
    assert results.total("lost_range") == outcomes.get("sensitivity", 0)
    assert sent == sum(
        results.total(a)
        for a in ("received", "lost_collision", "lost_range", "lost_busy", "unheard")
    )
    # Each frame a gateway got is one accepted join or one stored uplink at the server.
    joins = rows(db, "SELECT count(*) FROM events WHERE kind = 'join'")[0][0]
    frames = rows(db, "SELECT count(*) FROM frames")[0][0]
    assert joins + frames == results.total("received")
    # The gateways' own counters agree with the medium's per-frame outcomes (every frame on
    # the air, the injected ones included).
    per_gateway = {gid: 0 for gid in results.gateway_rx}
    for frame in field_run.air.log:
        for reception in frame.receptions:
            gid = reception.receiver.name
            if reception.outcome == RECEIVED and gid in per_gateway:
                per_gateway[gid] += 1
    assert {gid: c["received"] for gid, c in results.gateway_rx.items()} == per_gateway


def test_joins_once_each_and_the_power_cycle_keeps_the_session(run):
    field_run, results, db, _ = run
    by_name = {n.name: n for n in results.nodes}
    assert all(n.joins == 1 for n in results.nodes), {n.name: n.joins for n in results.nodes}
    cycled = next(n for n in field_run.nodes if n.name == "cycled")
    boots = cycled.board.boots
    assert any(3600 * S + 120 * S <= t < 3800 * S for t, _ in boots)  # back after the cut
    statuses = [
        (t, json.loads(d))
        for t, d in rows(
            db,
            "SELECT time_us, data FROM readings WHERE kind='status' AND dev_eui=? ORDER BY id",
            by_name["cycled"].dev_eui,
        )
    ]
    after = [d for t, d in statuses if t - EMULATION_EPOCH_US > 3600 * S]
    assert after and after[0]["reset_cause"] == "power_on"  # it says so, on the same session
    fcnts = [
        f
        for (f,) in rows(
            db, "SELECT fcnt FROM frames WHERE dev_eui=? ORDER BY id", by_name["cycled"].dev_eui
        )
    ]
    assert fcnts == sorted(set(fcnts))  # never reused across the cut


def test_the_config_downlink_is_delivered_and_applied(run):
    field_run, results, db, _ = run
    (request,) = results.requested
    assert request[4] == "sent"
    cfg = next(n for n in results.nodes if n.name == "cfg")
    window = rows(db, "SELECT status, window FROM downlinks")[0]
    assert window[0] == "sent" and window[1] in ("RX1", "RX2")
    assert cfg.downlinks_delivered >= 2  # the join-accept and the config
    times = [
        (t - EMULATION_EPOCH_US) / S
        for (t,) in rows(
            db,
            "SELECT time_us FROM readings WHERE dev_eui=? AND kind='temperature' ORDER BY id",
            cfg.dev_eui,
        )
    ]
    gaps_after = [b - a for a, b in zip(times, times[1:], strict=False) if a > 2700]
    assert gaps_after and all(280 <= g <= 330 for g in gaps_after), gaps_after
    status = [
        json.loads(d)
        for (d,) in rows(
            db, "SELECT data FROM readings WHERE kind='status' AND dev_eui=?", cfg.dev_eui
        )
    ]
    assert any(s.get("interval_s") == 300 for s in status)  # a status confirms the change


def test_readings_match_the_physical_world(run):
    field_run, results, db, _ = run
    nodes = {n.dev_eui.hex(): n for n in field_run.nodes}
    checked = 0
    for t_us, eui, kind, data in rows(db, "SELECT time_us, dev_eui, kind, data FROM readings"):
        t = (t_us - EMULATION_EPOCH_US) / S
        data = json.loads(data)
        world = nodes[eui].world
        if kind == "temperature":
            assert abs(data["temperature_c"] - world.temperature_c(t)) < 0.8
            checked += 1
        elif kind == "parking":  # the state now, changed within the debounce time
            assert data["occupied"] == world.occupied(t) != world.occupied(t - 60), t
            checked += 1
        elif kind == "water_level" and "level_mm" in data:
            assert abs(data["level_mm"] - world.level_mm(t)) < 60
            checked += 1
    assert checked > 50
    alarms = rows(db, "SELECT count(*) FROM readings WHERE data LIKE '%\"alarm\"%'")[0][0]
    assert alarms > 5  # the flood wave crossed 1200 mm


def test_two_gateways_one_reading(run):
    field_run, results, db, _ = run
    both = 0
    for eui, fcnt, copies in rows(db, "SELECT dev_eui, fcnt, copies FROM frames"):
        gateways = {c["gateway_id"] for c in json.loads(copies)}
        if len(gateways) == 2:
            both += 1
            count = rows(db, "SELECT count(*) FROM readings WHERE dev_eui=? AND fcnt=?", eui, fcnt)
            assert count[0][0] <= 1  # FPort 0 MAC-only frames have no reading
    assert both > 20


def test_replayed_and_forged_frames_are_rejected_with_their_reason(run):
    field_run, results, db, injected = run
    reasons = [r for (r,) in rows(db, "SELECT reason FROM events WHERE kind='uplink_rejected'")]
    assert "FCnt replay" in reasons
    assert "MIC mismatch" in reasons
    stored = {p for (p,) in rows(db, "SELECT phy_hex FROM frames")}
    assert injected["forged"].hex() not in stored


def test_the_store_reopens_with_every_session(run):
    field_run, results, db, _ = run
    store = SqliteStore(field_run.db_path)
    try:
        assert len(store.sessions) == len(field_run.nodes)
    finally:
        store.close()
