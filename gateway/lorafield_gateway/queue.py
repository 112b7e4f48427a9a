"""Durable store-and-forward queue (SQLite in WAL mode) between the radio and the forwarders.

A received frame is written once per enabled forwarder in ONE transaction, committed with
``synchronous=FULL`` (the WAL is fsync'ed at every commit): when `put()` returns the frame
survives a crash or a power cut, and only then does the radio path count it as accepted.
Each forwarder removes its copy with `ack()` after its server acknowledged it (PUSH_ACK,
MQTT PUBACK), so an outage of one backend never holds up another.

Bounds: at most ``max_frames`` per forwarder and nothing older than ``max_age_s``; beyond
that the oldest are dropped and counted (``dropped``, persisted). `peek()` returns a
forwarder's frames oldest first, which drains them in order per device.
"""

import json
import sqlite3
import threading
import time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forwarder TEXT NOT NULL,
    device TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_forwarder ON queue (forwarder, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class QueueEntry:
    __slots__ = ("id", "device", "created", "record")

    def __init__(self, id, device, created, record):
        self.id = id
        self.device = device
        self.created = created
        self.record = record

    def __repr__(self):
        return f"QueueEntry(#{self.id} {self.device})"


def open_queue(path, forwarders, **bounds):
    """The service's queue: `FrameQueue` on the file at `path`; for ``:memory:`` (nothing
    survives the process either way) the same behaviour without SQLite, `MemoryFrameQueue`."""
    if str(path) == ":memory:":
        from .memory_queue import MemoryFrameQueue

        return MemoryFrameQueue(forwarders, **bounds)
    return FrameQueue(path, forwarders, **bounds)


class FrameQueue:
    def __init__(self, path, forwarders, *, max_frames=100_000, max_age_s=7 * 86400, clock=None):
        self.path = str(path)
        self.forwarders = tuple(forwarders)
        self.max_frames = max_frames
        self.max_age_s = max_age_s
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._depth = {}
        for name in self.forwarders:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM queue WHERE forwarder = ?", (name,)
            ).fetchone()
            self._depth[name] = count
        # Frames for forwarders no longer configured are of no use to anyone.
        placeholders = ",".join("?" * len(self.forwarders))
        self._db.execute(
            f"DELETE FROM queue WHERE forwarder NOT IN ({placeholders})", self.forwarders
        )
        self._next_age_check = 0.0

    def close(self):
        with self._lock:
            self._db.close()

    # -- writing ---------------------------------------------------------------------------
    def put(self, record, device, meta=None):
        """Store `record` (a JSON-able dict) for every forwarder; durable when this returns.
        `meta` ({key: str}) is committed in the same transaction (e.g. a replay offset)."""
        text = json.dumps(record, separators=(",", ":"))
        now = self._clock()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for name in self.forwarders:
                    db.execute(
                        "INSERT INTO queue (forwarder, device, created, record) VALUES (?,?,?,?)",
                        (name, device, now, text),
                    )
                    self._depth[name] += 1
                    excess = self._depth[name] - self.max_frames
                    if excess > 0:
                        self._drop(
                            name,
                            "id IN (SELECT id FROM queue WHERE forwarder = ? ORDER BY id LIMIT ?)",
                            (name, excess),
                        )
                if now >= self._next_age_check:
                    self._next_age_check = now + 1.0
                    for name in self.forwarders:
                        self._drop(
                            name, "forwarder = ? AND created < ?", (name, now - self.max_age_s)
                        )
                for key, value in (meta or {}).items():
                    db.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value))
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._recount()
                raise

    def put_meta(self, meta):
        """Commit `meta` alone (a source offset moved past a frame that was not stored)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for key, value in meta.items():
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value))
                )
            self._db.execute("COMMIT")

    def _drop(self, name, where, args):
        cursor = self._db.execute(f"DELETE FROM queue WHERE {where}", args)
        dropped = cursor.rowcount
        if dropped > 0:
            self._depth[name] -= dropped
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (f"dropped.{name}", dropped),
            )

    def _recount(self):
        for name in self.forwarders:
            (self._depth[name],) = self._db.execute(
                "SELECT COUNT(*) FROM queue WHERE forwarder = ?", (name,)
            ).fetchone()

    # -- draining --------------------------------------------------------------------------
    def peek(self, forwarder, limit=100, after_id=0):
        """Up to `limit` entries of `forwarder`, oldest first, with ids above `after_id`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, device, created, record FROM queue WHERE forwarder = ? AND id > ? "
                "ORDER BY id LIMIT ?",
                (forwarder, after_id, limit),
            ).fetchall()
        return [QueueEntry(i, d, c, json.loads(r)) for i, d, c, r in rows]

    def ack(self, forwarder, ids):
        """Remove entries the forwarder's server acknowledged (unknown ids are ignored)."""
        ids = list(ids)
        if not ids:
            return 0
        with self._lock:
            removed = 0
            self._db.execute("BEGIN IMMEDIATE")
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                cursor = self._db.execute(
                    f"DELETE FROM queue WHERE forwarder = ? AND id IN ({marks})",
                    (forwarder, *chunk),
                )
                removed += cursor.rowcount
            self._db.execute("COMMIT")
            self._depth[forwarder] -= removed
        return removed

    # -- state -----------------------------------------------------------------------------
    def depth(self, forwarder):
        with self._lock:
            return self._depth[forwarder]

    def dropped(self, forwarder):
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM counters WHERE name = ?", (f"dropped.{forwarder}",)
            ).fetchone()
        return row[0] if row else 0

    def meta(self, key, default=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default
