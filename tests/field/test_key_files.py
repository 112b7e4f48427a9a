"""Files and code holding keys: an export's sessions.json is 0600 as the fleet file is, the
field's fleet file carries the same test-key label as sessions.json, and every published
example key in shipped code has a name that says it is a test key."""

import json
import os
import re
import stat
from pathlib import Path

from lorafield_gateway.lns.sqlite_store import SqliteStore
from lorafield_tools.field.export import TEST_KEYS_NOTE, export
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("tools", "hardware", "gateway", "firmware", "codecs")
# Published example keys: FIPS-197 appendix A.1 (also RFC 4493) and appendix C.1.
EXAMPLE_KEYS = ("2b7e151628aed2a6abf7158809cf4f3c", "000102030405060708090a0b0c0d0e0f")
COUNTING_KEY = re.compile(r"(\w*key\w*)\s*=\s*bytes\(range\(16", re.IGNORECASE)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_exported_sessions_are_written_0600(tmp_path):
    SqliteStore(str(tmp_path / "lns.sqlite3")).close()
    out = tmp_path / "export"
    out.mkdir()
    (out / "sessions.json").write_text("{}")
    os.chmod(out / "sessions.json", 0o644)  # a previous export's wider mode is not kept
    old_umask = os.umask(0o022)
    try:
        export(str(tmp_path / "lns.sqlite3"), str(out))
    finally:
        os.umask(old_umask)
    assert mode(out / "sessions.json") == 0o600
    body = json.loads((out / "sessions.json").read_text())
    assert body["note"] == TEST_KEYS_NOTE and body["test_keys"] is True


def test_the_fields_fleet_file_carries_the_test_key_label(tmp_path):
    scenario = {
        "field": {"name": "labels", "hours": 0.1, "seed": 1},
        "gateway": [{"name": "g", "position": [0, 0]}],
        "node": [{"kind": "temperature", "name": "t", "position": [50, 0]}],
    }
    field = Field(parse_scenario(scenario, "labels.toml"), str(tmp_path / "out"))
    try:
        text = (tmp_path / "out" / "fleet.toml").read_text()
    finally:
        field.store.close()
    header = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    assert TEST_KEYS_NOTE in header
    assert mode(tmp_path / "out" / "fleet.toml") == 0o600


def shipped_python():
    for folder in SHIPPED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def test_example_keys_in_shipped_code_are_named_test_keys():
    unnamed = []
    for path in shipped_python():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            if any(key in line.lower() for key in EXAMPLE_KEYS) and "test" not in line.lower():
                unnamed.append(where)
            match = COUNTING_KEY.search(line)
            if match and "test" not in match.group(1).lower():
                unnamed.append(where)
    assert unnamed == []
    assert any(EXAMPLE_KEYS[0] in p.read_text() for p in shipped_python())  # the scan sees it
