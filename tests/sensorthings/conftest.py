"""Fixtures of the SensorThings tests: `sta_server` (a real server in its own process, on a
SQLite file in tmp_path; `.stop()`/`.start()` for an outage) and `field` (a short emulated
field's database and fleet)."""

import contextlib
import io
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from lorafield_tools.cli import main

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaServer:
    def __init__(self, directory):
        self.db = str(directory / "sta.sqlite3")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/sta/v1.1"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "sta_server.py"), self.db, str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"SensorThings server failed: {self.process.stderr.read()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("SensorThings server did not start in 60 s")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def sta_server(tmp_path):
    server = StaServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def field(tmp_path_factory):
    out = tmp_path_factory.mktemp("stafield")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--nodes", "6", "--hours", "3", "--out", str(out), "--quiet"]) == 0
    return out / "lns.sqlite3", out / "fleet.toml"
