"""Fixtures for the LoRaWAN protocol-core tests: a fake `cryptolib` and the known-answer
program shared with the MicroPython VM."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def fake_cryptolib_module(calls: list[str] | None = None) -> types.ModuleType:
    """A stand-in for MicroPython's `cryptolib` (as the stubs declare it) wrapping `cryptography`.

    Only mode 1 (ECB) is supported, like the firmware needs; `encrypt(in, out=None)` writes into
    `out` when given and otherwise returns bytes, as MicroPython's does. `calls` records use.
    """
    module = types.ModuleType("cryptolib")

    class aes:  # noqa: N801 - the real class is lower-case
        def __init__(self, key, mode, IV=None):  # noqa: N803
            if mode != 1:
                raise ValueError("fake cryptolib supports ECB only")
            if IV is not None:
                raise ValueError("ECB takes no IV")
            self._enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

        def encrypt(self, in_buf, out_buf=None):
            if len(in_buf) % 16:
                raise ValueError("blksize % 16")
            if calls is not None:
                calls.append("encrypt")
            data = self._enc.update(bytes(in_buf))
            if out_buf is None:
                return data
            out_buf[: len(data)] = data
            return None

        def decrypt(self, in_buf, out_buf=None):
            raise AssertionError("the firmware must never need AES decrypt")

    module.aes = aes  # type: ignore[attr-defined]
    return module


KAT_PATH = Path(__file__).with_name("lorawan_kat.py")


@pytest.fixture
def fake_cryptolib(monkeypatch):
    """Install a fake `cryptolib` in sys.modules; yields the list of recorded calls."""
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "cryptolib", fake_cryptolib_module(calls))
    yield calls


@pytest.fixture(scope="session")
def kat():
    """The known-answer program lorawan_kat.py as a module, plus `.PATH` and `.SOURCE`."""
    spec = importlib.util.spec_from_file_location("lorawan_kat", KAT_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PATH = KAT_PATH
    module.SOURCE = KAT_PATH.read_text(encoding="utf-8")
    return module
