"""The local network server on SQLite: state survives a restart, every table is written,
downlinks requested by another process are taken, nothing in a de-duplication window is
lost, rejections keep their reason."""

import json
import os
import sqlite3
import stat

import lorafield_codec
import pytest
from lns_helpers import DEV_EUI, ScriptedDevice, meta, registry
from lorafield_gateway.lns import LnsError, TxAck
from lorafield_gateway.lns.sqlite_store import (
    SqliteStore,
    StoredNetworkServer,
    StoreError,
    request_downlink,
)

EUI = DEV_EUI.hex()
PORT = lorafield_codec.fport_of("temperature")


def open_server(path, **options):
    options.setdefault("dedup_window_us", 0)
    options.setdefault("adr", False)
    return StoredNetworkServer(registry(), SqliteStore(str(path)), **options)


def join(ns, dev, t=0, nonce=None):
    (accept,) = ns.handle_uplink(dev.join_request(nonce), meta(t=t))
    dev.take_accept(accept.phy)
    ns.handle_tx_ack(TxAck(accept.downlink_id, "OK", "RX1"), meta(t=t).time_us)


def temp(c):  # on the codec's temperature port (PORT)
    return lorafield_codec.encode("temperature", {"temperature_c": c})


def rows(path, sql, *args):
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_every_table_written_and_state_survives_a_restart(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    for i in range(3):
        ns.handle_uplink(dev.uplink(PORT, temp(20.0 + i)), meta(t=(i + 1) * 1_000_000))
    ns.store.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # it holds session keys
    assert rows(path, "PRAGMA journal_mode")[0][0] == "wal"
    assert rows(path, "SELECT dev_eui, kind, activation FROM devices") == [
        (EUI, "temperature", "otaa")
    ]
    data = rows(path, "SELECT fcnt, kind, data, device_kind FROM readings ORDER BY id")
    assert [(f, k, json.loads(d)["temperature_c"], dk) for f, k, d, dk in data] == [
        (0, "temperature", 20.0, "temperature"),
        (1, "temperature", 21.0, "temperature"),
        (2, "temperature", 22.0, "temperature"),
    ]
    frames = rows(path, "SELECT fcnt, phy_hex, gateway_id, rssi_dbm, sf, dr FROM frames")
    assert [f[0] for f in frames] == [0, 1, 2]
    assert all(f[2:] == ("gw0", -80.0, 7, 5) for f in frames)
    assert rows(path, "SELECT fcnt_up_next FROM sessions WHERE dev_eui=?", EUI) == [(3,)]
    kinds = [k for (k,) in rows(path, "SELECT kind FROM events ORDER BY id")]
    assert kinds == ["join", "join_accept_sent", "uplink", "uplink", "uplink"]

    # A new process: the session, the counters and the join state come back.
    ns = open_server(path)
    session = ns.session(DEV_EUI)
    assert session.fcnt_up_next == 3 and session.dev_addr == dev.dev_addr
    ns.handle_uplink(dev.uplink(PORT, temp(23.0)), meta(t=5_000_000))
    assert ns.readings[-1]["data"] == {"temperature_c": 23.0}
    # Replayed counter and forged MIC: rejected, with the reason stored.
    ns.handle_uplink(dev.uplink(PORT, temp(49.0), fcnt=1), meta(t=6_000_000))
    forged = bytearray(dev.uplink(PORT, temp(48.0), fcnt=10))
    forged[-1] ^= 1
    ns.handle_uplink(bytes(forged), meta(t=7_000_000))
    # An old DevNonce after the restart is still refused (greater than any seen).
    ns.handle_uplink(ScriptedDevice().join_request(0), meta(t=8_000_000))
    ns.store.close()
    rejected = rows(path, "SELECT kind, reason FROM events WHERE kind LIKE '%rejected' ORDER BY id")
    assert [r[1] for r in rejected[:2]] == ["FCnt replay", "MIC mismatch"]
    assert rejected[2][0] == "join_rejected" and "DevNonce" in rejected[2][1]
    assert rows(path, "SELECT count(*) FROM readings")[0][0] == 4


def test_a_downlink_requested_by_another_process_goes_out_and_is_tracked(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    row = request_downlink(path, EUI.upper(), {"config": {"interval_s": 600}})
    assert rows(path, "SELECT status FROM downlinks WHERE id=?", row) == [("requested",)]
    (down,) = ns.handle_uplink(dev.uplink(PORT, temp(20.0)), meta(t=1_000_000))
    frame = dev.open_downlink(down.phy)
    assert lorafield_codec.decode(frame.fport, frame.payload) == ("config", {"interval_s": 600})
    assert rows(path, "SELECT status FROM downlinks WHERE id=?", row) == [("in_flight",)]
    ns.handle_tx_ack(TxAck(down.downlink_id, "OK", "RX1"), meta(t=1_000_000).time_us)
    assert rows(path, "SELECT status, window, fcnt_down FROM downlinks WHERE id=?", row) == [
        ("sent", "RX1", 0)
    ]
    with pytest.raises(LnsError, match="unknown DevEUI"):
        request_downlink(path, "0000000000000001", {"config": {"interval_s": 600}})
    with pytest.raises(LnsError, match="config not encodable"):
        request_downlink(path, EUI, {"config": {"interval_s": "soon"}})


def test_a_queued_downlink_and_an_in_flight_one_survive_a_restart(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    first = ns.enqueue_config(DEV_EUI, {"interval_s": 600})
    second = ns.enqueue_config(DEV_EUI, {"interval_s": 1200})
    (down,) = ns.handle_uplink(dev.uplink(PORT, temp(20.0)), meta(t=1_000_000))
    ns.store.close()  # crash before the gateway's TX ack: the first is in flight
    ns = open_server(path)
    assert [q.ref for q in ns.queue(DEV_EUI)] == [first, second]  # in flight goes again
    assert ns.enqueue_config(DEV_EUI, {"interval_s": 60}) == second + 1  # refs continue
    ns.store.close()


def test_copies_inside_the_dedup_window_survive_a_restart(tmp_path):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path, dedup_window_us=200_000)
    dev = ScriptedDevice()
    (accept,) = ns.handle_uplink(dev.join_request(), meta(t=0)) + ns.flush(meta(t=300_000).time_us)
    dev.take_accept(accept.phy)
    phy = dev.uplink(PORT, temp(20.0))
    assert ns.handle_uplink(phy, meta("gw0", snr=2.0, t=1_000_000)) == []
    assert ns.handle_uplink(phy, meta("gw1", snr=9.0, t=1_050_000)) == []
    ns.store.close()
    ns = open_server(path, dedup_window_us=200_000)
    ns.flush(meta(t=1_300_000).time_us)
    ns.store.close()
    assert rows(path, "SELECT fcnt, gateway_id FROM frames") == [(0, "gw1")]
    assert rows(path, "SELECT count(*) FROM readings")[0][0] == 1
    assert rows(path, "SELECT count(*) FROM pending")[0][0] == 0


def test_not_a_database_is_a_typed_error(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="bad.sqlite3"):
        SqliteStore(str(bad))
