"""The emulated board on a pty speaks the REPL like a USB-serial MicroPython board: the real
mpremote works against it, and so does a terminal (friendly REPL)."""

import time

import serial
from benchboard import fs_files, local_hash


def talk(port, data, until=b">>> ", timeout=10.0):
    port.write(data)
    out = b""
    end = time.monotonic() + timeout
    while not out.endswith(until) and time.monotonic() < end:
        out += port.read(port.in_waiting or 1)
    return out


def friendly(port):
    """Interrupt whatever runs, leave the raw REPL, drain everything printed so far."""
    port.write(b"\r\x03\x02")
    time.sleep(0.3)
    while port.read(4096):
        pass


def test_mpremote_copies_hashes_and_runs(board, tmp_path):
    source = tmp_path / "hello.py"
    source.write_bytes(b"GREETING = 'from the board'\n" + b"# padding\n" * 400)
    proc = board.mpremote(
        "fs", "cp", str(source), ":hello.py", "+", "fs", "sha256sum", ":hello.py",
        "+", "exec", "import hello; print(hello.GREETING, 6 * 7)",
    )  # fmt: skip
    assert local_hash(source.read_bytes()) in proc.stdout
    assert "from the board 42" in proc.stdout
    listing = board.mpremote("fs", "ls", ":").stdout
    assert "hello.py" in listing and "dev/" not in listing  # Emscripten's folders hidden
    # A soft reset starts a fresh interpreter and keeps the filesystem (saved on the host).
    board.mpremote("soft-reset")
    again = board.mpremote(
        "exec", "print('hello' in globals()); import hello; print(hello.GREETING)"
    )
    assert "False" in again.stdout and "from the board" in again.stdout
    assert fs_files(board.fs)["/hello.py"] == source.read_bytes()


def test_missing_file_is_enoent_as_on_a_real_board(board):
    proc = board.mpremote("fs", "cat", ":no-such-file.txt", check=False)
    assert proc.returncode != 0
    assert "No such file" in proc.stdout + proc.stderr or "ENOENT" in proc.stdout + proc.stderr


def test_large_exec_goes_through_raw_paste_flow_control(board):
    # 20 kB of code: mpremote sends it window by window (128 bytes) in raw-paste mode.
    lines = "".join(f"v{i} = {i} * 2\n" for i in range(1500))
    proc = board.mpremote(
        "exec",
        lines
        + "print('sum', sum(v for k, v in globals().items() if k[0] == 'v' and k[1:].isdigit()))",
    )
    assert f"sum {sum(i * 2 for i in range(1500))}" in proc.stdout


def test_raw_paste_handshake_bytes(board):
    with serial.Serial(board.path, 115200, timeout=0.2) as port:
        port.write(b"\r\x03\r\x01")
        assert talk(port, b"", until=b"raw REPL; CTRL-B to exit\r\n>").endswith(b">")
        port.write(b"\x05A\x01")
        header = port.read(4)
        assert header[:2] == b"R\x01"
        window = int.from_bytes(header[2:4], "little")
        assert window > 0
        code = b"print('x' * 3)\n" + b"#" * (2 * window)  # needs two window refills
        sent, credit, acks = 0, window, 0
        while sent < len(code):
            if credit == 0:
                assert port.read(1) == b"\x01"
                credit += window
                acks += 1
            chunk = code[sent : sent + credit]
            port.write(chunk)
            sent += len(chunk)
            credit -= len(chunk)
        port.write(b"\x04")
        out = talk(port, b"", until=b"\x04>")
        assert acks >= 2
        assert out.startswith(b"\x01" * (out.count(b"\x01"))) and b"\x04xxx\r\n\x04\x04>" in out
        port.write(b"\r\x02")


def test_friendly_repl_echo_continuation_traceback_and_soft_reset(board):
    board.mpremote("exec", "open('main.py', 'w').write('print(\"main.py ran\")')")
    with serial.Serial(board.path, 115200, timeout=0.2) as port:
        friendly(port)
        assert talk(port, b"6*7\r") == b"6*7\r\n42\r\n>>> "
        out = talk(port, b"def f(x):\r    return x + 1\r\r")
        assert out.endswith(b"... \r\n>>> ")
        assert talk(port, b"f(1)\r").endswith(b"2\r\n>>> ")
        assert b"ZeroDivisionError" in talk(port, b"1/0\r")
        out = talk(port, b"\x04", timeout=20)
        assert b"MPY: soft reboot\r\nmain.py ran\r\n" in out
        assert b"NameError" in talk(port, b"f(1)\r")  # a fresh interpreter
    board.mpremote("fs", "rm", ":main.py")


def test_ctrl_c_stops_a_loop_that_never_calls_the_hardware(board):
    with serial.Serial(board.path, 115200, timeout=0.2) as port:
        friendly(port)
        talk(port, b"kept = 7\r")
        port.write(b"while True: pass\r\r")
        time.sleep(0.5)
        t0 = time.monotonic()
        out = talk(port, b"\x03", timeout=10)
        assert b"KeyboardInterrupt" in out and out.endswith(b">>> ")
        assert time.monotonic() - t0 < 5
        assert talk(port, b"1+1\r").endswith(b"2\r\n>>> ")
        if board.runtime == "micropython":  # SIGINT: the loop stops, the interpreter stays
            assert time.monotonic() - t0 < 1
            assert talk(port, b"kept\r").endswith(b"7\r\n>>> ")


def test_provision_from_the_boards_unique_id(board, tmp_path):
    uid = board.mpremote(
        "exec", "import machine, binascii; print(binascii.hexlify(machine.unique_id()).decode())"
    ).stdout.strip()
    assert len(uid) == 12  # an ESP32's MAC-48
    fleet = tmp_path / "fleet.toml"
    argv = ("provision", "new", "--kind", "parking", "--fleet", str(fleet),
            "--join-eui", "70b3d57ed00000ff", "--from-port", board.path)  # fmt: skip
    proc = board.lorafield(*argv)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(uid[:6] + "fffe" + uid[6:])
    again = board.lorafield(*argv)
    assert again.returncode == 2 and "already in the fleet" in again.stderr
