"""What the SQLite store writes, call by call: the pending table always mirrors the copies
inside a de-duplication window (written as a difference), a session's row follows the
session through uplinks and a re-join, and a batch of calls is one transaction."""

import json

import pytest
from lns_helpers import DEV_EUI, ScriptedDevice, meta
from lorafield_gateway.lns import LnsError, TxAck
from lorafield_gateway.lns.sqlite_store import request_downlink
from test_sqlite_store import PORT, join, open_server, rows, temp

EUI = DEV_EUI.hex()


def stored_pending(path):
    """(phy, gateway) of the pending rows, grouped by frame in order of first arrival (as a
    restart rebuilds the window)."""
    frames = {}
    for phy, m in rows(path, "SELECT phy_hex, meta FROM pending ORDER BY seq"):
        frames.setdefault(bytes.fromhex(phy), []).append(json.loads(m)["gateway_id"])
    return [(phy, gateway) for phy, gateways in frames.items() for gateway in gateways]


def in_memory_pending(ns):
    return [(phy, m.gateway_id) for phy, metas in ns.dedup._pending.items() for m in metas]


def test_pending_table_follows_the_window_and_a_restart_rebuilds_it(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path, dedup_window_us=200_000)
    dev = ScriptedDevice()
    (accept,) = ns.handle_uplink(dev.join_request(), meta(t=0)) + ns.flush(300_000 + meta().time_us)
    dev.take_accept(accept.phy)
    ns.handle_tx_ack(TxAck(accept.downlink_id, "OK", "RX1"), meta(t=300_000).time_us)
    a, b = dev.uplink(PORT, temp(20.0)), dev.uplink(PORT, temp(21.0))
    steps = [  # (phy, gateway, time): copies of two frames, interleaved
        (a, "gw0", 1_000_000),
        (a, "gw1", 1_050_000),
        (b, "gw1", 1_150_000),
        (a, "gw2", 1_160_000),
        (b, "gw0", 1_250_000),  # a's window closes here: a is processed, b stays
    ]
    for phy, gateway, t in steps:
        ns.handle_uplink(phy, meta(gateway, t=t, snr=1.0 if gateway == "gw1" else 5.0))
        assert stored_pending(path) == in_memory_pending(ns)
    assert in_memory_pending(ns) == [(b, "gw1"), (b, "gw0")]
    assert rows(path, "SELECT fcnt FROM frames") == [(0,)]
    ns.store.close()

    # A restart finds b's two copies, in their order, and processes them once.
    ns = open_server(path, dedup_window_us=200_000)
    assert in_memory_pending(ns) == [(b, "gw1"), (b, "gw0")]
    assert ns.next_deadline() == meta(t=1_350_000).time_us
    ns.flush(meta(t=1_400_000).time_us)
    assert in_memory_pending(ns) == [] and stored_pending(path) == []
    ns.store.close()
    frames = rows(path, "SELECT fcnt, gateway_id FROM frames ORDER BY id")
    assert frames == [(0, "gw0"), (1, "gw0")]  # the best copy of each (SNR 5 over 1)


def test_a_frame_heard_again_after_its_window_is_written_again(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path, dedup_window_us=100_000)
    dev = ScriptedDevice()
    (accept,) = ns.handle_uplink(dev.join_request(), meta(t=0)) + ns.flush(meta(t=200_000).time_us)
    dev.take_accept(accept.phy)
    phy = dev.uplink(PORT, temp(20.0))
    ns.handle_uplink(phy, meta(t=1_000_000))
    ns.flush(meta(t=1_200_000).time_us)
    # The same bytes long after: a new frame for the window (a retransmission for the MAC).
    ns.handle_uplink(phy, meta("gw1", t=5_000_000))
    assert [p for p, _ in stored_pending(path)] == [phy]
    ns.flush(meta(t=5_200_000).time_us)
    assert stored_pending(path) == []
    kinds = [k for (k,) in rows(path, "SELECT kind FROM events ORDER BY id")]
    assert kinds[-2:] == ["uplink", "uplink_retransmission"]


def test_session_row_follows_uplinks_and_a_rejoin(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    first = rows(path, "SELECT dev_addr, nwk_s_key FROM sessions WHERE dev_eui=?", EUI)
    for i in range(3):
        ns.handle_uplink(dev.uplink(PORT, temp(20.0 + i)), meta(t=(i + 1) * 1_000_000))
        assert rows(path, "SELECT fcnt_up_next, uplinks FROM sessions") == [(i + 1, i + 1)]
    join(ns, dev, t=10_000_000)  # new keys, maybe a new address: the row follows
    session = ns.session(DEV_EUI)
    (row,) = rows(path, "SELECT dev_addr, nwk_s_key, fcnt_up_next FROM sessions")
    assert row == (session.dev_addr, session.keys()[0].hex(), 0)
    assert row[1] != first[0][1]
    ns.handle_uplink(dev.uplink(PORT, temp(30.0)), meta(t=11_000_000))
    ns.store.close()
    ns = open_server(path)
    assert ns.session(DEV_EUI).fcnt_up_next == 1
    assert ns.session(DEV_EUI).keys() == session.keys()
    ns.handle_uplink(dev.uplink(PORT, temp(31.0)), meta(t=12_000_000))
    assert ns.readings[-1]["data"] == {"temperature_c": 31.0}
    ns.store.close()


def test_a_batch_is_one_transaction_and_is_stored_after_an_error(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    row = request_downlink(path, EUI, {"config": {"interval_s": 600}})
    with ns.batch():  # the request is taken when the batch opens
        (down,) = ns.handle_uplink(dev.uplink(PORT, temp(20.0)), meta(t=1_000_000))
        ns.handle_tx_ack(TxAck(down.downlink_id, "OK", "RX1"), meta(t=1_000_000).time_us)
        assert ns.handle_uplink(dev.uplink(PORT, temp(21.0)), meta(t=2_000_000)) == []
        assert rows(path, "SELECT count(*) FROM readings") == [(0,)]  # not committed yet
    assert rows(path, "SELECT count(*) FROM readings") == [(2,)]
    assert rows(path, "SELECT status FROM downlinks WHERE id=?", row) == [("sent",)]

    with pytest.raises(LnsError), ns.batch():
        ns.handle_uplink(dev.uplink(PORT, temp(22.0)), meta(t=3_000_000))
        ns.handle_uplink("not bytes", meta(t=3_100_000))
    assert rows(path, "SELECT count(*) FROM readings") == [(3,)]
    assert rows(path, "SELECT fcnt_up_next FROM sessions") == [(3,)]
    ns.store.close()
