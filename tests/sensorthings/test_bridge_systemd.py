"""The SensorThings bridge's systemd unit: the gateway's sandbox without any device, checked
with systemd-analyze (verify, and an exposure score no worse than the gateway unit's)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).parents[2] / "gateway" / "systemd"
UNIT = SYSTEMD / "lorafield-sensorthings-bridge.service"
GATEWAY = SYSTEMD / "lorafield-gateway.service"
analyze = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(
    analyze is None, reason="systemd-analyze not installed (apt-get install systemd)"
)


def _directives(text):
    return {line.strip() for line in text.splitlines() if "=" in line and line[:1] not in "#;"}


def test_unit_is_sandboxed_like_the_gateway_without_devices():
    text = UNIT.read_text()
    mine = _directives(text)
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "User=lorafield",
        "PrivateDevices=yes",
        "DevicePolicy=closed",
        "StateDirectory=lorafield-sensorthings",
        "EnvironmentFile=/etc/lorafield/sensorthings-bridge.env",
        "LoadCredential=lorafield:/etc/lorafield/credentials",
        "ExecStart=/opt/lorafield/.venv/bin/lorafield sensorthings bridge --from ${FROM}"
        " --to ${TO} $OPTIONS",
    ):
        assert line in mine, line
    assert "SupplementaryGroups" not in text and "DeviceAllow" not in text
    # Every sandboxing directive of the gateway's unit, with the same value.
    sandbox = re.compile(
        r"^(NoNewPrivileges|Protect\w+|Private(Tmp|Mounts)|ProcSubset|Restrict\w+|LockPersonality"
        r"|MemoryDenyWriteExecute|RemoveIPC|KeyringMode|CapabilityBoundingSet|AmbientCapabilities"
        r"|SystemCall\w+|UMask|StateDirectoryMode)="
    )
    wanted = {d for d in _directives(GATEWAY.read_text()) if sandbox.match(d)}
    assert len(wanted) > 25 and wanted <= mine, sorted(wanted - mine)


@needs_systemd
def test_systemd_analyze_verify(tmp_path):
    # verify checks that ExecStart exists: point it at this checkout's entry point.
    lorafield = Path(sys.executable).parent / "lorafield"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/lorafield/.venv/bin/lorafield", str(lorafield)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def _exposure(unit):
    result = subprocess.run(
        [analyze, "security", "--offline=yes", str(unit)], capture_output=True, text=True
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout[-500:]
    return float(match.group(1))


@needs_systemd
def test_security_exposure_no_worse_than_the_gateway():
    bridge, gateway = _exposure(UNIT), _exposure(GATEWAY)
    assert bridge <= gateway and bridge <= 2.0, (bridge, gateway)
