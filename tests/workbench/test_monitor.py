"""`lorafield monitor` on a pty pair: time-stamped lines, hex frames decoded by the codec."""

import os
import subprocess
import tty

from benchboard import LORAFIELD
from lorafield_codec import encode
from lorafield_tools.workbench.monitor import Console, decode_frames


def test_console_stamps_lines_and_decodes_frames():
    ticks = iter([100.0, 100.25, 101.5, 101.5])
    console = Console(clock=lambda: next(ticks), wall=False)
    payload = encode("temperature", {"temperature_c": 21.5, "humidity_pct": 40.0}).hex()
    lines = console.feed(f"boot\r\nHIL uplink fcnt=3 fport=12 hex={payload}\r\npart".encode())
    assert lines[0] == "[    0.250] boot"
    assert lines[1].startswith("[    1.500] HIL uplink")
    assert "-> temperature {'temperature_c': 21.5, 'humidity_pct': 40.0}" in lines[2]
    assert len(lines) == 3  # "part" waits for its newline


def test_frames_need_a_port_or_one_decoding_kind():
    status = encode("status", {"battery_mv": 3700}).hex()
    assert decode_frames(f"tx port=20 {status}") == [(status, "status", {"battery_mv": 3700})]
    assert decode_frames(f"tx port=12 {status}") == [
        (status, "temperature", {"temperature_c": 37.0})
    ]
    assert decode_frames(f"tx {status}") == []  # tiny CBOR frames fit several kinds: no guess
    assert decode_frames("count 123456 and deadbeef") == []


def test_monitor_command_on_a_pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen(
        [LORAFIELD, "monitor", "--port", os.ttyname(slave), "--seconds", "3", "--elapsed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("monitor: ")  # the port is open
    parking = encode("parking", {"occupied": True, "since_s": 300}).hex()
    os.write(master, f"node up\r\nuplink fport=10 {parking}\r\n".encode())
    out, err = proc.communicate(timeout=20)
    os.close(master)
    os.close(slave)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("] node up")
    assert "-> parking {'occupied': True, 'since_s': 300}" in out
    stamp = float(lines[0][1:].split("]")[0])
    assert 0.0 <= stamp < 3.0  # seconds since the monitor started


def test_monitor_bad_port_is_one_line():
    proc = subprocess.run(
        [LORAFIELD, "monitor", "--port", "/dev/no-such-port", "--seconds", "1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
