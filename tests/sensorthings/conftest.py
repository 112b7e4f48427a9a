"""Fixtures of the SensorThings tests: `sta_server` (a real server in its own process, on a
SQLite file in tmp_path; `.stop()`/`.start()` for an outage) and `field` (a short emulated
field's database and fleet)."""

import contextlib
import io
import sys
from pathlib import Path

import pytest
from lorafield_tools.cli import main
from lorafield_tools.sta_test_server import StaServer as _Runner

sys.path.insert(0, str(Path(__file__).parent))  # sta_helpers, under --import-mode=importlib


class StaServer(_Runner):
    """The server on `directory`/sta.sqlite3 (its stderr in sta.log beside it)."""

    def __init__(self, directory):
        super().__init__(directory / "sta.sqlite3", directory / "sta.log")


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
