"""The virtual-time scheduler: ordering, processes in lock-step, waits, kills, determinism."""

import pytest
from lorafield_hw.scheduler import ProcessKilled, Scheduler


def test_callbacks_fire_in_time_order_and_fifo_for_equal_times():
    s = Scheduler()
    fired = []
    s.at(300, fired.append, "c")
    s.at(100, fired.append, "a")
    s.at(100, fired.append, "b")
    s.run()
    assert fired == ["a", "b", "c"]
    assert s.now_us == 300


def test_cancelled_event_does_not_fire_and_run_until_sets_clock():
    s = Scheduler()
    fired = []
    s.at(50, fired.append, "x").cancel()
    s.run_until(1_000)
    assert fired == []
    assert s.now_us == 1_000


def test_processes_interleave_in_virtual_time_order():
    s = Scheduler()
    log = []

    def node(name, period_us):
        for _ in range(3):
            log.append((s.now_us, name))
            s.advance(period_us)
        return name

    a = s.spawn(node, "a", 1_000)
    b = s.spawn(node, "b", 1_500)
    s.run()
    assert log == [(0, "a"), (0, "b"), (1_000, "a"), (1_500, "b"), (2_000, "a"), (3_000, "b")]
    assert (a.result, b.result, a.alive, b.alive) == ("a", "b", False, False)


def test_wait_returns_true_on_notify_and_false_on_timeout():
    s = Scheduler()
    outcomes = []

    def waiter():
        outcomes.append((proc.wait(5_000), s.now_us))
        outcomes.append((proc.wait(5_000), s.now_us))

    proc = s.spawn(waiter)
    s.after(1_500, proc.notify)
    s.run()
    assert outcomes == [(True, 1_500), (False, 6_500)]


def test_exception_in_process_surfaces_in_the_caller():
    s = Scheduler()

    def broken():
        s.advance(10)
        raise ValueError("boom")

    s.spawn(broken)
    with pytest.raises(ValueError, match="boom"):
        s.run()


def test_kill_stops_a_process_without_running_more_of_its_code():
    s = Scheduler()
    steps = []

    def forever():
        try:
            while True:
                steps.append(s.now_us)
                s.advance(100)
        except Exception:  # firmware-style catch-all must not swallow a kill
            steps.append("swallowed")

    proc = s.spawn(forever)
    s.run_until(450)
    proc.kill()
    s.run_until(10_000)
    assert steps == [0, 100, 200, 300, 400]
    assert not proc.alive
    assert issubclass(ProcessKilled, BaseException) and not issubclass(ProcessKilled, Exception)


def test_callback_cannot_consume_time():
    s = Scheduler()
    s.at(10, s.advance, 5)
    with pytest.raises(RuntimeError, match="callback"):
        s.run()


def test_main_thread_advance_runs_the_world_forward():
    s = Scheduler()
    fired = []
    s.at(2_000, fired.append, "due")
    clock = s.time_module()
    start = clock.monotonic()
    while not fired:  # a driver busy-polling a flag sees time pass
        clock.monotonic()
    assert clock.monotonic() - start >= 0.002
    clock.sleep(1.0)
    assert s.now_us >= 1_002_000


def test_same_seed_same_world():
    def run(seed):
        s = Scheduler(seed)
        out = []

        def jitter():
            for _ in range(5):
                s.advance(s.random.randrange(1, 1_000))
                out.append(s.now_us)

        s.spawn(jitter)
        s.run()
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)
