"""Gateway test fixtures: a real mosquitto broker on a free loopback port, gateway configs,
and the helpers in gw_helpers and tests/hardware/radio/radio_helpers (importable under
--import-mode=importlib via sys.path)."""

import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "hardware" / "radio"))  # radio_helpers


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mosquitto:
    """A mosquitto process with persistence, so a restart keeps subscribers' sessions."""

    def __init__(self, directory):
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
        )
        if binary is None:
            pytest.fail(
                "the gateway tests need the mosquitto broker binary: "
                "apt-get install -y mosquitto (.ci/run installs it)"
            )
        self.binary = binary
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.directory}/\n"
            "autosave_interval 1\n"
            f"log_dest file {self.directory}/mosquitto.log\n"
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            "max_queued_messages 100000\n"
        )
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    log = (self.directory / "mosquitto.log").read_text(errors="replace")
                    pytest.fail(f"mosquitto exited: {log[-500:]}")
                time.sleep(0.05)
        pytest.fail("mosquitto did not start listening")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: saves the persistence file
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()
