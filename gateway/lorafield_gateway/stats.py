"""Gateway counters: thread-safe, named with dots (``forwarded.chirpstack``,
``downlink.TOO_LATE``). Only counts and settings are ever logged -- never keys or payloads."""

import threading


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}

    def add(self, name, amount=1):
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def get(self, name):
        with self._lock:
            return self._counts.get(name, 0)

    def snapshot(self):
        with self._lock:
            return dict(self._counts)

    def delta(self, previous):
        """Counts since `previous` (a snapshot) and the new snapshot."""
        now = self.snapshot()
        return {k: v - previous.get(k, 0) for k, v in now.items()}, now

    def line(self, extra=None):
        counts = self.snapshot()
        counts.update(extra or {})
        return " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
