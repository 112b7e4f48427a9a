"""A process that consumes time with nothing due in between moves the clock in place (no
thread switch); the order of everything observable is the same as with the switch. Processes
as greenlets (Scheduler(greenlets=True)) give the same trace as threads."""

import random

from lorafield_hw.scheduler import Scheduler


def _world(fast, greenlets=False):
    s = Scheduler(3, greenlets=greenlets)
    if not fast:
        s._can_skip_to = lambda time_us: False
    trace = []
    rnd = random.Random(7)

    def worker(name, steps):
        proc = s.current_process
        for i in range(steps):
            s.advance(rnd.choice((0, 1, 5, 10, 250)))
            trace.append((s.now_us, name, i))
            if i % 7 == 0:
                notified = proc.wait(rnd.choice((3, 40, 900)))
                trace.append((s.now_us, name, "woke", notified))

    a = s.spawn(worker, "a", 60)
    b = s.spawn(worker, "b", 60, delay_us=13)
    for t in range(0, 6000, 97):
        s.at(t, lambda t=t: trace.append((s.now_us, "tick", t)))
        s.at(t + 50, a.notify)
    s.at(2000, b.notify)

    def killer():
        s.advance(4100)
        b.kill()  # from another process, while b waits
        trace.append((s.now_us, "killed b", b.alive))

    s.spawn(killer)
    s.run_until(3000)  # a limit in the middle: processes must stop there
    trace.append((s.now_us, "limit"))
    s.run_until(10_000)
    s.shutdown()
    return trace, s


def test_fast_path_gives_the_same_trace_with_fewer_switches():
    slow, slow_s = _world(fast=False)
    fast, fast_s = _world(fast=True)
    assert fast == slow
    assert slow_s.fast_advances == 0
    assert fast_s.fast_advances > 0
    assert fast_s.handoffs + fast_s.fast_advances == slow_s.handoffs


def test_no_skip_past_the_run_until_limit():
    s = Scheduler()
    seen = []

    def proc():
        s.advance(100)
        seen.append(s.now_us)

    s.spawn(proc)
    s.run_until(50)
    assert s.now_us == 50 and seen == []
    s.run_until(100)
    assert seen == [100]


def test_greenlet_processes_give_the_same_trace_as_threads():
    threads, _ = _world(fast=False)
    greenlets, gs = _world(fast=False, greenlets=True)
    assert greenlets == threads
    assert all(p.thread is None for p in gs.processes)
    fast_greenlets, _ = _world(fast=True, greenlets=True)
    assert fast_greenlets == threads


def test_greenlet_process_errors_and_self_kill():
    s = Scheduler(greenlets=True)
    log = []

    def boom():
        s.advance(10)
        raise ValueError("firmware bug")

    def suicide():
        proc = s.current_process
        try:
            s.advance(5)
            proc.kill()
            log.append("not reached")
        finally:
            log.append(("finally", s.now_us))

    s.spawn(suicide)
    s.spawn(boom)
    try:
        s.run()
        raise AssertionError("the process error did not propagate")
    except ValueError as exc:
        assert str(exc) == "firmware bug"
    assert log == [("finally", 5)]
