"""The HIL harness itself: skipped without a board, and run in full against the emulated
board on a pty (as it would run against a real one on /dev/ttyUSB0), plus the monitor
decoding the test build's uplink on that port."""

import subprocess
import sys

import serial
from benchboard import DEV_EUI, LORAFIELD
from lorafield_tools.mpcheck.sources import repo_root

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"]


def run_hil(*options, timeout=300):
    return subprocess.run(
        [*PYTEST, "tests/hil", *options],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_without_a_board_the_set_is_skipped_with_the_reason():
    proc = run_hil()
    assert proc.returncode == 0, proc.stdout
    assert "4 skipped" in proc.stdout
    assert "HIL: no board attached (run with --hil-port PORT" in proc.stdout


def test_hil_set_passes_against_the_emulated_board(board):
    start = len(board.lines)
    proc = run_hil(
        "--hil-port", board.path, "--hil-board", "heltec_lora32_v2",
        "--hil-fleet", str(board.fleet), "--hil-device", DEV_EUI,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout
    # The far end saw the test build's join and uplink.
    board.wait_log(f"lns: join {DEV_EUI}", start=start)
    board.wait_log(f"lns: reading {DEV_EUI} temperature", start=start)

    # The monitor decodes the test build's uplink frame from the same port.
    monitor = subprocess.Popen(
        [LORAFIELD, "monitor", "--port", board.path, "--seconds", "8", "--elapsed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert monitor.stderr is not None and monitor.stderr.readline().startswith("monitor:")
    with serial.Serial(board.path, 115200) as port:
        port.write(b"\r\x03\x02\x04")  # friendly REPL, soft reset: the test build runs again
    out, _ = monitor.communicate(timeout=30)
    assert "HIL radio lora=1 version=0x12" in out
    assert "-> temperature {'temperature_c':" in out


def test_hil_port_without_a_fleet_is_a_usage_error():
    proc = run_hil("--hil-port", "/dev/null")
    assert proc.returncode != 0
    assert "--hil-port needs --hil-fleet and --hil-device" in proc.stdout + proc.stderr
