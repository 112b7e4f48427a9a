"""kill -9 in the middle of a stream of uplinks: every uplink whose call returned is in the
database, and handing the unacknowledged ones in again (as the gateway queue does) gives
each reading exactly once."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import lorafield_codec
from lns_helpers import ScriptedDevice
from test_sqlite_store import join, open_server

HERE = Path(__file__).parent
PORT = lorafield_codec.fport_of("temperature")
N = 400


def child(db, frames, start):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent / "lns")])
    return subprocess.Popen(
        [sys.executable, str(HERE / "crash_child.py"), db, frames, str(start)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(tmp_path):
    db = str(tmp_path / "lns.sqlite3")
    ns = open_server(db)
    dev = ScriptedDevice()
    join(ns, dev)
    ns.store.close()
    values = [round(10 + (i % 300) / 10, 1) for i in range(N)]
    frames = tmp_path / "frames.hex"
    frames.write_text(
        "".join(
            dev.uplink(PORT, lorafield_codec.encode("temperature", {"temperature_c": v})).hex()
            + "\n"
            for v in values
        )
    )
    proc = child(db, str(frames), 0)
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= N // 3:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    conn.close()
    assert acked < stored < N  # everything acknowledged is there; the stream was cut

    # The gateway's queue hands in again what it had not seen acknowledged (and a few more).
    proc = child(db, str(frames), acked - 5)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and int(out.split()[-1]) == N - 1

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    readings = conn.execute("SELECT fcnt, data FROM readings ORDER BY id").fetchall()
    assert [f for f, _ in readings] == list(range(N))
    assert [json.loads(d)["temperature_c"] for _, d in readings] == values
    retrans = conn.execute(
        "SELECT count(*) FROM events WHERE kind IN ('uplink_retransmission', 'uplink_rejected')"
    ).fetchone()[0]
    assert retrans >= 1  # the copies handed in twice were recognised, not stored again
    conn.close()
