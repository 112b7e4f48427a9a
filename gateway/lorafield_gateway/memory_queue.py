"""The frame queue in process memory, for a queue path of ``:memory:`` (the emulated field).

Same interface and behaviour as `queue.FrameQueue` -- one copy per forwarder, ids in arrival
order, `peek` oldest first, `ack` by id, the ``max_frames`` and ``max_age_s`` bounds with
counted drops, `meta` -- minus what ``:memory:`` cannot give anyway: nothing survives the
process. It skips SQLite's statements and JSON for every frame (an in-memory SQLite queue cost
~0.2 ms per frame, as much as the network server's own work).

Records are stored as handed in (the service's records are flat dicts of str, int and float,
which the SQLite queue's JSON round trip returns equal) and must not be changed by readers.
"""

import collections
import itertools
import threading
import time

from .queue import QueueEntry


class MemoryFrameQueue:
    path = ":memory:"

    def __init__(self, forwarders, *, max_frames=100_000, max_age_s=7 * 86400, clock=None):
        self.forwarders = tuple(forwarders)
        self.max_frames = max_frames
        self.max_age_s = max_age_s
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._entries = {name: collections.deque() for name in self.forwarders}
        self._dropped = dict.fromkeys(self.forwarders, 0)
        self._meta = {}
        self._ids = itertools.count(1)
        self._next_age_check = 0.0

    def close(self):
        pass

    # -- writing ---------------------------------------------------------------------------
    def put(self, record, device, meta=None):
        """Store `record` for every forwarder (and `meta` with it)."""
        now = self._clock()
        with self._lock:
            for name, entries in self._entries.items():
                entries.append(QueueEntry(next(self._ids), device, now, record))
                excess = len(entries) - self.max_frames
                if excess > 0:
                    for _ in range(excess):
                        entries.popleft()
                    self._dropped[name] += excess
            if now >= self._next_age_check:
                self._next_age_check = now + 1.0
                self._drop_old(now - self.max_age_s)
            if meta:
                self._put_meta(meta)

    def put_meta(self, meta):
        with self._lock:
            self._put_meta(meta)

    def _put_meta(self, meta):
        for key, value in meta.items():
            self._meta[key] = str(value)

    def _drop_old(self, cutoff):
        for name, entries in self._entries.items():
            kept = [e for e in entries if e.created >= cutoff]
            if len(kept) != len(entries):
                self._dropped[name] += len(entries) - len(kept)
                self._entries[name] = collections.deque(kept)

    # -- draining --------------------------------------------------------------------------
    def peek(self, forwarder, limit=100, after_id=0):
        """Up to `limit` entries of `forwarder`, oldest first, with ids above `after_id`."""
        with self._lock:
            out = []
            if limit == 0:
                return out
            for entry in self._entries[forwarder]:
                if entry.id > after_id:
                    out.append(entry)
                    if len(out) == limit:  # a negative limit means no limit, as SQLite's LIMIT
                        break
            return out

    def ack(self, forwarder, ids):
        """Remove entries the forwarder's server acknowledged (unknown ids are ignored)."""
        ids = set(ids)
        if not ids:
            return 0
        with self._lock:
            entries = self._entries[forwarder]
            removed = 0
            while entries and entries[0].id in ids:  # the usual case: the oldest ones
                entries.popleft()
                removed += 1
            if removed < len(ids) and entries:
                kept = [e for e in entries if e.id not in ids]
                removed += len(entries) - len(kept)
                self._entries[forwarder] = collections.deque(kept)
            return removed

    # -- state -----------------------------------------------------------------------------
    def depth(self, forwarder):
        with self._lock:
            return len(self._entries[forwarder])

    def dropped(self, forwarder):
        with self._lock:
            return self._dropped[forwarder]

    def meta(self, key, default=None):
        with self._lock:
            return self._meta.get(key, default)
