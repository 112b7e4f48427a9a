"""The durable queue of Observations on their way to a SensorThings server (SQLite, WAL).

`Outbox(path)`: `add(observations)` stores them (a key already queued is ignored), `deliver`
sends them oldest first. At least once, in order per Datastream, never twice:

- a row leaves the queue only after the server confirmed it (201, or its URL in a
  CreateObservations answer); a server that is down or answers 5xx stops the pass with every
  row kept (nothing is lost: the next pass starts at the same row);
- a row that was sent without an answer (a timeout, a dropped connection) is marked
  uncertain; before it goes again the server is asked for the Observations of its Datastream
  in its time span, and a row whose `lorafield_key` is there is done (never a duplicate);
- a row the server refuses (4xx) is moved to `rejected` with the server's reason, counted;
- a row whose Datastream the server lacks (a device not synced yet) waits, counted, and goes
  once `lorafield sensorthings sync` has made it.

With the Data Array extension (`data_array=True`) a pass sends all its rows in one
CreateObservations request (one group per Datastream; the answer lists the rows in order);
without it, one POST per Observation. Each pass marks its rows sent, and takes off the
confirmed ones, in one transaction each.
"""

import contextlib
import fcntl
import json
import logging
import sqlite3

from .client import StaRejected, StaUnavailable, path
from .mapping import iso

log = logging.getLogger("lorafield.sensorthings")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, key TEXT UNIQUE, dev_eui TEXT, quantity TEXT, body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, uncertain INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY, key TEXT, dev_eui TEXT, quantity TEXT, body TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS counters (reason TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, position INTEGER NOT NULL);
-- What already left the outbox (delivered, found on the server, or refused), so that the
-- same Observation queued again (a message the broker sends again, a push of the same
-- backlog) is not sent twice; forgotten after `forget_sent`'s age.
CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS sent_remember AFTER DELETE ON outbox BEGIN
    INSERT OR REPLACE INTO sent VALUES (OLD.key, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER IF NOT EXISTS sent_skip BEFORE INSERT ON outbox
    WHEN EXISTS (SELECT 1 FROM sent WHERE key = NEW.key) BEGIN
    SELECT RAISE(IGNORE);
END;
"""

COMPONENTS = ("phenomenonTime", "resultTime", "result", "parameters")


class OutboxBusy(Exception):
    """Another process delivers from this outbox."""


def deliverer_lock(path):
    """Hold the outbox's deliverer lock (a file beside it) for as long as the returned file
    stays open: two deliverers on one outbox could send a row twice (the bridge, the
    gateway's forwarder and `push` each take it)."""
    lock = path + ".lock"
    try:
        handle = open(lock, "a")  # noqa: SIM115 - held by the caller
    except OSError as exc:
        raise OutboxBusy(f"outbox {path}: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OutboxBusy(
            f"outbox {path} is in use by another lorafield process (one deliverer per outbox)"
        ) from None
    return handle


class Outbox:
    def __init__(self, path):
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    # -- bookkeeping ------------------------------------------------------------------------
    def count(self, reason, n=1):
        self.db.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT (reason) DO UPDATE SET n = n + ?",
            (reason, n, n),
        )

    def counters(self):
        return dict(self.db.execute("SELECT reason, n FROM counters ORDER BY reason"))

    def cursor(self, source):
        row = self.db.execute("SELECT position FROM cursors WHERE source=?", (source,)).fetchone()
        return None if row is None else row[0]

    def forget_sent(self, older_than_s):
        """Forget the keys that left the outbox more than `older_than_s` ago."""
        self.db.execute(
            "DELETE FROM sent WHERE at < CAST(strftime('%s', 'now') AS INTEGER) - ?",
            (int(older_than_s),),
        )

    def waiting(self):
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def add(self, items, source=None, position=None, maybe_sent=False):
        """Queue [(dev_eui, quantity, body)]; with `source`, remember `position` (e.g. the
        last readings id taken) in the same transaction. `maybe_sent`: the server may have
        them already (a backlog pushed again): each is looked up before it is sent. Returns
        how many were new."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO outbox (key, dev_eui, quantity, body, uncertain)"
                " VALUES (?,?,?,?,?)",
                [
                    (
                        body["parameters"]["lorafield_key"],
                        eui,
                        quantity,
                        json.dumps(body),
                        int(maybe_sent),
                    )
                    for eui, quantity, body in items
                ],
            )
            added = db.total_changes - before
            if source is not None:
                db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (source, int(position)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return added

    # -- delivery ---------------------------------------------------------------------------
    def deliver(self, client, datastreams, *, data_array=True, batch=500, max_rows=None):
        """Send queued rows until the queue is empty (or `max_rows` went out); `datastreams`:
        {(dev_eui, quantity): id}. Returns {"delivered", "already", "rejected", "no_datastream"}
        of this call; raises StaUnavailable (after keeping every row) when the server is down."""
        stats = {"delivered": 0, "already": 0, "rejected": 0, "no_datastream": 0}
        skip = set()  # rows without a Datastream: left for a later sync
        try:
            while max_rows is None or stats["delivered"] < max_rows:
                rows = self._next(batch, skip)
                if not rows:
                    break
                groups = {}
                for row in rows:
                    seq, _key, eui, quantity, _body, _uncertain = row
                    ds = datastreams.get((eui, quantity))
                    if ds is None:
                        skip.add(seq)
                        stats["no_datastream"] += 1
                        continue
                    groups.setdefault(ds, []).append(row)
                groups = {
                    ds: self._drop_already_there(client, ds, g, stats) for ds, g in groups.items()
                }
                groups = {ds: g for ds, g in groups.items() if g}
                if data_array and groups:
                    self._send_pass(client, groups, stats)
                    continue
                for ds, group in groups.items():
                    self._send(client, ds, group, data_array, stats)
        finally:  # rows waiting for a Datastream are a state (`stats`), not an event
            for reason in ("delivered", "already", "rejected"):
                if stats[reason]:
                    self.count(reason, stats[reason])
        return stats

    def _next(self, batch, skip):
        rows = self.db.execute(
            "SELECT seq, key, dev_eui, quantity, body, uncertain FROM outbox ORDER BY seq LIMIT ?",
            (batch + len(skip),),
        ).fetchall()
        return [r for r in rows if r[0] not in skip][:batch]

    @contextlib.contextmanager
    def _transaction(self):
        """One transaction (the connection autocommits: an executemany alone commits each row)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _done(self, seqs):
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox WHERE seq=?", [(s,) for s in seqs])

    def _drop_already_there(self, client, ds, group, stats):
        """Rows sent before without an answer: the ones the server has are done."""
        uncertain = [r for r in group if r[5]]
        if not uncertain:
            return group
        times = [_key_time(r[1]) for r in uncertain]  # DevEUI/quantity/phenomenonTime µs
        times = [t for t in times if t is not None]
        if not times:
            return group
        # A second either side: servers keep phenomenonTime to the ms or the whole second.
        first, last = iso(min(times) - 1_000_000), iso(max(times) + 1_000_000)
        there = set()
        query = {
            "$filter": f"phenomenonTime ge {first} and phenomenonTime le {last}",
            "$select": "parameters",
        }
        for obs in client.list(path("Datastreams", ds) + "/Observations", query):
            key = (obs.get("parameters") or {}).get("lorafield_key")
            if key:
                there.add(key)
        done = [r[0] for r in group if r[5] and r[1] in there]
        self._done(done)
        stats["already"] += len(done)
        return [r for r in group if r[0] not in set(done)]

    def _mark_uncertain(self, group):
        with self._transaction() as db:
            db.executemany(
                "UPDATE outbox SET uncertain=1, attempts=attempts+1 WHERE seq=?",
                [(r[0],) for r in group],
            )

    def _send_pass(self, client, groups, stats):
        """A pass's rows, {datastream: rows}, in one CreateObservations request."""
        rows = [r for group in groups.values() for r in group]
        self._mark_uncertain(rows)  # from here an answer may be lost
        body = [
            (
                ds,
                COMPONENTS,
                [[b[c] for c in COMPONENTS] for b in map(json.loads, (r[4] for r in group))],
            )
            for ds, group in groups.items()
        ]
        try:
            answer = client.create_observations(body)
        except StaRejected as exc:  # one bad row refuses the request: Datastream by Datastream
            log.warning("CreateObservations refused (%s): sending by Datastream", exc)
            for ds, group in groups.items():
                self._send(client, ds, group, True, stats)
            return
        self._settle(rows, answer, stats)

    def _settle(self, rows, answer, stats):
        """Rows confirmed by a CreateObservations answer (a URL each, in order) are done."""
        ok = [r[0] for r, a in zip(rows, answer, strict=False) if str(a).startswith("http")]
        bad = [r for r, a in zip(rows, answer, strict=False) if not str(a).startswith("http")]
        self._done(ok)
        stats["delivered"] += len(ok)
        for row in bad:
            self._reject(row, "the server answered 'error' for this row", stats)

    def _send(self, client, ds, group, data_array, stats):
        self._mark_uncertain(group)  # from here an answer may be lost
        if data_array and len(group) > 1:
            bodies = [json.loads(r[4]) for r in group]
            rows = [[b[c] for c in COMPONENTS] for b in bodies]
            try:
                answer = client.create_observations([(ds, COMPONENTS, rows)])
            except StaRejected as exc:  # one bad row refuses the request: find it alone
                log.warning("CreateObservations refused (%s): sending one by one", exc)
                self._send(client, ds, group, False, stats)
                return
            self._settle(group, answer, stats)
            return
        for row in group:
            body = json.loads(row[4])
            body["Datastream"] = {"@iot.id": ds}
            try:
                client.create("Observations", body)
            except StaRejected as exc:
                self._reject(row, str(exc), stats)
                continue
            self._done([row[0]])
            stats["delivered"] += 1

    def _reject(self, row, reason, stats):
        seq, key, eui, quantity, body, _ = row
        log.warning("observation %s refused: %s", key, reason)
        with self._transaction() as db:  # moved in one step: never recorded twice
            db.execute(
                "INSERT INTO rejected (key, dev_eui, quantity, body, reason) VALUES (?,?,?,?,?)",
                (key, eui, quantity, body, reason),
            )
            db.execute("DELETE FROM outbox WHERE seq=?", (seq,))
        stats["rejected"] += 1

    def close(self):
        self.db.close()


def _key_time(key):
    try:
        return int(key.rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None


__all__ = ["Outbox", "OutboxBusy", "StaUnavailable", "deliverer_lock"]
