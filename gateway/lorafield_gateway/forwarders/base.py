"""What every forwarder shares: a thread that wakes on new frames, acknowledgements or a
timeout, and the service hooks it uses (`queue`, `stats`, `schedule`)."""

import logging
import threading


class Forwarder:
    name = "forwarder"
    problem = None  # one line while the forwarder cannot reach its server

    def __init__(self, service):
        self.service = service
        self.queue = service.queue
        self.stats = service.stats
        self.log = logging.getLogger(f"lorafield.gateway.{self.name}")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wake(self):
        """New frames are in the queue."""
        self._wake.set()

    def wait(self, timeout):
        self._wake.wait(timeout)
        self._wake.clear()

    @property
    def stopping(self):
        return self._stopping.is_set()

    def threads(self):
        """The threads this forwarder started that must keep running."""
        return [self._thread] if self._thread is not None else []

    def dead_threads(self):
        """Names of its threads that ended although nobody asked it to stop."""
        if self.stopping:
            return []
        return [t.name for t in self.threads() if not t.is_alive()]

    def _main(self):
        try:
            self.run()
        except Exception:
            self.log.exception("forwarder stopped on an error")
            self.stats.add(f"error.{self.name}")

    def run(self):
        raise NotImplementedError

    def send_stats(self, counts, wall_us):
        """Periodic gateway statistics (only some backends have a message for them)."""
