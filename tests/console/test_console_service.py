"""The gateway service serves the console when its configuration says so ([console]
enabled): an emulated radio, two emulated nodes of a fleet, the local network server, and the
console's API showing what the server stored while the service runs."""

import contextlib
import io
import json
import logging
import socket
import time
import urllib.request

from lorafield_gateway import config as gwconfig
from lorafield_gateway.service import GatewayService
from lorafield_tools.cli import main


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_with_console(tmp_path, nodes, port):
    """A gateway service (not started): an emulated radio with `nodes` emulated nodes of a
    new fleet, the local network server and the console on `port`."""
    fleet = tmp_path / "fleet.toml"
    argv = ["provision", "new", "--kind", "temperature", "--count", str(nodes)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--fleet", str(fleet), "--join-eui", "70b3d57ed00000ff"]) == 0
    cfg = gwconfig.from_dict(
        {
            "gateway": {"state_dir": str(tmp_path / "state"), "stats_interval_s": 1},
            "radio": {"kind": "emulated", "emulated_nodes": nodes},
            "local": {"enabled": True, "fleet": str(fleet)},
            "console": {"enabled": True, "port": port},
        }
    )
    return GatewayService(cfg)


def test_the_gateway_service_serves_the_console(tmp_path, caplog):
    port = free_port()
    service = gateway_with_console(tmp_path, 2, port)
    with caplog.at_level(logging.INFO, logger="lorafield"):
        service.start()
        try:
            assert service.console is not None, caplog.text
            url = f"http://127.0.0.1:{port}/api/devices"
            deadline = time.monotonic() + 40
            heard = []
            while time.monotonic() < deadline and len(heard) < 2:
                with urllib.request.urlopen(url, timeout=5) as response:
                    devices = json.load(response)["devices"]
                heard = [d for d in devices if d["last_seen"] and d["state"]]
                time.sleep(0.5)
            assert len(heard) == 2, devices
            assert all("temperature_c" in d["state"] for d in heard)
            assert all(d["dev_addr"] for d in heard)  # joined through the local server
        finally:
            service.stop()
    assert f"console on http://127.0.0.1:{port}/" in caplog.text
    assert str(tmp_path / "state" / "console.token") in caplog.text
    token = (tmp_path / "state" / "console.token").read_text().strip()
    assert token not in caplog.text


def test_a_console_that_cannot_start_leaves_the_gateway_running(tmp_path, caplog):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    service = gateway_with_console(tmp_path, 1, port)
    try:
        with caplog.at_level(logging.INFO, logger="lorafield"):
            service.start()
            assert service.console is None and service.radio_alive()
    finally:
        service.stop()
        taken.close()
    assert f"console not started: cannot listen on 127.0.0.1:{port}" in caplog.text
