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
