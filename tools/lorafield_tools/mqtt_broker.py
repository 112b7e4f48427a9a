"""A real MQTT broker on a free loopback port, for the tests and `lorafield bench gateway`.

The broker is never ours: mosquitto when its binary is installed (what a gateway meets in
the field), otherwise amqtt, a maintained pure-Python MQTT 3.1.1 broker that
`make setup` installs into .venv (the `broker` extra). Either runs as its own process, so
`stop()` is a real outage for the clients. LORAFIELD_MQTT_BROKER=mosquitto|amqtt forces one.

`tls=TlsListener(...)` makes the one listener TLS-only (TLS >= 1.2), as a ChirpStack
installation's broker on 8883 is: mosquitto with `require_certificate true` and
`use_identity_as_username true` (the client certificate's CN is the user); amqtt verifies a
client certificate that is presented but cannot demand one (`requires_client_certificate`
says which). `users={name: password}` turns anonymous access off.
"""

import importlib.metadata
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ENV = "LORAFIELD_MQTT_BROKER"
KINDS = ("mosquitto", "amqtt")
INSTALL_HINT = "apt-get install mosquitto, or pip install 'lorafield[broker]' (amqtt)"


class BrokerError(Exception):
    """No broker can be had, or one did not start; the message is one line."""


@dataclass(frozen=True)
class TlsListener:
    """PEM files of a TLS listener: the CA that signs client certificates (and the
    broker's), the broker's certificate and key."""

    ca: Path
    cert: Path
    key: Path
    require_certificate: bool = True


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
    """True if a broker on `port` answers an MQTT CONNECT now (any CONNACK: one that
    refuses an anonymous client still shows the broker speaks MQTT)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(_CONNECT)
            answer = sock.recv(4)
            sock.sendall(_DISCONNECT)
    except OSError:
        return False
    return answer[:2] == b"\x20\x02"


def _tls_handshake(port, ca):
    """True if a TLS listener on `port` completes a handshake (its certificate verified
    against `ca`) now; a listener that demands a client certificate checks it later."""
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False  # a test may give the broker a certificate for another host
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1) as sock,
            context.wrap_socket(sock, server_hostname="127.0.0.1"),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


class Broker:
    """One broker process on 127.0.0.1:`port`, its files in `directory`.

    `persistent` (mosquitto only: amqtt can keep nothing across a restart, see
    tests/README.md): clean_session=False sessions, their queued messages and retained
    messages survive stop()/start(); `persists_sessions` says whether this broker does.
    """

    def __init__(self, directory, kind=None, persistent=False, tls=None, users=None):
        self.kind = choose(kind)
        self.description = describe(self.kind)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.persists_sessions = persistent and self.kind == "mosquitto"
        self.tls = tls
        self.users = dict(users or {})
        self.requires_client_certificate = bool(
            tls and tls.require_certificate and self.kind == "mosquitto"
        )
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
            f"allow_anonymous {'false' if self.users else 'true'}",
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "max_queued_messages 1000000",
            # Without it mosquitto holds a PUBACK back while the previous one is not yet
            # acknowledged (Nagle against the client's delayed ACK): +1 uplink interval of
            # latency at a steady rate once two PUBACKs were ever sent back to back.
            "set_tcp_nodelay true",
        ]
        if self.tls:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.cert}",
                f"keyfile {self.tls.key}",
                "tls_version tlsv1.2",  # the lowest version accepted
            ]
            if self.tls.require_certificate:
                lines += ["require_certificate true", "use_identity_as_username true"]
        if self.users:
            lines.append(f"password_file {self._mosquitto_passwords()}")
        if self.persists_sessions:
            lines += [
                "persistence true",
                f"persistence_location {self.directory}/",
                "autosave_interval 1",
            ]
        conf.write_text("\n".join(lines) + "\n")
        return [mosquitto_binary(), "-c", str(conf)]

    def _mosquitto_passwords(self):
        path = self.directory / "passwords"
        path.write_text("")
        path.chmod(0o600)
        tool = str(Path(mosquitto_binary()).parent.parent / "bin" / "mosquitto_passwd")
        tool = shutil.which("mosquitto_passwd") or tool
        for name, password in self.users.items():
            subprocess.run([tool, "-b", str(path), name, password], check=True, timeout=10)
        return path

    def _amqtt_command(self):
        if self.users:
            from pwdlib.hashers.argon2 import Argon2Hasher

            path = self.directory / "passwords"
            hasher = Argon2Hasher()
            path.write_text("".join(f"{u}:{hasher.hash(p)}\n" for u, p in self.users.items()))
            auth = {"amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(path)}}
        else:
            auth = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        plugins = auth
        listener = {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}
        if self.tls:
            listener.update(
                ssl=True,
                cafile=str(self.tls.ca),
                certfile=str(self.tls.cert),
                keyfile=str(self.tls.key),
            )
        conf = self.directory / "amqtt.yaml"  # JSON is YAML
        conf.write_text(json.dumps({"listeners": {"default": listener}, "plugins": plugins}))
        return [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)]

    def start(self, timeout_s=20.0):
        """Start the process and wait until it accepts connections."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self._command, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _tls_handshake(self.port, self.tls.ca) if self.tls else _connack(self.port):
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
