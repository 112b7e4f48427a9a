"""The `lorafield` command line: help lists every subcommand; every user error is one line,
`lorafield <command> [<action>]: <message>`, exit status 2, no traceback, no key."""

import subprocess
import sys

import pytest
from lorafield_gateway.lns.sqlite_store import SqliteStore
from lorafield_tools.cli import COMMANDS, main

DEV_EUI = "70b3d57ed0001001"
APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
API_KEY = "eyJ0eXAiOiJKV1Qi.secret"
FLEET = f"""[defaults]
join_eui = "70b3d57ed00000ff"

[[device]]
dev_eui = "{DEV_EUI}"
kind = "temperature"
app_key = "{APP_KEY}"
"""
SCENARIO = """[field]
name = "x"
hours = 1
[[gateway]]
name = "g"
position = [0, 0]
[[node]]
kind = "parking"
position = [10, 10]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{name: path} of the inputs a new user gets wrong: a good fleet, database, key and
    scenario, and a missing file, a directory, a non-UTF-8 file, a file that is no database."""
    root = tmp_path_factory.mktemp("cli")
    paths = {
        "dir": root / "a-directory",
        "missing": root / "missing.toml",
        "fleet": root / "fleet.toml",
        "bin": root / "binary.toml",
        "junk": root / "junk.sqlite3",
        "db": root / "lns.sqlite3",
        "key": root / "api.key",
        "scenario": root / "field.toml",
        "file": root / "plain.txt",
    }
    paths["dir"].mkdir()
    paths["fleet"].write_text(FLEET)
    paths["bin"].write_bytes(b"\xff\xfe\x00[device]")
    paths["junk"].write_bytes(b"junk" * 500)
    SqliteStore(str(paths["db"])).close()
    paths["key"].write_text(API_KEY + "\n")
    paths["key"].chmod(0o600)
    paths["scenario"].write_text(SCENARIO)
    paths["file"].write_text("text\n")
    return {name: str(path) for name, path in paths.items()}


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


CS = ["--api-key-file", "{key}", "--server", "localhost:1", "--timeout", "1"]
# (prefix, argv): every command, typical mistakes; {name} is a path from `files`.
BAD = [
    ("lorafield", []),
    ("lorafield", ["no-such-command"]),
    ("lorafield demo", ["demo", "--nodes", "2"]),
    ("lorafield demo", ["demo", "--hours", "x"]),
    ("lorafield demo", ["demo", "--hours", "-1"]),
    ("lorafield demo", ["demo", "--out", "{file}", "--hours", "0.1"]),
    ("lorafield demo", ["demo", "--also-forward", "http://x", "--hours", "0.1"]),
    ("lorafield codec", ["codec"]),
    ("lorafield codec encode", ["codec", "encode", "lamp", "{{}}"]),
    ("lorafield codec encode", ["codec", "encode", "parking", "{{nojson"]),
    ("lorafield codec decode", ["codec", "decode", "--fport", "10", "zz"]),
    ("lorafield codec decode", ["codec", "decode", "--fport", "-1", "00"]),
    ("lorafield codec decode", ["codec", "decode", "--fport", "x", "00"]),
    ("lorafield codec export", ["codec", "export", "--target", "js"]),
    ("lorafield codec export", ["codec", "export", "--target", "ttn", "-o", "{dir}"]),
    ("lorafield airtime", ["airtime", "--sf"]),
    ("lorafield airtime", ["airtime", "--sf", "13", "--bw", "125", "--payload-bytes", "9"]),
    ("lorafield airtime", ["airtime", "--sf", "7", "--bw", "3", "--payload-bytes", "9"]),
    ("lorafield airtime", ["airtime", "--sf", "7", "--bw", "125", "--payload-bytes", "-1"]),
    ("lorafield bench", ["bench"]),
    ("lorafield bench", ["bench", "no-such-benchmark"]),
    ("lorafield bench codec", ["bench", "codec", "--number", "0"]),
    ("lorafield bench air", ["bench", "air", "--nodes", "0"]),
    ("lorafield bench air", ["bench", "air", "--nodes", "10", "--channels", "0"]),
    ("lorafield bench air", ["bench", "air", "--nodes", "10", "--channels", "99"]),
    ("lorafield bench air", ["bench", "air", "--nodes", "10", "--channels", "x"]),
    ("lorafield bench air", ["bench", "air", "--channels", "8"]),
    ("lorafield bench micropython", ["bench", "micropython", "--runs", "0"]),
    ("lorafield bench crypto", ["bench", "crypto", "--blocks", "1"]),
    ("lorafield bench firmware", ["bench", "firmware", "--uplinks", "1"]),
    ("lorafield bench lns", ["bench", "lns", "--devices", "0"]),
    ("lorafield bench gateway", ["bench", "gateway", "--uplinks", "1"]),
    ("lorafield bench energy", ["bench", "energy", "--hours", "0"]),
    ("lorafield bench energy", ["bench", "energy", "--board", "nope"]),
    ("lorafield bench integration", ["bench", "integration", "--devices", "0"]),
    ("lorafield bench field", ["bench", "field", "--nodes", "x"]),
    ("lorafield bench workbench", ["bench", "workbench", "--execs", "0"]),
    ("lorafield bench workbench", ["bench", "workbench", "--speed", "-1"]),
    ("lorafield bench soak", ["bench", "soak", "--kind", "parking", "--days", "0"]),
    ("lorafield bench soak", ["bench", "soak", "--kind", "lamp"]),
    ("lorafield bench soak", ["bench", "soak", "--kind", "parking", "--heap-kib", "8"]),
    ("lorafield bench conformance", ["bench", "conformance", "--region", "XX"]),
    ("lorafield bench conformance", ["bench", "conformance", "--seed", "x"]),
    ("lorafield gateway", ["gateway"]),
    ("lorafield gateway run", ["gateway", "run", "--config", "{missing}"]),
    ("lorafield gateway run", ["gateway", "run", "--config", "{dir}"]),
    ("lorafield gateway run", ["gateway", "run", "--config", "{bin}"]),
    ("lorafield gateway run", ["gateway", "run", "--config", "{fleet}"]),
    ("lorafield gateway check-backhaul", ["gateway", "check-backhaul"]),
    ("lorafield gateway check-backhaul", ["gateway", "check-backhaul", "--config", "{missing}"]),
    ("lorafield gateway check-backhaul", ["gateway", "check-backhaul", "--config", "{bin}"]),
    ("lorafield gateway check-backhaul", ["gateway", "check-backhaul", "--config", "{file}",
                                          "--timeout", "0"]),
    ("lorafield lns", ["lns"]),
    ("lorafield lns devices", ["lns", "devices", "--db", "{missing}"]),
    ("lorafield lns devices", ["lns", "devices", "--db", "{dir}"]),
    ("lorafield lns devices", ["lns", "devices", "--db", "{junk}"]),
    ("lorafield lns devices", ["lns", "devices", "--config", "{missing}"]),
    ("lorafield lns readings", ["lns", "readings", "--db", "{db}", "--limit", "0"]),
    ("lorafield lns readings", ["lns", "readings", "--db", "{db}", "--limit", "-1"]),
    ("lorafield lns readings", ["lns", "readings", "--db", "{db}", "--kind", "lamp"]),
    ("lorafield lns readings", ["lns", "readings", "--db", "{db}", "--dev-eui", "zz"]),
    ("lorafield lns events", ["lns", "events", "--db", "{db}", "--kind", "lamp"]),
    ("lorafield lns events", ["lns", "events", "--db", "{db}", "--config", "{fleet}"]),
    ("lorafield lns queue", ["lns", "queue", "zz", "{{}}", "--db", "{db}"]),
    ("lorafield lns queue", ["lns", "queue", DEV_EUI, "[1]", "--db", "{db}"]),
    ("lorafield lns queue", ["lns", "queue", DEV_EUI, '{{"interval_s": 600}}', "--db", "{db}"]),
    ("lorafield chirpstack", ["chirpstack"]),
    ("lorafield chirpstack sync", ["chirpstack", "sync", "--fleet", "{bin}", "--tenant", "t", *CS]),
    ("lorafield chirpstack sync", ["chirpstack", "sync", "--fleet", "{missing}", "--tenant", "t",
                                   *CS]),
    ("lorafield chirpstack status", ["chirpstack", "status", "--fleet", "{fleet}", "--api-key-file",
                                     "{dir}", "--server", "localhost:1"]),
    ("lorafield chirpstack status", ["chirpstack", "status", "--fleet", "{fleet}", "--api-key-file",
                                     "{key}", "--server", "localhost:99999"]),
    ("lorafield chirpstack status", ["chirpstack", "status", "--fleet", "{fleet}", *CS,
                                     "--ca-file", "{fleet}"]),
    ("lorafield chirpstack status", ["chirpstack", "status", "--fleet", "{fleet}", *CS,
                                     "--timeout", "0"]),
    ("lorafield provision", ["provision"]),
    ("lorafield provision new", ["provision", "new", "--kind", "lamp", "--fleet", "{fleet}"]),
    ("lorafield provision new", ["provision", "new", "--kind", "parking", "--fleet", "{fleet}",
                                 "--board", "nope"]),
    ("lorafield provision new", ["provision", "new", "--kind", "parking", "--fleet", "{bin}"]),
    ("lorafield provision new", ["provision", "new", "--kind", "parking", "--fleet", "{dir}"]),
    ("lorafield provision new", ["provision", "new", "--kind", "parking", "--fleet", "{fleet}",
                                 "--count", "-2"]),
    ("lorafield provision new", ["provision", "new", "--kind", "parking", "--fleet", "{fleet}",
                                 "--join-eui", "zz"]),
    ("lorafield provision new", ["provision", "new", "--kind", "parking", "--fleet",
                                 "{dir}/no/such/dir/fleet.toml"]),
    ("lorafield provision list", ["provision", "list", "--fleet", "{missing}"]),
    ("lorafield provision list", ["provision", "list", "--fleet", "{bin}"]),
    ("lorafield emulate", ["emulate"]),
    ("lorafield emulate", ["emulate", "{missing}"]),
    ("lorafield emulate", ["emulate", "{dir}"]),
    ("lorafield emulate", ["emulate", "{bin}"]),
    ("lorafield emulate", ["emulate", "{fleet}"]),
    ("lorafield emulate", ["emulate", "{scenario}", "--out", "{file}"]),
    ("lorafield emulate", ["emulate", "{scenario}", "--out", "{dir}", "--export", "{file}"]),
    ("lorafield emulate", ["emulate", "{scenario}", "--db", "{junk}", "--out", "{dir}"]),
    ("lorafield emulate", ["emulate", "board", "--pty", "--heap-kib", "0"]),
    # Too small a heap for the native interpreter's start-up (or, where it is not installed,
    # the install hint): one line either way, before the pty's path is printed.
    ("lorafield emulate board", ["emulate", "board", "--pty", "--no-radio", "--runtime",
                                 "micropython", "--heap-kib", "8"]),
    ("lorafield emulate", ["emulate", "{scenario}", "--runtime", "pypy"]),
    ("lorafield emulate board", ["emulate", "board", "--pty", "--runtime", "cpython"]),
    ("lorafield emulate board", ["emulate", "board"]),
    ("lorafield emulate board", ["emulate", "board", "--pty", "--board-profile", "nope"]),
    ("lorafield emulate board", ["emulate", "board", "--pty", "--fleet", "{missing}"]),
    ("lorafield emulate board", ["emulate", "board", "--pty", "--fleet", "{bin}"]),
    ("lorafield emulate board", ["emulate", "board", "--pty", "--speed", "0"]),
    ("lorafield deploy", ["deploy", "--port", "{missing}", "--device", DEV_EUI, "--fleet",
                          "{fleet}"]),
    ("lorafield deploy", ["deploy", "--port", "{dir}", "--device", "0000000000000000",
                          "--fleet", "{fleet}"]),
    ("lorafield deploy", ["deploy", "--port", "{missing}", "--device", DEV_EUI, "--fleet",
                          "{bin}"]),
    ("lorafield deploy", ["deploy", "--port", "{missing}", "--device", DEV_EUI, "--fleet",
                          "{fleet}", "--board", "nope"]),
    ("lorafield deploy", ["deploy", "--port", "{missing}", "--device", DEV_EUI, "--fleet",
                          "{fleet}", "--root", "{dir}"]),
    ("lorafield deploy", ["deploy", "--port", "{missing}", "--device", DEV_EUI, "--fleet",
                          "{fleet}", "--watch", "-1"]),
    ("lorafield monitor", ["monitor", "--port", "{missing}"]),
    ("lorafield monitor", ["monitor", "--port", "{dir}"]),
    ("lorafield monitor", ["monitor", "--port", "{missing}", "--baud", "-5"]),
    ("lorafield monitor", ["monitor", "--port", "{missing}", "--seconds", "-1"]),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "argv"), BAD, ids=[" ".join(a) for _, a in BAD])
def test_every_user_error_is_one_line_named_after_its_command(prefix, argv, files, capsys):
    status = main([arg.format(**files) for arg in argv])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and captured.err.endswith("\n"), captured.err
    assert lines[0].startswith(prefix + ": "), lines[0]
    message = lines[0][len(prefix) + 2 :]
    # Named once: no second `lorafield ...:` or `<command>:` in front of the message.
    assert not message.startswith(("lorafield", *(f"{name}" for name in COMMANDS))), lines[0]
    assert APP_KEY not in captured.err and API_KEY not in captured.err


def test_an_error_of_several_lines_is_printed_as_one(monkeypatch, capsys):
    from lorafield_tools.cli import UsageError
    from lorafield_tools.commands import airtime

    def run(args):  # e.g. a compiler's output carried in the message
        raise UsageError("first line\n  second line\n")

    monkeypatch.setattr(airtime, "run", run)
    assert main(["airtime", "--sf", "7", "--bw", "125", "--payload-bytes", "9"]) == 2
    assert capsys.readouterr().err == "lorafield airtime: first line; second line\n"


def test_a_file_is_named_once_in_its_error(files, capsys):
    for name in ("missing", "dir", "bin"):
        assert main(["gateway", "run", "--config", files[name]]) == 2
        err = capsys.readouterr().err
        assert err.count(files[name]) == 1, err


def test_a_command_that_cannot_go_on_is_one_line_exit_1(files, capsys):
    argv = ["chirpstack", "status", "--fleet", files["fleet"], *CS]
    status = main([arg.format(**files) for arg in argv])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("lorafield chirpstack status: cannot reach ChirpStack at localhost:1")


def test_out_help_shows_the_default_each_command_uses(files, tmp_path, monkeypatch, capsys):
    for argv, default in ((["demo"], "lorafield-demo"), (["emulate"], "lorafield-SCENARIO")):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert (
            f"--out DIR directory for the database, fleet file and report (default {default}"
            in (help_text)
        )
    # What the emulate help says is what it does: field.toml -> lorafield-field/.
    monkeypatch.chdir(tmp_path)
    assert main(["emulate", files["scenario"], "--quiet"]) == 0
    assert "database: lorafield-field/lns.sqlite3" in capsys.readouterr().out
    assert (tmp_path / "lorafield-field" / "report.html").is_file()


def test_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "lorafield_tools", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "bench" in result.stdout
