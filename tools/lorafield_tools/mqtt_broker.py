"""A real MQTT broker on a free loopback port, for the tests and `lorafield bench gateway`.

The broker is never ours: mosquitto when its binary is installed (what a gateway meets in
the field), otherwise amqtt, a maintained pure-Python MQTT 3.1.1 broker that
`make setup` installs into .venv (the `broker` extra). Either runs as its own process, so
`stop()` is a real outage for the clients. LORAFIELD_MQTT_BROKER=mosquitto|amqtt forces one.
"""

import importlib.metadata
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ENV = "LORAFIELD_MQTT_BROKER"
KINDS = ("mosquitto", "amqtt")
INSTALL_HINT = "apt-get install mosquitto, or pip install 'lorafield[broker]' (amqtt)"


class BrokerError(Exception):
    """No broker can be had, or one did not start; the message is one line."""


def mosquitto_binary():
    """The mosquitto binary, also where Debian puts it outside a user's PATH."""
    found = shutil.which("mosquitto")
    if found is None and os.access("/usr/sbin/mosquitto", os.X_OK):
        found = "/usr/sbin/mosquitto"
    return found


def amqtt_version():
    """amqtt's version if the package is importable here, else None."""
    if importlib.util.find_spec("amqtt") is None:
        return None
    return importlib.metadata.version("amqtt")


def available():
    """The kinds that can start here, preferred first."""
    kinds = []
    if mosquitto_binary():
        kinds.append("mosquitto")
    if amqtt_version():
        kinds.append("amqtt")
    return kinds


def choose(kind=None):
    """`kind`, else $LORAFIELD_MQTT_BROKER, else the first available; BrokerError if none."""
    wanted = kind or os.environ.get(ENV) or None
    if wanted is not None and wanted not in KINDS:
        raise BrokerError(f"unknown MQTT broker {wanted!r} (choose {' or '.join(KINDS)})")
    kinds = available()
    if wanted is None:
        if not kinds:
            raise BrokerError(f"no MQTT broker: {INSTALL_HINT}")
        return kinds[0]
    if wanted not in kinds:
        hint = "apt-get install mosquitto" if wanted == "mosquitto" else INSTALL_HINT
        raise BrokerError(f"MQTT broker {wanted} is not installed: {hint}")
    return wanted


def describe(kind):
    """One line naming the broker and its version, e.g. for a test session's header."""
    if kind == "mosquitto":
        binary = mosquitto_binary()
        try:
            # `mosquitto -h` prints "mosquitto version X.Y.Z" and exits with status 3.
            text = subprocess.run(
                [binary, "-h"], capture_output=True, text=True, timeout=5
            ).stdout.splitlines()[0]
            version = text.split("version", 1)[1].strip()
        except (OSError, IndexError, subprocess.SubprocessError):
            version = "?"
        return f"mosquitto {version} ({binary})"
    return f"amqtt {amqtt_version()} (Python package, {Path(sys.executable).parent.parent})"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# MQTT 3.1.1 CONNECT (clean session, keep-alive 10 s, client id "lorafield-probe") and
# DISCONNECT: start() waits for the CONNACK, so "started" means the broker speaks MQTT.
_PROBE_ID = b"lorafield-probe"
_CONNECT = (
    bytes((0x10, 12 + len(_PROBE_ID), 0, 4))
    + b"MQTT"
    + bytes((4, 0x02, 0, 10, 0, len(_PROBE_ID)))
    + _PROBE_ID
)
_DISCONNECT = b"\xe0\x00"


def _connack(port):
    """True if a broker on `port` accepts an MQTT connection now."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(_CONNECT)
            answer = sock.recv(4)
            sock.sendall(_DISCONNECT)
    except OSError:
        return False
    return answer[:2] == b"\x20\x02" and answer[3:4] == b"\x00"


class Broker:
    """One broker process on 127.0.0.1:`port`, its files in `directory`.

    `persistent` (mosquitto only: amqtt can keep nothing across a restart, see
    tests/README.md): clean_session=False sessions, their queued messages and retained
    messages survive stop()/start(); `persists_sessions` says whether this broker does.
    """

    def __init__(self, directory, kind=None, persistent=False):
        self.kind = choose(kind)
        self.description = describe(self.kind)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.persists_sessions = persistent and self.kind == "mosquitto"
        self.port = _free_port()
        self.log_path = self.directory / f"{self.kind}.log"
        self.process = None
        if self.kind == "mosquitto":
            self._command = self._mosquitto_command()
        else:
            self._command = self._amqtt_command()

    def _mosquitto_command(self):
        conf = self.directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "max_queued_messages 1000000",
        ]
        if self.persists_sessions:
            lines += [
                "persistence true",
                f"persistence_location {self.directory}/",
                "autosave_interval 1",
            ]
        conf.write_text("\n".join(lines) + "\n")
        return [mosquitto_binary(), "-c", str(conf)]

    def _amqtt_command(self):
        plugins = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        listener = {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}
        conf = self.directory / "amqtt.yaml"  # JSON is YAML
        conf.write_text(json.dumps({"listeners": {"default": listener}, "plugins": plugins}))
        return [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)]

    def start(self, timeout_s=20.0):
        """Start the process and wait until it accepts connections."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self._command, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _connack(self.port):
                return self
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace").strip().splitlines()
                raise BrokerError(f"{self.kind} exited: {tail[-1] if tail else 'no output'}")
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"{self.kind} did not listen on port {self.port} in {timeout_s:g} s")

    def stop(self):
        """SIGTERM (mosquitto saves its persistence file on it) and wait for the exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
