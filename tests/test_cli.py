"""The `lorafield` command line: help lists every subcommand; user errors are one line, exit 2."""

import subprocess
import sys

import pytest
from lorafield_tools.cli import COMMANDS, main


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize(
    "argv",
    [[], ["no-such-command"], ["bench"], ["bench", "no-such-benchmark"], ["airtime", "--sf"]],
)
def test_usage_errors_are_one_line_and_exit_2(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "Traceback" not in captured.err
    assert lines[0].startswith("lorafield")


def test_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "lorafield_tools", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "bench" in result.stdout
