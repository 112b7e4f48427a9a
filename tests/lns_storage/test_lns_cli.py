"""`lorafield lns queue/devices/readings/events` on a server database; the queued config
goes out with the device's next uplink; user errors are one line, exit 2; no key printed."""

import json

import lorafield_codec
from lns_helpers import DEV_EUI, ScriptedDevice, meta
from lorafield_tools.cli import main
from test_sqlite_store import EUI, PORT, join, open_server, temp


def cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_queue_then_the_next_uplink_carries_it(tmp_path, capsys):
    path = str(tmp_path / "lns.sqlite3")
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    status, out, err = cli(capsys, "lns", "queue", EUI, '{"interval_s": 600}', "--db", path)
    assert status == 0 and err == ""
    assert json.loads(out)["config"] == {"interval_s": 600}
    (down,) = ns.handle_uplink(dev.uplink(PORT, temp(20.5)), meta(t=1_000_000))
    frame = dev.open_downlink(down.phy)
    assert lorafield_codec.decode(frame.fport, frame.payload) == ("config", {"interval_s": 600})
    ns.store.close()

    status, out, _ = cli(capsys, "lns", "devices", "--db", path)
    lines = out.splitlines()
    assert status == 0 and lines[0].split()[:3] == ["dev_eui", "name", "kind"]
    assert EUI in lines[1] and "temperature" in lines[1] and "2026-01-01T00:00:01" in lines[1]
    status, out, _ = cli(capsys, "lns", "readings", "--db", path, "--kind", "temperature")
    (reading,) = [json.loads(line) for line in out.splitlines()]
    assert reading["data"] == {"temperature_c": 20.5} and reading["dev_eui"] == EUI
    status, out, _ = cli(capsys, "lns", "events", "--db", path, "--limit", "2")
    kinds = [json.loads(line)["kind"] for line in out.splitlines()]
    assert kinds == ["uplink", "downlink"]
    session = ns.session(DEV_EUI)
    nwk, app = session.keys()
    for key in (nwk, app):  # no key anywhere in what the commands print
        for argv in (("devices",), ("events",), ("readings",)):
            _, out, _ = cli(capsys, "lns", *argv, "--db", path)
            assert key.hex() not in out


def test_user_errors_are_one_line(tmp_path, capsys):
    path = str(tmp_path / "lns.sqlite3")
    open_server(path).store.close()
    cases = [
        (("queue", "nothex", "{}"), "DevEUI must be 16 hex digits"),
        (("queue", EUI, "{not json"), "JSON is not valid"),
        (("queue", EUI, "[1]"), "JSON must be an object"),
        (("queue", EUI, '{"interval_s": -5}'), "config not encodable"),
        (("queue", "0000000000000009", '{"interval_s": 60}'), "unknown DevEUI"),
    ]
    for argv, needle in cases:
        status, out, err = cli(capsys, "lns", *argv, "--db", path)
        assert status == 2 and out == "" and needle in err and err.count("\n") == 1, (argv, err)
    status, _, err = cli(capsys, "lns", "devices", "--db", str(tmp_path / "none.sqlite3"))
    assert status == 2 and "no such database" in err
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"junk" * 500)
    status, _, err = cli(capsys, "lns", "readings", "--db", str(junk))
    assert status == 2 and "not a lorafield network server database" in err


def _server_with_readings(path, count):
    ns = open_server(path)
    dev = ScriptedDevice()
    join(ns, dev)
    for i in range(count):
        ns.handle_uplink(dev.uplink(PORT, temp(20 + i)), meta(t=(i + 1) * 1_000_000))
    ns.store.close()


def test_limit_must_be_a_positive_count(tmp_path, capsys):
    path = str(tmp_path / "lns.sqlite3")
    _server_with_readings(path, 3)
    for action in ("readings", "events"):
        for bad in ("0", "-1", "x"):
            status, out, err = cli(capsys, "lns", action, "--db", path, "--limit", bad)
            assert status == 2 and out == "" and err.count("\n") == 1, (action, bad, err)
            assert err.startswith(f"lorafield lns {action}: argument --limit: ")
    status, out, _ = cli(capsys, "lns", "readings", "--db", path, "--limit", "1")
    (last,) = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and last["data"] == {"temperature_c": 22.0}
    status, out, _ = cli(capsys, "lns", "readings", "--db", path)  # no --limit: every row
    assert status == 0 and len(out.splitlines()) == 3


def test_kind_must_be_one_that_exists(tmp_path, capsys):
    path = str(tmp_path / "lns.sqlite3")
    _server_with_readings(path, 1)
    status, out, err = cli(capsys, "lns", "readings", "--db", path, "--kind", "lamp")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "argument --kind: invalid choice: 'lamp'" in err
    assert all(repr(kind) in err for kind in lorafield_codec.KINDS)
    status, out, err = cli(capsys, "lns", "events", "--db", path, "--kind", "lamp")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("lorafield lns events: unknown event kind 'lamp' (one of join, ")
    status, out, _ = cli(capsys, "lns", "events", "--db", path, "--kind", "uplink")
    assert status == 0 and [json.loads(line)["kind"] for line in out.splitlines()] == ["uplink"]
    # A known kind with no event yet is an empty answer, not an error.
    status, out, err = cli(capsys, "lns", "events", "--db", path, "--kind", "uplink_rejected")
    assert (status, out, err) == (0, "", "")


def _kinds_the_server_names():
    """Every event kind lorafield_gateway.lns writes, read from its code: the string
    constants given as `_event(time, KIND, ...)`, appended as `events.append((KIND, ...))`,
    or assigned to a variable named `kind` (then passed to `_event`)."""
    import ast
    import pathlib

    import lorafield_gateway.lns as lns_package

    kinds = set()
    for source in pathlib.Path(lns_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            named = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "_event" and len(node.args) >= 2:
                    named.append(node.args[1])
                appended = node.func.attr == "append" and node.args
                if appended and isinstance(node.args[0], ast.Tuple):
                    target = node.func.value
                    if isinstance(target, ast.Attribute) and target.attr == "events":
                        named.append(node.args[0].elts[0])
            targets = node.targets if isinstance(node, ast.Assign) else ()
            if any(isinstance(t, ast.Name) and t.id == "kind" for t in targets):
                named.append(node.value)
            for expr in named:
                for leaf in ast.walk(expr):
                    if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                        kinds.add(leaf.value)
    return kinds


def test_event_kinds_are_every_kind_the_server_writes():
    from lorafield_tools.commands.lns import EVENT_KINDS

    named = _kinds_the_server_names()
    assert {"join", "uplink_rejected", "adr", "mac_unsolicited"} <= named  # the reader works
    assert set(EVENT_KINDS) == named


def _gateway_config(tmp_path, body):
    path = tmp_path / "gateway.toml"
    path.write_text(body)
    return str(path)


def test_without_db_the_gateway_configured_database_is_used(tmp_path, capsys, monkeypatch):
    from lorafield_tools.commands import lns

    state = tmp_path / "state"
    state.mkdir()
    _server_with_readings(str(state / "lns.sqlite3"), 2)
    # local.db empty: lns.sqlite3 in the state directory, as the gateway's local forwarder.
    config = _gateway_config(
        tmp_path, f'[gateway]\nstate_dir = "{state}"\n[local]\nenabled = true\n'
    )
    for action in ("devices", "readings", "events"):
        status, out, err = cli(capsys, "lns", action, "--config", config)
        assert status == 0 and err == "" and EUI in out, (action, err)
    status, out, err = cli(capsys, "lns", "queue", EUI, '{"interval_s": 600}', "--config", config)
    assert status == 0 and json.loads(out)["dev_eui"] == EUI, err
    # local.db set: that file. The default configuration path needs no --config.
    other = tmp_path / "other.sqlite3"
    _server_with_readings(str(other), 1)
    config = _gateway_config(tmp_path, f'[local]\nenabled = true\ndb = "{other}"\n')
    monkeypatch.setattr(lns, "DEFAULT_GATEWAY_CONFIG", config)
    status, out, _ = cli(capsys, "lns", "readings")
    assert status == 0 and len(out.splitlines()) == 1


def test_without_db_or_gateway_config_the_error_says_what_was_tried(tmp_path, capsys, monkeypatch):
    from lorafield_tools.commands import lns

    missing = str(tmp_path / "etc" / "gateway.toml")
    monkeypatch.setattr(lns, "DEFAULT_GATEWAY_CONFIG", missing)
    for argv in (("devices",), ("readings",), ("events",), ("queue", EUI, "{}")):
        status, out, err = cli(capsys, "lns", *argv)
        assert status == 2 and out == "" and err.count("\n") == 1, (argv, err)
        assert err.startswith(f"lorafield lns {argv[0]}: which database? give --db PATH or")
        assert missing in err
    off = _gateway_config(tmp_path, "[local]\nenabled = false\n")
    status, _, err = cli(capsys, "lns", "devices", "--config", off)
    assert status == 2 and f"{off}: the gateway runs no local network server" in err
    bad = _gateway_config(tmp_path, "[local]\nenabled = 1\n")
    status, _, err = cli(capsys, "lns", "devices", "--config", bad)
    assert (
        status == 2
        and err == f"lorafield lns devices: {bad}: local.enabled: must be true or false, got 1\n"
    )
    status, _, err = cli(capsys, "lns", "devices", "--config", bad, "--db", "x.sqlite3")
    assert status == 2 and "not allowed with argument" in err
