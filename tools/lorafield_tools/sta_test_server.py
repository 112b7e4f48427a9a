"""A SensorThings API 1.1 server we did not write, for the tests and `lorafield bench
sensorthings`: HydroServer's django-ogc-sensorthings (PyPI, a dev dependency) with its Django
ORM backend on SQLite and the Data Array extension, served by waitress (4 threads).

`StaServer(db, log)` runs it as its own process (so `stop()` is a real outage and `start()`
brings it back on the same database): `url` is the service root. As a program:
`python -m lorafield_tools.sta_test_server DB PORT` (migrates DB, then serves on 127.0.0.1).
`missing()` names what is not installed (None when the server can run).
"""

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from uuid import UUID

# The distributions the server needs, by the module each provides.
NEEDS = {"sensorthings": "django-ogc-sensorthings", "django": "Django", "waitress": "waitress"}
INSTALL_HINT = "a dev dependency: pip install -e '.[dev]'"


def missing():
    """'django-ogc-sensorthings, ...' when the server cannot run here, else None."""
    absent = [dist for module, dist in NEEDS.items() if importlib.util.find_spec(module) is None]
    return ", ".join(absent) or None


def version():
    import importlib.metadata

    return importlib.metadata.version("django-ogc-sensorthings")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaServer:
    """The server in its own process on SQLite file `db`; its stderr goes to `log`."""

    def __init__(self, db, log=None, port=None, timeout=60):
        self.db = str(db)
        self.log = str(log) if log else self.db + ".log"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/sta/v1.1"
        self.timeout = timeout
        self.process = None

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, self.db, str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"SensorThings server failed: {self._tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SensorThings server did not start in {self.timeout} s")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _tail(self):
        try:
            return Path(self.log).read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def serve(db, port, threads=4):
    """Migrate the SQLite database `db` and serve the API on 127.0.0.1:`port` (blocks)."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="lorafield-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "sensorthings.versions.v1_1",
            "sensorthings.versions.v1_1.backends.django",
            "sensorthings.versions.v1_1.extensions.dataarray",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        SENSORTHINGS_V1_1_SERVICE_URL=f"http://127.0.0.1:{port}/sta",
        SENSORTHINGS_V1_1_BACKEND_ADAPTER=(
            "sensorthings.versions.v1_1.backends.django.adapter.DjangoBackendAdapter"
        ),
        SENSORTHINGS_V1_1_ID_TYPE=UUID,
        SENSORTHINGS_V1_1_ID_DELIMITER="'",
        MIDDLEWARE=[],
        USE_TZ=True,
    )
    django.setup()
    globals()["urlpatterns"] = _urls()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0)
    import waitress

    print("ready", flush=True)
    waitress.serve(get_wsgi_application(), host="127.0.0.1", port=port, threads=threads)


def _urls():
    from django.urls import include, path

    return [path("sta/", include("sensorthings.versions.v1_1.urls"))]


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
