"""SQLite storage for the local network server (WAL, one transaction per server call).

`SqliteStore(path)` has the `MemoryStore` methods (the server works on the objects in
memory) and writes what changed through in `commit()`: sessions, join state (last DevNonce,
next JoinNonce), downlink queues, accepted frames, decoded readings, events, and the copies
still inside a de-duplication window. `StoredNetworkServer(registry, store)` is the
`NetworkServer` whose every outermost call (`handle_uplink`, `flush`, `handle_tx_ack`,
`enqueue...`) is one transaction, opened by `begin()` and ended by `commit()` (`batch()`
groups several calls in one; the caller acknowledges its sources after it), so a copy handed to
`handle_uplink` is durable when the call returns and a crash (kill -9) at any instant
loses nothing that was acknowledged: the gateway queue removes a frame only after that
call returned, and a frame handed in again after a restart is a retransmission (same
FCnt, same bytes), never a second reading.

Another process (`lorafield lns queue`) asks for downlinks by inserting `requested` rows
into `downlinks`; the server takes them into its queue at its next call (`intake()`).

The database belongs to one region: `meta` records it (`region`, e.g. 'US915'; a file
from before regions is EU868) and a server of another region refuses to open it, since its
sessions' channels and data rates would not be the region's.

Tables: devices, sessions, join_state, frames (raw PHYPayload hex and radio metadata),
readings (decoded data with time and device), downlinks, events, pending, meta, and
gateway_hours (frames each gateway received per hour, with the last one's time: a summary
the console reads instead of scanning frames). The indexes serve the console's reads too
(a device's newest reading of a kind, its newest frames, its events by kind): added tables
and indexes keep the schema version, an older file gets them when the server opens it. The
file holds session keys: it is created with mode 0600. `synchronous=NORMAL` in WAL mode
survives a crash of the process; `durable=True` (FULL) also a power cut, at the cost of an
fsync per call.
"""

import collections
import contextlib
import itertools
import json
import os
import pickle
import sqlite3

from lorafield_node.phy import SessionCrypto

from . import downlink as dl
from .channelplan import server_plan
from .errors import LnsError
from .server import NetworkServer
from .session import Session
from .store import MemoryStore
from .types import RxMetadata

SCHEMA_VERSION = 1
MEMORY_TAIL = 10_000  # frames/readings/events kept in memory (the database has them all)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS devices (
    dev_eui TEXT PRIMARY KEY, kind TEXT, name TEXT, join_eui TEXT, activation TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    dev_eui TEXT PRIMARY KEY, dev_addr INTEGER UNIQUE, dev_addr_hex TEXT,
    nwk_s_key TEXT, app_s_key TEXT, fcnt_up_next INTEGER, fcnt_down INTEGER,
    uplinks INTEGER, dr INTEGER, mac_state BLOB);
CREATE TABLE IF NOT EXISTS join_state (
    dev_eui TEXT PRIMARY KEY, dev_nonce INTEGER, join_nonce INTEGER);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, time_us INTEGER, dev_eui TEXT, dev_addr TEXT, fcnt INTEGER,
    fport INTEGER, confirmed INTEGER, phy_hex TEXT, gateway_id TEXT, rssi_dbm REAL,
    snr_db REAL, frequency_hz INTEGER, sf INTEGER, dr INTEGER, copies TEXT);
DROP INDEX IF EXISTS frames_dev;
CREATE INDEX IF NOT EXISTS frames_dev_time ON frames (dev_eui, time_us);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY, time_us INTEGER, dev_eui TEXT, device_kind TEXT, fcnt INTEGER,
    fport INTEGER, kind TEXT, data TEXT, raw_hex TEXT, error TEXT);
DROP INDEX IF EXISTS readings_dev;
CREATE INDEX IF NOT EXISTS readings_dev_kind ON readings (dev_eui, kind, time_us);
CREATE TABLE IF NOT EXISTS downlinks (
    id INTEGER PRIMARY KEY, ref INTEGER UNIQUE, dev_eui TEXT, fport INTEGER,
    payload_hex TEXT, confirmed INTEGER, status TEXT, position INTEGER, request TEXT,
    fcnt_down INTEGER, window TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS downlinks_status ON downlinks (status);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, time_us INTEGER, kind TEXT, dev_eui TEXT, reason TEXT,
    detail TEXT);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind);
CREATE INDEX IF NOT EXISTS events_dev ON events (dev_eui, kind);
CREATE TABLE IF NOT EXISTS gateway_hours (
    gateway_id TEXT, hour INTEGER, frames INTEGER, last_us INTEGER,
    PRIMARY KEY (gateway_id, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, phy_hex TEXT, meta TEXT);
"""

# Session attributes kept as plain columns or rebuilt; the rest is the MAC state blob.
_SESSION_COLUMNS = ("dev_eui", "dev_addr", "fcnt_up_next", "fcnt_down", "uplinks", "dr")
_NOT_PICKLED = ("crypto", "_keys")


class StoreError(LnsError):
    """The database cannot be opened or is not a lorafield network server database."""


def _json_default(value):
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, RxMetadata):
        return vars(value)
    if isinstance(value, tuple | set | collections.deque):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


# json.dumps(value, separators=..., default=...) without building an encoder per call; what
# the server stores has no reference cycles, so the check for them is skipped.
_json = json.JSONEncoder(separators=(",", ":"), default=_json_default, check_circular=False).encode


def connect(path, *, durable=False, readonly=False):
    """A connection with the pragmas every user of the database needs."""
    if path != ":memory:" and not readonly and not os.path.exists(path):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # it will hold session keys
    try:
        if readonly:
            if not os.path.exists(path):
                raise StoreError(f"{path}: no such database")
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        else:
            # One writer at a time is the caller's job (the network server is not thread-safe);
            # the gateway service calls it from its forwarder thread, the field from a process.
            db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a SQLite database ({exc})") from None
    return db


class SqliteStore(MemoryStore):
    def __init__(self, path, *, durable=False, region=None):
        """``region``: the name of the server's region, checked against the file's (or given
        to a new file) when set; StoredNetworkServer checks it itself."""
        super().__init__()
        self.path = path
        self.db = connect(path, durable=durable)
        try:
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: unusable database ({exc})") from None
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(f"{path}: schema version {row[0]}, expected {SCHEMA_VERSION}")
        self._touched_sessions = set()
        self._touched_joins = set()
        self._touched_queues = set()
        self._queue_refs = {}  # dev_eui -> tuple of refs as last written
        self._new_frames = []
        self._new_readings = []
        self._new_events = []
        self.frames = collections.deque(maxlen=MEMORY_TAIL)
        self.readings = collections.deque(maxlen=MEMORY_TAIL)
        self.events = collections.deque(maxlen=MEMORY_TAIL)
        self._session_rows = {}  # dev_eui -> what this process last wrote of its session
        self._pending_rows = None  # phy -> (its copies list, pending seqs written); None: unknown
        self._pending_seq = itertools.count()
        self._data_version = None
        self._load()
        if region is not None:
            self.claim_region(region)

    def region(self):
        """The region whose sessions the file holds: its `meta` entry, else EU868 (a file from
        before regions); None for a new file without sessions."""
        row = self.db.execute("SELECT value FROM meta WHERE key='region'").fetchone()
        if row is not None:
            return row[0]
        if self.db.execute("SELECT 1 FROM sessions LIMIT 1").fetchone() is not None:
            return "EU868"
        return None

    def claim_region(self, name):
        """Record `name` as the file's region, or raise StoreError if it holds another's."""
        held = self.region()
        if held is not None and held != name:
            raise StoreError(
                f"{self.path}: holds the sessions of a {held} network server, this server runs"
                f" {name} (give it another database, or delete this one to start over)"
            )
        self.set_meta("region", name)

    # -- loading ------------------------------------------------------------------------------
    def _load(self):
        db = self.db
        for row in db.execute(
            f"SELECT {', '.join(_SESSION_COLUMNS)}, nwk_s_key, app_s_key, mac_state FROM sessions"
        ):
            eui, addr, up_next, down, uplinks, dr, nwk, app, blob = row
            session = Session.__new__(Session)
            session.__dict__.update(pickle.loads(blob))
            session.dev_eui, session.dev_addr = eui, addr
            session.fcnt_up_next, session.fcnt_down = up_next, down
            session.uplinks, session.dr = uplinks, dr
            keys = (bytes.fromhex(nwk), bytes.fromhex(app))
            session._keys = keys
            session.crypto = SessionCrypto(keys[0], keys[1], "cryptography")
            MemoryStore.put_session(self, session)
        for eui, dev_nonce, join_nonce in db.execute("SELECT * FROM join_state"):
            self.join_state[eui] = {"dev_nonce": dev_nonce, "join_nonce": join_nonce}
        # A downlink taken from the queue but not reported sent when the process stopped
        # goes out again: a config command is idempotent, losing it is not.
        db.execute("UPDATE downlinks SET status='queued' WHERE status='in_flight'")
        rows = db.execute(
            "SELECT dev_eui, fport, payload_hex, confirmed, ref FROM downlinks "
            "WHERE status='queued' ORDER BY dev_eui, position, id"
        )
        for eui, fport, payload, confirmed, ref in rows:
            queued = dl.QueuedDownlink(fport, bytes.fromhex(payload), bool(confirmed), ref)
            self.queues.setdefault(eui, []).append(queued)
        for eui, queue in self.queues.items():
            self._queue_refs[eui] = tuple(q.ref for q in queue)

    def set_meta(self, key, value):
        """A note about the database, e.g. ('clock', 'emulated'): an emulated field's times
        are emulated time (the console takes its newest frame as now)."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    def max_ref(self):
        return self.db.execute("SELECT coalesce(max(ref), 0) FROM downlinks").fetchone()[0]

    def pending_copies(self):
        """(phy, RxMetadata) still inside a de-duplication window, in arrival order."""
        out = []
        for phy_hex, meta in self.db.execute("SELECT phy_hex, meta FROM pending ORDER BY seq"):
            out.append((bytes.fromhex(phy_hex), RxMetadata(**json.loads(meta))))
        return out

    def sync_devices(self, registry):
        rows = []
        for device in registry:
            join_eui = device.join_eui.hex() if device.join_eui else None
            rows.append(
                (
                    device.dev_eui_hex,
                    device.kind,
                    device.name,
                    join_eui,
                    "otaa" if device.otaa else "abp",
                )
            )
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO devices VALUES (?, ?, ?, ?, ?) ON CONFLICT (dev_eui) DO UPDATE SET"
                " kind=excluded.kind, name=excluded.name, join_eui=excluded.join_eui,"
                " activation=excluded.activation",
                rows,
            )

    # -- the MemoryStore methods, remembering what the server touched --------------------------
    def put_session(self, session):
        super().put_session(session)
        self._touched_sessions.add(session.dev_eui)

    def session(self, dev_eui):
        session = super().session(dev_eui)
        if session is not None:
            self._touched_sessions.add(dev_eui)
        return session

    def session_by_addr(self, dev_addr):
        session = super().session_by_addr(dev_addr)
        if session is not None:
            self._touched_sessions.add(session.dev_eui)
        return session

    def join(self, dev_eui):
        self._touched_joins.add(dev_eui)
        return super().join(dev_eui)

    def queue(self, dev_eui):
        self._touched_queues.add(dev_eui)
        return super().queue(dev_eui)

    def add_frame(self, record):
        self.frames.append(record)
        self._new_frames.append(record)

    def add_reading(self, record):
        self.readings.append(record)
        self._new_readings.append(record)

    def add_event(self, event):
        self.events.append(event)
        self._new_events.append(event)

    # -- writing ------------------------------------------------------------------------------
    def begin(self):
        """Open the transaction of a server call (holding the write lock from here keeps the
        downlink-request check inside it, where it is cheap); returns `requested()`."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            return self.requested()
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def abort(self):
        """Roll back a transaction `begin()` opened and `commit()` did not end."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
            self._data_version = None

    def commit(self, pending=None, requested=()):
        """Write everything the server changed since the last commit in one transaction (the
        one `begin()` opened, else a new one).
        `pending`: {phy: [RxMetadata]} inside a de-duplication window (None: unchanged);
        `requested`: (row id, dev_eui, ref or None, error or None) of intaken rows."""
        db = self.db
        sessions_written = ()
        try:
            if not db.in_transaction:
                db.execute("BEGIN IMMEDIATE")
            for row_id, eui, ref, error in requested:
                if ref is None:
                    db.execute(
                        "UPDATE downlinks SET status='refused', error=? WHERE id=?",
                        (error, row_id),
                    )
                else:
                    db.execute(
                        "UPDATE downlinks SET ref=?, status='queued' WHERE id=?", (ref, row_id)
                    )
                    self._queue_refs[eui] = None  # rewrite this queue's rows below
            session_rows, session_updates = self._changed_sessions()
            sessions_written = [r[0] for r in session_rows] + [u[-1] for u in session_updates]
            if session_rows:
                # REPLACE also removes a row still holding the address (a re-join may hand a
                # device a new address; a freed address may be reused).
                db.executemany(
                    "INSERT OR REPLACE INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?)", session_rows
                )
            if session_updates:
                # Same address and keys as the row this process wrote: only the counters and
                # the MAC state change (no index is touched).
                db.executemany(
                    "UPDATE sessions SET fcnt_up_next=?, fcnt_down=?, uplinks=?, dr=?,"
                    " mac_state=? WHERE dev_eui=?",
                    session_updates,
                )
            if self._touched_joins:
                self._write_joins(db)
            if self._touched_queues:
                self._write_queues(db)
            self._write_records(db)
            if pending is not None:
                self._write_pending(db, pending)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._data_version = None  # look at the requested rows again next time
            self._pending_rows = None  # rewrite the whole pending table next time
            for eui in sessions_written:  # and these sessions
                self._session_rows.pop(eui, None)
                self._touched_sessions.add(eui)
            raise
        self._new_frames.clear()
        self._new_readings.clear()
        self._new_events.clear()

    def _changed_sessions(self):
        """Rows of the touched sessions that differ from what the database holds (the server
        also touches a session it only reads, e.g. for a retransmission or a rejection):
        (whole rows, (counters..., mac_state, dev_eui) updates)."""
        rows = []
        updates = []
        written = self._session_rows
        for eui in self._touched_sessions:
            s = self.sessions.get(eui)
            if s is None:
                continue
            state = vars(s).copy()
            for name in _NOT_PICKLED:
                state.pop(name, None)
            identity = (s.dev_addr, s.keys())
            counters = (s.fcnt_up_next, s.fcnt_down, s.uplinks, s.dr, pickle.dumps(state))
            last = written.get(eui)  # (identity, counters) as last written
            if last is not None and last[0] == identity:
                if last[1] != counters:
                    updates.append((*counters, eui))
            else:
                nwk, app = identity[1]
                rows.append((eui, s.dev_addr, s.dev_addr_hex, nwk.hex(), app.hex(), *counters))
            written[eui] = (identity, counters)
        self._touched_sessions.clear()
        return rows, updates

    def _write_joins(self, db):
        rows = [
            (eui, self.join_state[eui]["dev_nonce"], self.join_state[eui]["join_nonce"])
            for eui in self._touched_joins
            if eui in self.join_state
        ]
        self._touched_joins.clear()
        db.executemany(
            "INSERT INTO join_state VALUES (?,?,?) ON CONFLICT (dev_eui) DO UPDATE SET"
            " dev_nonce=excluded.dev_nonce, join_nonce=excluded.join_nonce",
            rows,
        )

    def _write_queues(self, db):
        for eui in self._touched_queues:
            queue = self.queues.get(eui, [])
            refs = tuple(q.ref for q in queue)
            if refs == self._queue_refs.get(eui, ()):
                continue
            # Left the queue since the last commit: handed to a gateway (the event that
            # follows says whether it went out).
            db.execute(
                "UPDATE downlinks SET status='in_flight', position=NULL"
                " WHERE dev_eui=? AND status='queued'",
                (eui,),
            )
            for position, q in enumerate(queue):
                db.execute(
                    "INSERT INTO downlinks (ref, dev_eui, fport, payload_hex, confirmed, status,"
                    " position) VALUES (?,?,?,?,?,'queued',?) ON CONFLICT (ref) DO UPDATE SET"
                    " status='queued', position=excluded.position",
                    (q.ref, eui, q.fport, q.payload.hex(), int(q.confirmed), position),
                )
            self._queue_refs[eui] = refs
        self._touched_queues.clear()

    def _write_records(self, db):
        if self._new_frames:
            db.executemany(
                "INSERT INTO frames (time_us, dev_eui, dev_addr, fcnt, fport, confirmed, phy_hex,"
                " gateway_id, rssi_dbm, snr_db, frequency_hz, sf, dr, copies)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        f["time_us"],
                        f["dev_eui"],
                        f["dev_addr"],
                        f["fcnt"],
                        f["fport"],
                        int(f["confirmed"]),
                        f["phy_hex"],
                        f["gateway_id"],
                        f["rssi_dbm"],
                        f["snr_db"],
                        f["frequency_hz"],
                        _best_sf(f),
                        f["dr"],
                        _json(f["copies"]),
                    )
                    for f in self._new_frames
                ],
            )
        if self._new_readings:
            db.executemany(
                "INSERT INTO readings (time_us, dev_eui, device_kind, fcnt, fport, kind, data,"
                " raw_hex, error) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r["time_us"],
                        r["dev_eui"],
                        r["device_kind"],
                        r["fcnt"],
                        r["fport"],
                        r["kind"],
                        _json(r["data"]),
                        bytes(r["raw"]).hex(),
                        r["error"],
                    )
                    for r in self._new_readings
                ],
            )
            self._write_gateway_hours(db)
        if not self._new_events:
            return
        db.executemany(
            "INSERT INTO events (time_us, kind, dev_eui, reason, detail) VALUES (?,?,?,?,?)",
            [(e.time_us, e.kind, e.dev_eui, e.reason, _json(e.detail)) for e in self._new_events],
        )
        for e in self._new_events:
            ref = e.detail.get("ref")
            if ref is None:
                continue
            if e.kind == "downlink_sent":
                db.execute(
                    "UPDATE downlinks SET status='sent', window=?, fcnt_down=? WHERE ref=?",
                    (e.detail.get("window"), e.detail.get("fcnt_down"), ref),
                )
            elif e.kind in ("downlink_acked", "downlink_nacked"):
                status = "acked" if e.kind == "downlink_acked" else "nacked"
                db.execute("UPDATE downlinks SET status=? WHERE ref=?", (status, ref))

    def _write_gateway_hours(self, db):
        counts = {}  # (gateway, hour) -> [frames, last time]
        for f in self._new_frames:
            t = f["time_us"]
            hour = t // 3_600_000_000
            for meta in f["copies"]:
                entry = counts.get((meta.gateway_id, hour))
                if entry is None:
                    counts[(meta.gateway_id, hour)] = [1, t]
                else:
                    entry[0] += 1
                    entry[1] = max(entry[1], t)
        db.executemany(
            "INSERT INTO gateway_hours VALUES (?,?,?,?) ON CONFLICT (gateway_id, hour) DO UPDATE"
            " SET frames=frames+excluded.frames, last_us=max(last_us, excluded.last_us)",
            [(gw, hour, n, last) for (gw, hour), (n, last) in counts.items()],
        )

    def _write_pending(self, db, pending):
        """Make the pending table hold `pending` again, writing only the difference.
        Copies only ever join a frame's list (the Deduplicator appends), so a frame still
        pending under the same list adds only its new copies; a frame that left (processed)
        loses its rows; a list object not seen before (a new frame, or one that left and came
        back) is written whole. Rows are numbered in arrival order, so `pending_copies()`
        rebuilds the same frames, copies and order."""
        written = self._pending_rows
        if written is None:  # first commit, or after a failed one: rewrite it all
            self._pending_rows = written = {}
            delete = None
        else:
            delete = []
            for phy in [p for p, (metas, _) in written.items() if pending.get(p) is not metas]:
                delete.extend(written.pop(phy)[1])
        insert = []
        for phy, metas in pending.items():
            entry = written.get(phy)
            seqs = entry[1] if entry is not None else []
            if len(seqs) == len(metas):
                continue
            phy_hex = phy.hex()
            for meta in metas[len(seqs) :]:
                seq = next(self._pending_seq)
                seqs.append(seq)
                insert.append((seq, phy_hex, _json(vars(meta))))
            written[phy] = (metas, seqs)
        if delete is None:
            db.execute("DELETE FROM pending")
        elif delete:
            db.executemany("DELETE FROM pending WHERE seq=?", [(seq,) for seq in delete])
        if insert:
            db.executemany("INSERT INTO pending VALUES (?,?,?)", insert)

    def requested(self):
        """Downlinks other processes asked for: (row id, dev_eui, request dict). Looks only
        when another connection committed since the last look (PRAGMA data_version)."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return []
        self._data_version = version
        rows = self.db.execute(
            "SELECT id, dev_eui, request FROM downlinks WHERE status='requested' ORDER BY id"
        )
        return [(row_id, eui, json.loads(request)) for row_id, eui, request in rows]

    def close(self):
        self.db.close()


def _best_sf(frame):
    for meta in frame["copies"]:
        if meta.gateway_id == frame["gateway_id"]:
            return meta.sf
    return None


def config_request(text, confirmed=False):
    """The request of a config command given as JSON text (`lorafield lns queue`, the
    console): LnsError names what is wrong."""
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise LnsError(f"JSON is not valid: {exc}") from None
    if not isinstance(config, dict):
        raise LnsError("JSON must be an object, e.g. '{\"interval_s\": 600}'")
    return {"config": config, "confirmed": bool(confirmed)}


def request_downlink(path, dev_eui, request):
    """Ask the server owning the database at `path` for a downlink (from any process):
    `request` is {"config": {...}, "confirmed": bool} or {"fport": n, "payload_hex": "..",
    "confirmed": bool}. Validated here, taken into the queue at the server's next call.
    Returns the row id."""
    eui = dev_eui.lower()
    if "config" in request:
        fport, payload = dl.encode_config(request["config"])
    else:
        fport = request.get("fport")
        try:
            payload = bytes.fromhex(request.get("payload_hex", ""))
        except (TypeError, ValueError):
            raise LnsError("payload_hex must be hex") from None
    db = connect(path)
    try:
        db.executescript(SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key='region'").fetchone()
        dl.check_app_downlink(fport, payload, server_plan(row[0] if row else "EU868")[0])
        known = db.execute("SELECT 1 FROM devices WHERE dev_eui=?", (eui,)).fetchone()
        if known is None:
            raise LnsError(f"unknown DevEUI {eui} (not in the server's devices table)")
        db.execute("BEGIN IMMEDIATE")
        cursor = db.execute(
            "INSERT INTO downlinks (dev_eui, fport, payload_hex, confirmed, status, request)"
            " VALUES (?,?,?,?,'requested',?)",
            (eui, fport, payload.hex(), int(bool(request.get("confirmed"))), _json(request)),
        )
        db.execute("COMMIT")
        return cursor.lastrowid
    finally:
        db.close()


class StoredNetworkServer(NetworkServer):
    """A NetworkServer on a SqliteStore: state restored at start, one commit per call; the
    store must hold the server's region (StoreError otherwise)."""

    def __init__(self, registry, store, **options):
        if not isinstance(store, SqliteStore):
            raise LnsError("StoredNetworkServer needs a SqliteStore")
        super().__init__(registry, store=store, **options)
        store.claim_region(self.region.name)
        self._depth = 0
        self._refs = itertools.count(store.max_ref() + 1)
        store.sync_devices(registry)
        for phy, meta in store.pending_copies():
            self.dedup.add(phy, meta)

    def _call(self, method, *args, **kwargs):
        if self._depth:  # inside another call or a batch: its transaction covers this one
            return method(*args, **kwargs)
        with self.batch():
            return method(*args, **kwargs)

    @contextlib.contextmanager
    def batch(self):
        """Calls made inside share one transaction, committed when the block ends (also when
        it ends in an error: what the calls changed in memory stays, so it is stored). Nothing
        handed in inside is durable before the block ends: a caller acknowledges its sources
        (the gateway queue) after it. A lone call is a batch of one."""
        if self._depth:
            yield
            return
        store = self.store
        self._depth = 1
        try:
            requested = self.intake(store.begin())
            try:
                yield
            finally:
                store.commit(self.dedup._pending, requested)
        except BaseException:
            store.abort()
            raise
        finally:
            self._depth = 0

    def intake(self, rows=None):
        """Take downlinks requested by other processes (`rows`: what `store.requested()`
        returned) into the queue."""
        outcome = []
        for row_id, eui, request in self.store.requested() if rows is None else rows:
            try:
                if "config" in request:
                    ref = NetworkServer.enqueue_config(
                        self, eui, request["config"], bool(request.get("confirmed"))
                    )
                else:
                    ref = NetworkServer.enqueue(
                        self,
                        eui,
                        request["fport"],
                        bytes.fromhex(request["payload_hex"]),
                        bool(request.get("confirmed")),
                    )
                outcome.append((row_id, eui, ref, None))
            except (LnsError, KeyError, ValueError, TypeError) as exc:
                outcome.append((row_id, eui, None, str(exc)))
        return outcome

    def handle_uplink(self, phy, meta):
        return self._call(super().handle_uplink, phy, meta)

    def flush(self, now_us=None):
        return self._call(super().flush, now_us)

    def handle_tx_ack(self, ack, time_us):
        return self._call(super().handle_tx_ack, ack, time_us)

    def enqueue(self, dev_eui, fport, payload, confirmed=False):
        return self._call(super().enqueue, dev_eui, fport, payload, confirmed)

    def enqueue_config(self, dev_eui, data, confirmed=False):
        return self._call(super().enqueue_config, dev_eui, data, confirmed)

    def request_mac(self, dev_eui, cid, fields=()):
        return self._call(super().request_mac, dev_eui, cid, fields)

    def poll(self):
        """Take requested downlinks now (a server with no traffic calls this now and then)."""
        return self._call(lambda: None)
