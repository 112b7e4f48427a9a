"""The durable queue: per-forwarder copies, order, bounds with counted drops, and frames
acknowledged by put() surviving a kill -9 of the writing process."""

import os
import signal
import subprocess
import sys
import textwrap

from lorafield_gateway.queue import FrameQueue


def test_each_forwarder_drains_its_own_copy_in_order(tmp_path):
    q = FrameQueue(tmp_path / "q.sqlite3", ["a", "b"])
    for n in range(5):
        q.put({"n": n}, f"dev{n % 2}")
    assert [e.record["n"] for e in q.peek("a")] == [0, 1, 2, 3, 4]
    first = q.peek("a", 2)
    assert q.ack("a", [e.id for e in first]) == 2
    assert [e.record["n"] for e in q.peek("a")] == [2, 3, 4]
    assert [e.record["n"] for e in q.peek("b")] == [0, 1, 2, 3, 4]  # untouched
    assert q.depth("a") == 3 and q.depth("b") == 5
    third = q.peek("a", 1)[0]
    assert [e.record["n"] for e in q.peek("a", after_id=third.id)] == [3, 4]
    assert [e.device for e in q.peek("b")] == ["dev0", "dev1", "dev0", "dev1", "dev0"]


def test_size_bound_drops_oldest_and_counts_persistently(tmp_path):
    path = tmp_path / "q.sqlite3"
    q = FrameQueue(path, ["a"], max_frames=3)
    for n in range(8):
        q.put({"n": n}, "d")
    assert [e.record["n"] for e in q.peek("a")] == [5, 6, 7]
    assert q.dropped("a") == 5
    q.close()
    q = FrameQueue(path, ["a"], max_frames=3)
    assert q.depth("a") == 3 and q.dropped("a") == 5


def test_age_bound(tmp_path):
    now = [1000.0]
    q = FrameQueue(tmp_path / "q.sqlite3", ["a"], max_age_s=60, clock=lambda: now[0])
    q.put({"n": 0}, "d")
    now[0] += 30
    q.put({"n": 1}, "d")
    now[0] += 40  # the first is now 70 s old
    q.put({"n": 2}, "d")
    assert [e.record["n"] for e in q.peek("a")] == [1, 2]
    assert q.dropped("a") == 1


def test_meta_is_committed_with_the_frame_and_unknown_forwarders_are_purged(tmp_path):
    path = tmp_path / "q.sqlite3"
    q = FrameQueue(path, ["a", "old"])
    q.put({"n": 0}, "d", meta={"replay_offset": 42})
    q.close()
    q = FrameQueue(path, ["a"])
    assert q.meta("replay_offset") == "42"
    assert q.depth("a") == 1
    assert FrameQueue(path, ["old"]).depth("old") == 0


def test_put_is_durable_across_kill_9(tmp_path):
    path = tmp_path / "q.sqlite3"
    script = textwrap.dedent(
        f"""
        import sys
        from lorafield_gateway.queue import FrameQueue
        q = FrameQueue({str(path)!r}, ["a"])
        n = 0
        while True:
            q.put({{"n": n}}, "d")
            print(n, flush=True)  # acknowledged to the radio path only now
            n += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = [e.record["n"] for e in FrameQueue(path, ["a"]).peek("a", 100_000)]
    assert stored == list(range(len(stored)))
    assert len(stored) >= acknowledged + 1
