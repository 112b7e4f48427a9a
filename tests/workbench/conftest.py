"""Workbench tests share `benchboard` (importable under --import-mode=importlib via sys.path)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from benchboard import BoardProcess  # noqa: E402


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """`lorafield emulate board --pty` (one per test module), killed at the end."""
    b = BoardProcess(tmp_path_factory.mktemp("board"))
    yield b
    b.stop()
