"""The systemd unit (systemd-analyze verify and its security exposure score) and the
service's sd_notify conversation with a real NOTIFY_SOCKET: READY=1, watchdog pings, and
STOPPING=1 with a clean exit on SIGTERM."""

import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "gateway" / "systemd" / "lorafield-gateway.service"
analyze = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(analyze is None, reason="systemd-analyze not installed")


def test_unit_has_the_required_directives():
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=30",
        "Restart=on-failure",
        "User=lorafield",
        "DevicePolicy=closed",
        "DeviceAllow=/dev/spidev0.0 rw",
        "DeviceAllow=char-gpiochip rw",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "LoadCredential=lorafield:/etc/lorafield/credentials\n",
    ):
        assert line in text, line


@needs_systemd
def test_systemd_analyze_verify(tmp_path):
    # verify checks that ExecStart exists: point it at this checkout's entry point.
    lorafield = Path(sys.executable).parent / "lorafield"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/lorafield/.venv/bin/lorafield", str(lorafield)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


@needs_systemd
def test_security_exposure_is_low():
    result = subprocess.run(
        [analyze, "security", "--offline=yes", str(UNIT)], capture_output=True, text=True
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout[-500:]
    assert float(match.group(1)) <= 2.0


def test_service_speaks_sd_notify_and_stops_cleanly_on_sigterm(tmp_path):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(10)
    (tmp_path / "radio.jsonl").touch()
    config = tmp_path / "gw.toml"
    config.write_text(
        f'[gateway]\nstate_dir = "{tmp_path}/state"\n'
        f'[radio]\nkind = "replay"\nreplay_path = "{tmp_path}/radio.jsonl"\n'
    )
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000", "PATH": ""}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "gateway", "run", "--config", str(config)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        messages = [notify.recv(4096) for _ in range(3)]
        assert messages[0].startswith(b"READY=1\nSTATUS=")
        assert messages[1:] == [b"WATCHDOG=1", b"WATCHDOG=1"]  # every WatchdogSec/2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        rest = []
        notify.settimeout(0.5)
        try:
            while True:
                rest.append(notify.recv(4096))
        except TimeoutError:
            pass
        assert b"STOPPING=1" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()
