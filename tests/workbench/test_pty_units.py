"""The pty board's parts without a pty or a VM: REPL framing byte by byte, and the hardware
bridge on a fake boot view."""

from lorafield_tools.pty_board.bridge import HardwareBridge
from lorafield_tools.pty_board.repl import PASTE_WINDOW, Repl
from lorafield_tools.pty_board.vm import RunResult


class FakeBoard:
    def __init__(self):
        self.out = bytearray()
        self.ran = []
        self.resets = []

    def write(self, data):
        self.out += data

    def banner(self):
        return "MicroPython v1.27.0; fake"

    def execute(self, code, single=False):
        self.ran.append((code, single))
        if "boom" in code:
            return RunResult(False, "NameError", "Traceback:\nNameError: boom\n")
        return RunResult(True)

    def soft_reset(self, run_main):
        self.resets.append(run_main)

    def take(self):
        out, self.out = bytes(self.out), bytearray()
        return out


def test_raw_repl_framing_and_soft_reset():
    board = FakeBoard()
    repl = Repl(board)
    repl.feed(b"\r\x01")
    assert board.take() == b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>"
    repl.feed(b"x = 1\x04")
    assert board.ran == [("x = 1", False)] and board.take() == b"OK\x04\x04>"
    repl.feed(b"boom\x04")
    assert board.take() == b"OK\x04Traceback:\r\nNameError: boom\r\n\x04>"
    repl.feed(b"\x04")  # empty buffer: soft reset, main.py not run from the raw REPL
    assert board.take() == b"OK\r\n" and board.resets == [False]
    repl.feed(b"abc\x03\x04")  # Ctrl-C clears the buffer
    assert board.resets == [False, False]
    repl.feed(b"\x02")
    assert repl.mode == "friendly" and board.take().endswith(b">>> ")


def test_raw_paste_windows_and_abort():
    board = FakeBoard()
    repl = Repl(board)
    repl.feed(b"\x01")
    board.take()
    repl.feed(b"\x05A\x01")
    assert board.take() == b"R\x01" + PASTE_WINDOW.to_bytes(2, "little")
    code = b"y = 2\n" + b"#" * (2 * PASTE_WINDOW)
    repl.feed(code)
    assert board.take() == b"\x01" * (len(code) // PASTE_WINDOW)
    repl.feed(b"\x04")
    assert board.ran[-1] == (code.decode(), False)
    assert board.take() == b"\x04\x04\x04>"
    repl.feed(b"\x05B\x01")  # an unknown raw-paste command
    assert board.take() == b"R\x00"
    repl.feed(b"\x05A\x01")
    board.take()
    repl.feed(b"z = 3\x03")  # Ctrl-C inside the data: abrupt end, host acknowledges
    assert board.take() == b"\x04"
    repl.feed(b"\x04")
    assert b"KeyboardInterrupt" in board.take() and len(board.ran) == 1  # not run


def test_friendly_repl_lines():
    board = FakeBoard()
    repl = Repl(board)
    repl.feed(b"1+\x7f+1\r")
    assert board.ran == [("1+1", True)]
    assert board.take() == b"1+\x08 \x08+1\r\n>>> "
    repl.feed(b"for i in (1, 2):\r  print(i)\r\r")
    assert board.ran[-1] == ("for i in (1, 2):\n  print(i)\n", True)
    repl.feed(b"while True: pass\r")
    assert board.take().endswith(b"... ")  # one-line compound statements continue too
    repl.feed(b"\x03")
    assert board.take() == b"\r\n>>> "
    repl.feed(b"\x1b[A")  # cursor up: ignored
    assert board.take() == b""
    repl.feed(b"\x04")
    assert board.resets == [True]


class FakePin:
    IRQ_RISING = 1

    def __init__(self):
        self.handler = None

    def irq(self, handler=None, trigger=1):
        self.handler = handler


class FakeSpi:
    def readinto(self, buf, write=0):
        buf[:] = bytes(range(len(buf)))


class Sleep(BaseException):
    pass


class FakeView:
    def __init__(self):
        self.pin = FakePin()
        self.spi = FakeSpi()

    def radio(self):
        return self.spi, self.pin

    def unique_id(self):
        return b"\x01\x02"

    def i2c_missing(self):
        raise OSError(19)

    def deepsleep(self, ms):
        raise Sleep(ms)


def test_bridge_objects_buffers_interrupts_and_the_end_of_a_boot():
    view = FakeView()
    bridge = HardwareBridge(view)
    radio = bridge.handle({"op": "call", "o": 0, "m": "radio", "a": [], "k": {}})["r"]
    spi, pin = radio
    assert pin["attrs"]["IRQ_RISING"] == 1
    reply = bridge.handle({"op": "call", "o": spi["o"], "m": "readinto", "a": [{"m": "000000"}]})
    assert reply["m"] == ["000102"]  # the VM's buffer gets the bytes read
    bridge.handle({"op": "call", "o": pin["o"], "m": "irq", "a": ["handler"], "k": {}})
    view.pin.handler(view.pin)  # the edge: queued, delivered with the next answer
    reply = bridge.handle({"op": "call", "o": 0, "m": "unique_id", "a": [], "k": {}})
    assert reply == {"r": {"b": "0102"}, "irq": [pin["o"]]}
    assert bridge.handle({"op": "call", "o": 0, "m": "i2c_missing", "a": [], "k": {}}) == {
        "err": "OSError",
        "args": [19],
    }
    assert bridge.handle({"op": "call", "o": 0, "m": "_private", "a": [], "k": {}})["err"]
    assert bridge.handle({"op": "call", "o": 99, "m": "x", "a": [], "k": {}})["err"]
    reply = bridge.handle({"op": "call", "o": 0, "m": "deepsleep", "a": [1000], "k": {}})
    assert reply == {"exit": "Sleep"} and isinstance(bridge.pending_exit, Sleep)


def test_bridge_describes_the_root_so_missing_methods_are_missing_in_the_vm():
    bridge = HardwareBridge(FakeView())
    root = bridge.handle({"op": "root"})["r"]
    assert root["o"] == 0
    assert {"radio", "unique_id", "deepsleep"} <= set(root["methods"])
    assert not any(name.startswith("_") for name in root["methods"])
    reply = bridge.handle({"op": "call", "o": 0, "m": "rtc_ms", "a": [], "k": {}})
    assert reply["err"] == "AttributeError"
    assert bridge.handle({"op": "identity"}) is None  # not the bridge's: the board answers
