"""Run Python code under the real MicroPython VM (the WebAssembly build, hosted by node).

One node process hosts one VM for the lifetime of a `MicroPythonVM`, so many `run()` calls
share it (start-up costs ~0.2 s; a round trip costs well under a millisecond of VM time).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

HOST_SCRIPT = Path(__file__).with_name("host.mjs")
NPM_PACKAGE = "@micropython/micropython-webassembly-pyscript"
DEFAULT_HEAP_KIB = 1024
DEFAULT_TIMEOUT_S = 30.0
_SETUP_HINT = (
    "run `make test` (or `make setup`) in a lorafield checkout, or set LORAFIELD_NODE_MODULES "
    f"to a node_modules holding {NPM_PACKAGE}"
)


class MicroPythonError(Exception):
    """A MicroPython exception escaped `run()`; `traceback` is MicroPython's own text."""

    def __init__(self, traceback: str, exc_type: str = "", stdout: str = ""):
        super().__init__(traceback.rstrip())
        self.traceback = traceback
        self.exc_type = exc_type
        self.stdout = stdout


class MicroPythonTimeout(MicroPythonError):
    """The VM did not answer in time; the node process was killed (state is lost)."""


class HeapLimitExceeded(MicroPythonError):
    """The code needed more than the VM's initial heap: the port added a split heap."""


class MicroPythonUnavailable(RuntimeError):
    """node or the npm MicroPython package is missing."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def find_micropython_module(node_modules: Path | None = None) -> Path:
    """Locate micropython.mjs from the pinned npm package, or raise MicroPythonUnavailable."""
    if node_modules is None:
        env = os.environ.get("LORAFIELD_NODE_MODULES")
        node_modules = Path(env) if env else repo_root() / "node_modules"
    module = node_modules / NPM_PACKAGE / "micropython.mjs"
    if not module.is_file():
        raise MicroPythonUnavailable(f"{module} not found: {_SETUP_HINT}")
    return module


def find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise MicroPythonUnavailable(f"node is not on PATH: install Node.js 18+; {_SETUP_HINT}")
    return node


class MicroPythonVM:
    """A persistent MicroPython VM.

    heap_kib: the GC heap the VM starts with. When set, every call checks afterwards that the
        GC total reported by `micropython.mem_info()` did not grow (this port adds split heaps
        instead of raising MemoryError) and raises HeapLimitExceeded if it did. When None, the
        VM starts with 1 MiB and may grow freely.
    timeout_s: per-call limit; on expiry the process is killed and MicroPythonTimeout raised.

    After a timeout, a crash or HeapLimitExceeded the VM is restarted on the next call with the
    files written so far (globals are lost).
    """

    def __init__(self, heap_kib: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        if heap_kib is not None and (not isinstance(heap_kib, int) or heap_kib < 16):
            raise ValueError(f"heap_kib must be an int >= 16, got {heap_kib!r}")
        self.heap_kib = heap_kib
        self.timeout_s = timeout_s
        self._module = find_micropython_module()
        self._node = find_node()
        self._files: dict[str, bytes] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[bytes | None] = queue.Queue()
        self._stderr_tail: list[bytes] = []
        self.gc_total_initial: int | None = None
        self.gc_total: int | None = None
        self.start_seconds: float = 0.0
        self._start()

    # -- process management -------------------------------------------------------------

    def _start(self) -> None:
        heap = (self.heap_kib or DEFAULT_HEAP_KIB) * 1024
        t0 = time.perf_counter()
        self._replies = queue.Queue()
        self._stderr_tail = []
        self._proc = subprocess.Popen(
            [self._node, str(HOST_SCRIPT), str(self._module), str(heap)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._pump_stdout, args=(self._proc,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self._proc,), daemon=True).start()
        ready = self._receive("start-up")
        if not ready.get("ok"):
            self._kill()
            detail = ready.get("traceback")
            raise MicroPythonUnavailable(f"MicroPython VM failed to start: {detail}")
        self.gc_total_initial = self.gc_total = ready["gc_total"]
        if self._files:
            self._request({"op": "write", "files": self._encode(self._files)}, "write files")
        self.start_seconds = time.perf_counter() - t0

    def _pump_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _pump_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr_tail = (self._stderr_tail + [line])[-20:]

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def _receive(self, what: str) -> dict:
        try:
            line = self._replies.get(timeout=self.timeout_s)
        except queue.Empty:
            self._kill()
            raise MicroPythonTimeout(
                f"MicroPython VM did not finish {what} within {self.timeout_s} s (killed)",
                "Timeout",
            ) from None
        if line is None:
            self._kill()
            tail = b"".join(self._stderr_tail).decode("utf-8", "replace")
            raise MicroPythonError(f"MicroPython host exited during {what}:\n{tail}", "HostExit")
        return json.loads(line)

    def _request(self, req: dict, what: str) -> dict:
        if self._proc is None:
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(req).encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            self._kill()
            raise MicroPythonError(f"MicroPython host is gone ({what})", "HostExit") from None
        reply = self._receive(what)
        self.gc_total = reply.get("gc_total")
        # The heap check comes first: code that outgrew the heap would have hit MemoryError on
        # the device, whatever happened after.
        self._check_heap(reply)
        if not reply.get("ok"):
            if reply.get("fatal"):
                self._kill()
            raise MicroPythonError(
                reply.get("traceback", ""), reply.get("type", ""), reply.get("stdout", "")
            )
        return reply

    def _check_heap(self, reply: dict) -> None:
        if self.heap_kib is None or self.gc_total is None or self.gc_total_initial is None:
            return
        if self.gc_total > self.gc_total_initial:
            grown, initial = self.gc_total, self.gc_total_initial
            self._kill()
            then = ""
            if not reply.get("ok"):
                then = f"; the code then raised:\n{reply.get('traceback', '')}"
            raise HeapLimitExceeded(
                f"heap limit of {self.heap_kib} KiB exceeded: MicroPython's GC total grew from "
                f"{initial} to {grown} bytes (a split heap was added){then}",
                "HeapLimitExceeded",
                reply.get("stdout", ""),
            )

    @staticmethod
    def _encode(files: dict[str, bytes]) -> list[dict]:
        return [{"path": p, "b64": base64.b64encode(d).decode()} for p, d in files.items()]

    # -- public API ---------------------------------------------------------------------

    def run(self, code: str) -> str:
        """Execute `code` in the VM's __main__ and return what it printed to stdout."""
        return self._request({"op": "run", "code": code}, "run()")["stdout"]

    def write_file(self, path: str, data: bytes | str) -> None:
        """Write one file into the VM's filesystem (parent folders are created)."""
        self.write_files({path: data})

    def write_files(self, files: dict[str, bytes | str]) -> None:
        encoded = {
            _vm_path(p): d.encode() if isinstance(d, str) else bytes(d) for p, d in files.items()
        }
        self._files.update(encoded)
        self._request({"op": "write", "files": self._encode(encoded)}, "write_file()")

    def close(self) -> None:
        self._kill()

    def __enter__(self) -> MicroPythonVM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._kill()
        except Exception:
            pass


def _vm_path(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"VM paths are absolute (start with /), got {path!r}")
    return path
