"""`lorafield emulate board --pty --real-boards`: the deployed firmware/boards code (the real
Esp32Board on `machine`, `esp32`, `onewire`) runs on the emulated hardware instead of the
ROM's board support: deploy, join, uplink, deep sleep and wake through machine.deepsleep and
the RTC memory."""

import pytest
from benchboard import DEV_EUI, BoardProcess, runtime_params


@pytest.fixture(scope="module", params=runtime_params())
def real_board(request, tmp_path_factory):
    b = BoardProcess(
        tmp_path_factory.mktemp("real"), extra=("--real-boards",), runtime=request.param
    )
    yield b
    b.stop()


def test_real_board_code_joins_uplinks_and_wakes_from_deep_sleep(real_board):
    proc = real_board.lorafield(
        "deploy", "--port", real_board.path, "--device", DEV_EUI, "--fleet", str(real_board.fleet)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    real_board.wait_log(f"lns: join {DEV_EUI}")
    real_board.wait_log(f"lns: reading {DEV_EUI} temperature")
    real_board.wait_log("board: boot (deep sleep wake)")
    first = real_board.wait_log(f"lns: uplink {DEV_EUI} fcnt=0")
    start = real_board.lines.index(first)
    real_board.wait_log(f"lns: uplink {DEV_EUI} fcnt=3", start=start)  # after wakes, same session
    assert not any(line.startswith("lns: join ") for line in real_board.lines[start + 1 :])
    # The REPL keeps the real clock and has no urandom of the board outside main.py (the
    # native port has one of its own: kept).
    out = real_board.mpremote(
        "exec", "import time, os; print(time.ticks_ms() > 0, hasattr(os, 'urandom'))"
    )
    assert f"True {real_board.runtime == 'micropython'}" in out.stdout


def test_sigterm_stops_the_running_node_and_saves_the_filesystem(real_board):
    import time

    real_board.wait_log("board: boot (deep sleep wake)")  # the node is running
    t0 = time.monotonic()
    real_board.stop()
    assert time.monotonic() - t0 < 5
    assert real_board.proc.returncode == 0
    assert (real_board.fs / "lorafield.json").is_file() and (real_board.fs / "main.py").is_file()
