"""Fixtures of the console tests: a short emulated field's database (the real firmware, the
real gateway service and network server: `lorafield demo`) and a console serving it.

`field_db` (session): 12 nodes (6 parking bays, 2 water gauges, 4 temperature sensors), 2
gateways, 6 emulated hours, its fleet file; one device renamed `<script>...` in the devices
table (as a fleet with that name would sync it) for the escaping checks.
`console_factory(db=None, host="127.0.0.1", **options)`: a started `Console` on a free port
with its token file in tmp_path; closed at teardown.
"""

import contextlib
import io
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from lorafield_gateway.console import Console
from lorafield_tools.cli import main

# console_helpers (SCRIPT_NAME, token_of, ...) importable under --import-mode=importlib
sys.path.insert(0, str(Path(__file__).parent))
from console_helpers import SCRIPT_NAME  # noqa: E402


@pytest.fixture(scope="session")
def field_db(tmp_path_factory):
    out = tmp_path_factory.mktemp("field")
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(["demo", "--nodes", "12", "--hours", "6", "--out", str(out), "--quiet"])
    assert status == 0
    db = sqlite3.connect(out / "lns.sqlite3")
    with db:
        db.execute(
            "UPDATE devices SET name=? WHERE dev_eui=(SELECT dev_eui FROM devices"
            " WHERE kind='temperature' ORDER BY dev_eui LIMIT 1)",
            (SCRIPT_NAME,),
        )
    db.close()
    return out / "lns.sqlite3", out / "fleet.toml"


@pytest.fixture
def field_copy(field_db, tmp_path):
    """A copy of the field's database and fleet a test may change (queue into)."""
    db, fleet = field_db
    shutil.copy(db, tmp_path / "lns.sqlite3")
    shutil.copy(fleet, tmp_path / "fleet.toml")
    return tmp_path / "lns.sqlite3", tmp_path / "fleet.toml"


@pytest.fixture
def console_factory(tmp_path):
    consoles = []

    def make(db, fleet=None, host="127.0.0.1", **options):
        options.setdefault("token_file", str(tmp_path / "console.token"))
        console = Console(
            str(db), host=host, port=0, fleet_path=str(fleet or ""), **options
        ).start()
        consoles.append(console)
        return console

    yield make
    for console in consoles:
        console.close()
