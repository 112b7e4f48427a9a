"""Workbench tests share `benchboard` (importable under --import-mode=importlib via sys.path)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from benchboard import BoardProcess, runtime_params  # noqa: E402


@pytest.fixture(scope="module", params=runtime_params())
def board(request, tmp_path_factory):
    """`lorafield emulate board --pty` (one per test module and runtime: the WebAssembly VM and
    the native unix port), killed at the end."""
    b = BoardProcess(tmp_path_factory.mktemp("board"), runtime=request.param)
    yield b
    b.stop()
