"""`lorafield bench crypto` runs on both interpreters and reports its figures."""

from __future__ import annotations

import re

import pytest
from lorafield_tools.cli import main


@pytest.mark.micropython
def test_bench_crypto_reports_every_figure(capsys):
    assert main(["bench", "crypto", "--blocks", "40", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for label in ("MicroPython", r"CPython \(python\)", r"CPython \(cryptography\)"):
        assert re.search(label + r".*: AES-128 \d+ blocks/s; key schedule \d+ us", out), label
    assert "MicroPython heap allocated per uplink build: 0 bytes" in out


def test_bench_crypto_rejects_bad_arguments(capsys):
    assert main(["bench", "crypto", "--repeat", "0"]) == 2
    assert "--repeat" in capsys.readouterr().err
