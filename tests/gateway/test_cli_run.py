"""`lorafield gateway run --radio emulated` as a process: emulated SX1276 and nodes, frames
forwarded to a Semtech UDP server, clean exit on SIGTERM."""

import signal
import subprocess
import sys
import time

from gw_helpers import UdpServer
from lorafield_gateway.semtech import push_data


def test_emulated_radio_process_forwards_to_udp(tmp_path):
    udp = UdpServer()
    config = tmp_path / "gw.toml"
    config.write_text(
        f'[gateway]\nstate_dir = "{tmp_path}/state"\n'
        "[radio]\nemulated_nodes = 2\nemulated_interval_ms = 200\n"
        f"[semtech]\nenabled = true\nport_up = {udp.port}\nport_down = {udp.port}\n"
    )
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "gateway",
            "run",
            "--config",
            str(config),
            "--radio",
            "emulated",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        packets = []
        while time.monotonic() < deadline and len(packets) < 4:
            packets = [
                rx for d in list(udp.received) if d[3] == 0 for rx in push_data.decode(d).rxpk
            ]
            time.sleep(0.05)
        assert len(packets) >= 4
        assert {rx.data[1:5] for rx in packets} == {b"\x01\x00\x00\x26", b"\x02\x00\x00\x26"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "gateway stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        udp.close()
