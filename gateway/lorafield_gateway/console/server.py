"""Serving the console: waitress (a pure-Python, production WSGI server) on one port.

The bind rule: loopback needs no sign-in to look; any other address serves only with the
token (auth.py), and a console whose token file cannot be made or read does not start.
"""

import logging
import os
import threading

from .app import ConsoleApp
from .auth import is_loopback, load_or_create_token
from .errors import ConsoleError

log = logging.getLogger("lorafield.console")

THREADS = 4  # a handful of people and their browsers' polling


def default_token_path(db_path):
    """console.token beside the database (the gateway's state directory)."""
    return os.path.join(os.path.dirname(os.path.abspath(db_path)), "console.token")


class Console:
    """A console listening on host:port; `run()` serves until `close()`."""

    def __init__(
        self, db_path, *, host="127.0.0.1", port=8080, token_file="", fleet_path="", tiles_url=""
    ):
        import waitress.server

        self.token_file = token_file or default_token_path(db_path)
        token = load_or_create_token(self.token_file)
        self.login_required = not is_loopback(host)
        self.app = ConsoleApp(
            db_path,
            token=token,
            login_required=self.login_required,
            fleet_path=fleet_path,
            tiles_url=tiles_url,
        )
        try:
            self.server = waitress.server.create_server(
                self.app,
                host=host,
                port=port,
                threads=THREADS,
                ident="lorafield-console",
                clear_untrusted_proxy_headers=True,
            )
        except OSError as exc:
            raise ConsoleError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self.host = host
        self.port = self.server.effective_port
        self._thread = None

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self):
        self.server.run()

    def start(self):
        """Serve from a daemon thread (the gateway service, tests)."""
        self._thread = threading.Thread(target=self.run, name="console", daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stop serving. From another thread the sockets are closed inside the serving loop
        (through waitress's trigger), which then ends: closing them under its select()
        would fail it with EBADF."""
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():

            def close_all():
                for channel in list(self.server._map.values()):
                    channel.close()

            try:
                self.server.trigger.pull_trigger(close_all)
            except OSError:  # EBADF: the loop closed its trigger already and is ending
                pass
            thread.join(5)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown()
