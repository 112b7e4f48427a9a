"""The emulated board on a pseudo-terminal: a serial port that behaves like a USB-serial
MicroPython board (REPL framing in repl.py), whose MicroPython is the real VM (vm.py) and whose
hardware is the emulation of hardware/ (world.py, reached from the VM through rom/). The VM is
the native unix port (`runtime="micropython"`, mpnative/) or the WebAssembly build under node
(`runtime="webassembly"`, vm.py); by default the native one where it is installed.

    board = PtyBoard(fs_dir="board-fs", world=NodeWorld(...))
    print(board.path)          # /dev/pts/N: give it to mpremote, lorafield deploy, monitor
    board.serve(stop_event)    # until stop_event is set

The filesystem lives in `fs_dir` on the host (loaded into every fresh VM, saved at each soft
reset and on exit), so it survives soft resets and restarts of the board process.
"""

from __future__ import annotations

import errno
import os
import pty
import select
import time
import tty
from pathlib import Path

from .repl import Repl, cooked
from .vm import BoardVM, RunResult

WRITE_STALL_S = 0.5  # a UART with nobody listening drops what it sends; so do we, after this
RUNTIMES = ("micropython", "webassembly")  # the native unix port; the npm WebAssembly build


def default_runtime():
    """The native interpreter where its binary is installed (`make setup` installs it), else
    the WebAssembly VM: the native one starts 3x faster, stops pure-Python loops on Ctrl-C and
    holds code to its heap as a board does (figures and reasons: README.md)."""
    from ..mpnative import native_available

    return "micropython" if native_available() else "webassembly"


def make_vm(runtime=None, heap_kib=512, real_boards=False):
    """The board's MicroPython: NativeBoardVM or BoardVM (same interface; runtime None: the
    default_runtime()); raises MicroPythonUnavailable (one line with the install hint) if that
    runtime is missing."""
    runtime = runtime or default_runtime()
    if runtime == "micropython":
        from ..mpnative import NativeBoardVM

        return NativeBoardVM(heap_kib, real_boards)
    if runtime != "webassembly":
        raise ValueError(f"unknown runtime {runtime!r} (known: {', '.join(RUNTIMES)})")
    return BoardVM(heap_kib, real_boards)


class BoardReset(Exception):
    """machine.reset() ran: the board restarts as after the reset button."""


class PtyBoard:
    def __init__(
        self,
        fs_dir=None,
        world=None,
        heap_kib=512,
        link=None,
        real_boards=False,
        runtime=None,
    ):
        self.world = world
        self.board_key = world.board_key if world is not None else "heltec_lora32_v2"
        self.port = world.port if world is not None else "esp32"
        self.fs_dir = Path(fs_dir) if fs_dir is not None else None
        self.vm = make_vm(runtime, heap_kib, real_boards)  # first: it may be missing
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.link = link
        if link is not None:
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(self.path, link)
        self.real_boards = real_boards
        self.rtc_memory = b""  # machine.RTC().memory() (real-boards mode)
        self.vm.files, self.vm.dirs = self._load_fs()
        self.repl = Repl(self)
        self.pending = bytearray()
        self.soft_resets = 0
        self.stop = None  # the Event serve() runs until; the node's run checks it too
        self._closed = False

    def banner(self):
        return f"{self.vm.version}; lorafield emulated {self.board_key} with {self.port.upper()}"

    # -- filesystem on the host -------------------------------------------------------------
    def _load_fs(self):
        files, dirs = {}, set()
        if self.fs_dir is None or not self.fs_dir.is_dir():
            return files, dirs
        for path in sorted(self.fs_dir.rglob("*")):
            vm_path = "/" + path.relative_to(self.fs_dir).as_posix()
            if path.is_dir():
                dirs.add(vm_path)
            elif path.is_file():
                files[vm_path] = path.read_bytes()
        return files, dirs

    def save_fs(self):
        self.vm.sync_files()
        if self.fs_dir is None:
            return
        self.fs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds the device keys
        wanted = {self.fs_dir / p.lstrip("/") for p in self.vm.files}
        wanted_dirs = {self.fs_dir / d.lstrip("/") for d in self.vm.dirs}
        for path in sorted(self.fs_dir.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
            elif path.is_dir() and path not in wanted_dirs:
                path.rmdir()
        for d in sorted(wanted_dirs):
            d.mkdir(parents=True, exist_ok=True)
        for vm_path, data in self.vm.files.items():
            target = self.fs_dir / vm_path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_bytes() != data:
                target.write_bytes(data)

    # -- serial port ------------------------------------------------------------------------
    def write(self, data):
        view = memoryview(bytes(data))
        stalled_since = None
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
                stalled_since = None
            except BlockingIOError:
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > WRITE_STALL_S:
                    return  # nobody reads the port
                select.select([], [self.master], [], 0.05)

    def read_input(self):
        """Bytes the host sent (b"" if none)."""
        try:
            return os.read(self.master, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise

    def stopping(self):
        return self.stop is not None and self.stop.is_set()

    def input_during_run(self):
        """Called while code runs: Ctrl-C interrupts, anything else waits in the RX buffer."""
        data = self.read_input()
        if b"\x03" in data:
            self.pending += data[data.rindex(b"\x03") + 1 :]
            self.interrupted = True
            return True
        self.pending += data
        return False

    # -- what the REPL asks for -------------------------------------------------------------
    def output(self, text):
        self.write(cooked(text))

    def hw_handler(self, bridge=None):
        """Answers the VM's hardware requests: the board's identity, machine.unique_id() and
        machine.reset() here; object calls through `bridge` (only while main.py runs)."""

        def handle(req):
            op = req.get("op")
            if op == "identity":
                return {"board": self.board_key, "port": self.port}
            if op == "unique_id":
                uid = self.world.unique_id() if self.world is not None else bytes(6)
                return {"hex": uid.hex()}
            if op == "reset":
                self._reset_requested = True
                return {}
            if op == "rtc_memory":
                if "set" in req:
                    self.rtc_memory = bytes.fromhex(req["set"])[:2048]  # the ESP32's 2 kB
                return {"hex": self.rtc_memory.hex()}
            answer = bridge.handle(req) if bridge is not None else None
            if answer is None:
                return {"err": "OSError", "args": [19]}  # ENODEV: no hardware outside main.py
            return answer

        return handle

    _reset_requested = False

    # A Ctrl-C read while code ran (set by input_during_run). The VM delivers it at the code's
    # next chance; a run that ends first (main.py's deep sleep) never sees it, so the node's
    # world reads this flag instead of losing the Ctrl-C.
    interrupted = False

    def execute(self, code, single=False, hw=None) -> RunResult:
        self.interrupted = False
        result = self.vm.run(
            code,
            single=single,
            output=self.output,
            hw=hw or self.hw_handler(),
            input_fd=self.master,
            on_input=self.input_during_run,
        )
        if result.killed:
            self.vm.start()  # the interpreter died: a fresh one with the last saved files
        if self._reset_requested:
            self._reset_requested = False
            raise BoardReset()
        return result

    def soft_reset(self, run_main):
        """A fresh interpreter, same filesystem; boot.py, then main.py in the friendly REPL."""
        self.soft_resets += 1
        self.save_fs()
        self.write(b"MPY: soft reboot\r\n")
        self.vm.start()
        if "/boot.py" in self.vm.files:
            self._run_file("/boot.py")
        if run_main and "/main.py" in self.vm.files:
            if self.world is not None:
                self.world.run_main(self)
            else:
                self._run_file("/main.py")
        if self.repl.mode == "friendly":
            self.repl.banner()
            self.repl.prompt()
        else:
            self.repl.enter_raw()

    def _run_file(self, path):
        result = self.execute(f"exec(open({path!r}).read(), {{'__name__': '__main__'}})")
        if not result.ok:
            self.output(result.traceback)
        return result

    # -- main loop ----------------------------------------------------------------------------
    def serve(self, stop):
        """Serve the port until `stop` (a threading.Event) is set."""
        self.stop = stop
        if not self.vm.alive():  # the command starts it first, to report a failure in one line
            self.vm.start()
        self.repl.banner()
        self.repl.prompt()
        try:
            while not stop.is_set():
                if self.pending:
                    data, self.pending = bytes(self.pending), bytearray()
                    self.repl.feed(data)
                    continue
                readable, _, _ = select.select([self.master], [], [], 0.1)
                if readable:
                    data = self.read_input()
                    if data:
                        self.repl.feed(data)
        finally:
            self.close()

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.save_fs()
        finally:
            self.vm.stop()
            if self.world is not None:
                self.world.close()
            if self.link is not None and os.path.islink(self.link):
                os.unlink(self.link)
            os.close(self.master)
            os.close(self._slave)
