"""The emulated board's MicroPython: the real WebAssembly VM in a node process (vmhost.mjs).

Unlike mpvm.MicroPythonVM (a test fixture), this VM streams output while code runs, lets that
code call the emulated hardware on this side (`hw` callback) and can be interrupted (Ctrl-C).
Its filesystem is kept on the host (`files`), so a soft reset (a fresh VM) keeps it.
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..mpvm.vm import find_micropython_module, find_node

HOST_SCRIPT = Path(__file__).with_name("vmhost.mjs")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _libc_prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # resolved before any fork: the child only makes the call


def _die_with_parent():
    """In the child before exec: SIGKILL when the board process dies, however it dies (a VM
    spinning in a loop that never calls the hardware would otherwise outlive it)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


ROM = Path(__file__).with_name("rom")
ROM_MACHINE = Path(__file__).with_name("rom_machine")
INTERRUPT_GRACE_S = 1.0  # a loop that never calls the hardware cannot see Ctrl-C: restart then


class VmGone(Exception):
    """The node process died (or was killed after an ignored interrupt)."""


class RunResult:
    def __init__(self, ok, exc_type="", traceback="", killed=False):
        self.ok = ok
        self.exc_type = exc_type
        self.traceback = traceback
        self.killed = killed


def rom_files(real_boards=False):
    """The board's read-only ROM (on sys.path before /lib): emulated board support. With
    real_boards, no lorafield_boards of its own (the deployed firmware/boards one runs) but
    `machine`, `esp32` and `onewire` on the emulated hardware instead."""
    files = {}
    for path in sorted(ROM.rglob("*.py")):
        rel = path.relative_to(ROM).as_posix()
        if real_boards and (rel.startswith("lib/lorafield_boards/") or rel == "lib/machine.py"):
            continue
        files["/rom/" + rel] = path.read_bytes()
    if real_boards:
        for path in sorted(ROM_MACHINE.rglob("*.py")):
            files["/rom/" + path.relative_to(ROM_MACHINE).as_posix()] = path.read_bytes()
    return files


class BoardVM:
    runtime = "webassembly"
    version = "MicroPython v1.27.0 on 2025-12-09"  # the npm package's build, for the banner

    def __init__(self, heap_kib=512, real_boards=False):
        self.heap_kib = heap_kib
        self.real_boards = real_boards
        self._module = find_micropython_module()
        self._node = find_node()
        self._proc = None
        self._buf = b""
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self):
        """A fresh interpreter with the board's filesystem (what a soft reset gives)."""
        self.stop()
        self._proc = subprocess.Popen(
            [self._node, str(HOST_SCRIPT), str(self._module), str(self.heap_kib * 1024)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self._buf = b""
        ready = self._read_message(None)
        if not ready.get("ready"):
            raise VmGone(f"MicroPython VM failed to start: {ready}")
        entries = [{"path": d, "dir": True} for d in sorted(self.dirs)]
        entries += [
            {"path": p, "b64": base64.b64encode(d).decode()}
            for p, d in {**self.files, **rom_files(self.real_boards)}.items()
        ]
        self._request({"op": "write", "files": entries})
        self._request(
            {
                "op": "run",
                "code": "exec(open('/rom/lib/_board_boot.py').read(), {})",
                "single": False,
            }
        )

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def alive(self):
        return self._proc is not None and self._proc.poll() is None

    def sync_files(self):
        """Copy the VM's filesystem to the host (before a restart or on exit)."""
        if not self.alive():
            return
        reply = self._request({"op": "dump"})
        self.files = {f["path"]: base64.b64decode(f["b64"]) for f in reply["files"]}
        self.dirs = set(reply["dirs"])

    # -- protocol -----------------------------------------------------------------------
    def _send(self, obj):
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(obj).encode() + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise VmGone("MicroPython VM is gone") from None

    def _read_message(self, extra_fd, on_extra=None):
        """Next JSON line from the VM; meanwhile `on_extra()` is called when extra_fd is
        readable. Returns None when an interrupt went unanswered for INTERRUPT_GRACE_S."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            fds = [fd] if extra_fd is None else [fd, extra_fd]
            timeout = None
            if self._interrupt_at is not None:
                timeout = max(0.0, self._interrupt_at + INTERRUPT_GRACE_S - time.monotonic())
            readable, _, _ = select.select(fds, [], [], timeout)
            if not readable:
                return None
            if extra_fd is not None and extra_fd in readable and on_extra is not None:
                on_extra()
            if fd in readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise VmGone("MicroPython VM exited")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def _request(self, req):
        self._send(req)
        reply = self._read_message(None)
        if not reply.get("ok"):
            raise VmGone(f"VM request {req['op']} failed: {reply.get('traceback')}")
        return reply

    def run(self, code, single=False, output=None, hw=None, input_fd=None, on_input=None):
        """Run code in __main__. `output(text)` gets its output as it comes; `hw(request)`
        answers hardware calls; `on_input()` is called when input_fd is readable and returns
        True for an interrupt (Ctrl-C), delivered as KeyboardInterrupt at the code's next
        hardware call. Code that makes none within INTERRUPT_GRACE_S is stopped by killing
        the VM (RunResult.killed). Returns a RunResult."""
        if not self.alive():
            self.start()
        if single:
            code = f"exec(compile({code!r}, '<stdin>', 'single'))"
        self._send({"op": "run", "code": code})
        self._interrupt_at = None

        def on_extra():
            if on_input is not None and on_input() and self._interrupt_at is None:
                self._interrupt_at = time.monotonic()

        while True:
            try:
                msg = self._read_message(input_fd, on_extra)
            except VmGone:
                self.stop()
                return RunResult(False, "VmGone", "MicroPython VM exited\n", killed=True)
            if msg is None:  # the code ignored Ctrl-C for a whole grace period
                self.stop()
                self._interrupt_at = None
                return RunResult(False, "KeyboardInterrupt", "KeyboardInterrupt: \n", True)
            if "out" in msg:
                if output is not None:
                    output(msg["out"])
            elif "hw" in msg:
                if self._interrupt_at is not None:
                    self._interrupt_at = None
                    answer = {"interrupt": True}
                elif hw is None:
                    answer = {"err": "OSError", "args": [19]}
                else:
                    answer = hw(msg["hw"])
                self._send(answer)
            elif msg.get("done"):
                self._interrupt_at = None
                if msg.get("fatal"):
                    self.stop()
                traceback = msg.get("traceback", "")
                if single:  # drop the frame of the exec() wrapper
                    traceback = traceback.replace('  File "<stdin>", line 1, in <module>\n', "", 1)
                return RunResult(msg["ok"], msg.get("type", ""), traceback, bool(msg.get("fatal")))

    _interrupt_at = None
