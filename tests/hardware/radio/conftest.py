"""Radio tests share `radio_helpers` (importable under --import-mode=importlib via sys.path)."""

import sys
from pathlib import Path

import adafruit_rfm9x
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def rfm9x_time():
    """Run adafruit_rfm9x on a scheduler's virtual clock; restore the real module after."""
    original = adafruit_rfm9x.time

    def install(scheduler):
        adafruit_rfm9x.time = scheduler.time_module()

    yield install
    adafruit_rfm9x.time = original
