"""gateway/README.md's emulated gateway run, as printed: the shell block under "Without
hardware" is read from the README and run (the `gateway run` line for a bounded time, then
SIGINT as Ctrl-C); the database then shows the fleet's devices joined and their readings,
every event stamped with the wall time. And the default configuration says that it forwards
to nothing."""

import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gw_helpers import make_config
from lorafield_gateway.service import GatewayService

README = Path(__file__).resolve().parents[2] / "gateway" / "README.md"


def readme_block():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Without hardware**") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def shell(script, cwd, env):
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def db_counts(path):
    if not os.path.exists(path):
        return 0, 0
    db = sqlite3.connect(path)
    try:
        joins = db.execute("SELECT count(*) FROM events WHERE kind = 'join'").fetchone()[0]
        readings = db.execute("SELECT count(DISTINCT dev_eui) FROM readings").fetchone()[0]
    except sqlite3.OperationalError:  # the server has not created its tables yet
        return 0, 0
    finally:
        db.close()
    return joins, readings


def test_the_readmes_emulated_gateway_run_reaches_the_local_server(tmp_path):
    block = readme_block()
    before, run_line, after = re.split(
        r"^(lorafield gateway run .*)$", block, maxsplit=1, flags=re.M
    )
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    setup = shell(before, tmp_path, env)
    assert setup.returncode == 0, setup.stderr
    started_us = time.time_ns() // 1000
    gateway = subprocess.Popen(
        ["bash", "-c", f"exec {run_line}"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = tmp_path / "gateway-state" / "lns.sqlite3"
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and db_counts(db) != (2, 2):
            time.sleep(0.2)
        assert db_counts(db) == (2, 2), "no joins and readings from both devices"
        gateway.send_signal(signal.SIGINT)  # Ctrl-C
        assert gateway.wait(timeout=15) == 0
    finally:
        if gateway.poll() is None:
            gateway.kill()
    log = gateway.stderr.read()
    assert "emulated nodes: 2 of the 2 devices" in log and "gateway stopped" in log
    listing = shell(after, tmp_path, env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    devices = [line.split() for line in lines if re.match(r"^[0-9a-f]{16} ", line)]
    assert len(devices) == 2 and all(int(row[4]) >= 1 for row in devices)  # uplinks
    readings = [json.loads(line) for line in lines if line.startswith("{")]
    assert readings and all(r["kind"] == "temperature" for r in readings)
    assert all(-40 <= r["data"]["temperature_c"] <= 85 for r in readings)
    # Every event the server wrote carries the wall time of this run (a second's slack each
    # side: the service's emulated clock paces on the monotonic clock, not on wall steps).
    conn = sqlite3.connect(db)
    times = conn.execute("SELECT kind, time_us FROM events").fetchall()
    conn.close()
    assert {"join", "join_accept_sent", "uplink"} <= {k for k, _ in times}
    assert [
        k for k, t in times if not started_us - 1_000_000 <= t <= time.time_ns() // 1000 + 1_000_000
    ] == []


def test_the_default_config_says_it_forwards_to_nothing(tmp_path, caplog):
    cfg = make_config(tmp_path, radio={"kind": "emulated", "emulated_nodes": 0})
    service = GatewayService(cfg)
    with caplog.at_level(logging.WARNING, logger="lorafield.gateway"):
        service.start()
        service.stop()
    assert "no forwarder enabled" in caplog.text
