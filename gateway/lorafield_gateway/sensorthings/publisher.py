"""The gateway's `[sensorthings]` forwarder: the local network server's readings to a
SensorThings server, from the gateway service (source 1 of 3; `lorafield sensorthings push`
is the same path for a backlog).

A thread, every `interval_s`: the readings stored since its cursor (the outbox remembers it
in the same transaction as the rows it queued) go into the outbox, then the outbox is
delivered. A server that is down is tried again after 1 s, doubling to 5 minutes (with
jitter); nothing is lost meanwhile, the outbox is on disk. The Datastream ids are read again
every 5 minutes and whenever rows wait for one (a device synced later). On its first start
the cursor is the newest reading: the history goes with `lorafield sensorthings push
--since`.
"""

import logging
import os
import random
import threading
import time

from .client import StaClient, StaError, StaUnavailable, load_auth
from .lns_source import new_observations
from .outbox import Outbox, deliverer_lock
from .sync import datastream_ids

log = logging.getLogger("lorafield.sensorthings")

REFRESH_S = 300
BACKOFF_MAX_S = 300


class Publisher:
    def __init__(self, db_path, outbox_path, url, auth_file="", interval_s=10, data_array=True):
        authorization = load_auth(auth_file) if auth_file else None
        self.client = StaClient(url, authorization)
        self.db_path = db_path
        self.outbox = None
        self.outbox_path = outbox_path
        self.interval_s = interval_s
        self.data_array = data_array
        self.source = "lns:" + os.path.abspath(db_path)
        self._datastreams = None
        self._refreshed = 0.0
        self._backoff = 0.0
        self.backoff_max_s = BACKOFF_MAX_S
        self._stop = threading.Event()
        self._thread = None
        self._lock = None
        self.last_error = None

    def start(self):
        """Raises OutboxBusy when a `push` delivers from the same outbox now."""
        self._lock = deliverer_lock(self.outbox_path)
        self._thread = threading.Thread(target=self._run, name="sensorthings", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        from ..lns.sqlite_store import connect

        self.outbox = Outbox(self.outbox_path)
        db = None
        try:
            while not self._stop.is_set():
                try:
                    if db is None:
                        db = connect(self.db_path, readonly=True)
                    self.take(db)
                    self.deliver()
                    self._backoff = 0.0
                    wait = self.interval_s
                except StaUnavailable as exc:
                    self._backoff = min(self.backoff_max_s, max(1.0, self._backoff * 2))
                    wait = self._backoff * random.uniform(0.8, 1.2)
                    self._note(f"server unavailable, again in {wait:.0f} s: {exc}")
                except (StaError, OSError) as exc:
                    wait = max(self.interval_s, 60)
                    self._note(f"{exc}")
                except Exception as exc:  # the database not there yet, locked, ...
                    wait = max(self.interval_s, 10)
                    self._note(f"{type(exc).__name__}: {exc}")
                    db = None
                self._stop.wait(wait)
        finally:
            if db is not None:
                db.close()
            self.outbox.close()
            self._lock.close()

    def _note(self, message):
        if message != self.last_error:
            log.warning("sensorthings: %s", message)
        self.last_error = message

    def take(self, db):
        """Queue the readings stored since the cursor; returns how many observations."""
        after = self.outbox.cursor(self.source)
        if after is None:  # first start: from now on
            after = db.execute("SELECT coalesce(max(id), 0) FROM readings").fetchone()[0]
            self.outbox.add([], self.source, after)
        queued = 0
        while True:
            items, last = new_observations(db, after)
            if last == after:
                return queued
            queued += self.outbox.add(items, self.source, last)
            after = last

    def deliver(self):
        now = time.monotonic()
        if self._datastreams is None or now - self._refreshed > REFRESH_S:
            self._datastreams = datastream_ids(self.client)
            self._refreshed = now
        stats = self.outbox.deliver(self.client, self._datastreams, data_array=self.data_array)
        if stats["no_datastream"]:
            self._datastreams = None  # look again next time: a sync may have made them
        if self.last_error is not None:
            log.info("sensorthings: delivering again (%d observations)", stats["delivered"])
            self.last_error = None
        return stats
