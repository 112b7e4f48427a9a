"""The scheduler forgets ended processes (every deep-sleep boot of a node is one), but never a
live one: a field day spawns ~100 processes per node."""

import pytest
from lorafield_hw.scheduler import Scheduler


@pytest.mark.parametrize("greenlets", [False, True])
def test_ended_processes_are_forgotten_live_ones_kept(greenlets):
    scheduler = Scheduler(greenlets=greenlets)
    sleeper = scheduler.spawn(lambda: scheduler.advance(10**9), name="long")
    for i in range(1000):
        scheduler.spawn(lambda: None, name=f"boot-{i}")
        scheduler.run_until(i + 1)
    assert sleeper in scheduler.processes and sleeper.alive
    assert len(scheduler.processes) < 200  # not the 1,001 spawned
    assert sum(p.alive for p in scheduler.processes) == 1
    scheduler.shutdown()
    assert not sleeper.alive
