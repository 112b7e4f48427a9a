"""The in-memory queue (queue path ``:memory:``) behaves as the SQLite one: the same calls on
both give the same entries, depths, drops and meta."""

import pytest
from lorafield_gateway.memory_queue import MemoryFrameQueue
from lorafield_gateway.queue import FrameQueue, open_queue


@pytest.fixture(params=["sqlite", "memory"])
def make_queue(request, tmp_path):
    def make(forwarders, **options):
        if request.param == "memory":
            return MemoryFrameQueue(forwarders, **options)
        return FrameQueue(tmp_path / "q.sqlite3", forwarders, **options)

    return make


def view(entries):
    return [(e.record, e.device) for e in entries]


def test_open_queue_picks_memory_only_for_the_memory_path(tmp_path):
    assert isinstance(open_queue(":memory:", ["a"]), MemoryFrameQueue)
    assert isinstance(open_queue(tmp_path / "q.sqlite3", ["a"]), FrameQueue)


def test_copies_order_ack_and_after_id(make_queue):
    q = make_queue(["a", "b"])
    for n in range(6):
        q.put({"n": n, "phy": "00ff", "snr": 1.5}, f"dev{n % 2}")
    assert view(q.peek("a", 2)) == [({"n": 0, "phy": "00ff", "snr": 1.5}, "dev0"),
                                    ({"n": 1, "phy": "00ff", "snr": 1.5}, "dev1")]  # fmt: skip
    entries = q.peek("a")
    assert len({e.id for e in entries}) == 6
    # Acknowledge a middle one and an unknown id: only the known one goes.
    assert q.ack("a", [entries[2].id, 10**9]) == 1
    assert [e.record["n"] for e in q.peek("a")] == [0, 1, 3, 4, 5]
    assert q.ack("a", [entries[0].id, entries[1].id]) == 2
    assert [e.record["n"] for e in q.peek("a", after_id=entries[3].id)] == [4, 5]
    assert q.ack("a", []) == 0
    assert q.depth("a") == 3 and q.depth("b") == 6
    assert q.peek("a", 0) == []


def test_size_and_age_bounds_count_their_drops(make_queue):
    now = [1000.0]
    q = make_queue(["a"], max_frames=3, max_age_s=60, clock=lambda: now[0])
    for n in range(5):
        q.put({"n": n}, "d")
    assert [e.record["n"] for e in q.peek("a")] == [2, 3, 4]
    assert q.dropped("a") == 2
    now[0] += 70  # all three are now too old; the age check runs at most once a second
    q.put({"n": 5}, "d")
    assert [e.record["n"] for e in q.peek("a")] == [5]
    assert q.dropped("a") == 5


def test_meta_with_a_frame_and_alone(make_queue):
    q = make_queue(["a"])
    assert q.meta("offset", "none") == "none"
    q.put({"n": 0}, "d", meta={"offset": 42})
    assert q.meta("offset") == "42"
    q.put_meta({"offset": 43})
    assert q.meta("offset") == "43" and q.depth("a") == 1
