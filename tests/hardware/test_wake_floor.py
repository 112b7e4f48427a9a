"""hardware/scripts/wake_floor.py counts what it divides by: one process switch per wake."""

import importlib.util
import pathlib

SCRIPT = pathlib.Path(__file__).parents[2] / "hardware" / "scripts" / "wake_floor.py"


def test_every_light_sleep_is_one_wake():
    spec = importlib.util.spec_from_file_location("wake_floor", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for feed in (False, True):
        cpu, wakes = module.measure(boards=3, hours=0.1, sleep_ms=10_000, feed=feed)
        # 360 s of 10 s sleeps per board, plus each board's first run (its boot)
        assert 3 * 36 <= wakes <= 3 * 37 + 3
        assert cpu > 0
