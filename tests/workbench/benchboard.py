"""The emulated board on a pty, as `lorafield emulate board --pty` starts it (a subprocess),
with a fleet of one temperature device for its emulated gateway's network server."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

DEV_EUI = "70b3d57ed0002001"
FLEET = """
[defaults]
join_eui = "70b3d57ed00000ff"

[[device]]
dev_eui = "70b3d57ed0002001"
name = "bench-1"
kind = "temperature"
app_key = "2b7e151628aed2a6abf7158809cf4f3c"
board = "heltec_lora32_v2"
settings = { sensor = "sht31", interval_s = 60 }
"""
APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
LORAFIELD = str(Path(sys.executable).with_name("lorafield"))
MPREMOTE = str(Path(sys.executable).with_name("mpremote"))


class BoardProcess:
    def __init__(self, workdir: Path, speed=500, extra=(), runtime="webassembly"):
        self.runtime = runtime
        self.fleet = workdir / "fleet.toml"
        self.fleet.write_text(FLEET)
        self.fleet.chmod(0o600)
        self.fs = workdir / "board-fs"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [LORAFIELD, "emulate", "board", "--pty", "--fs", str(self.fs),
             "--fleet", str(self.fleet), "--speed", str(speed), "--runtime", runtime, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.path = self.proc.stdout.readline().strip()
        if not self.path.startswith("/dev/"):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"emulated board did not start: {self.path!r} {err}")
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_log(self, needle, timeout=30.0, start=0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.lines[start:]:
                if needle in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not in the board's log:\n" + "\n".join(self.lines))

    def mpremote(self, *args, timeout=60, check=True):
        proc = subprocess.run(
            [MPREMOTE, "connect", self.path, *args], capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(f"mpremote {args} failed: {proc.stdout}{proc.stderr}")
        return proc

    def lorafield(self, *args, timeout=120, subprocess_=False):
        """The lorafield CLI: in this process (its start-up costs seconds), or as the
        installed console script with subprocess_=True."""
        if subprocess_:
            return subprocess.run(
                [LORAFIELD, *args], capture_output=True, text=True, timeout=timeout
            )
        return run_cli(*args)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def runtime_params():
    """pytest params over the board's two MicroPython runtimes; the native one skips, naming
    its package, where its `micropython` binary is not installed (`make setup` installs it)."""
    import pytest
    from lorafield_tools.mpnative import INSTALL_HINT, native_available

    missing = pytest.mark.skip(reason=f"no `micropython` binary: {INSTALL_HINT}")
    return [
        pytest.param("webassembly", id="webassembly"),
        pytest.param("micropython", id="micropython", marks=[] if native_available() else missing),
    ]


def run_cli(*args):
    """lorafield_tools.cli.main(args) with its output captured, like subprocess.run."""
    import contextlib
    import io

    from lorafield_tools.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def local_hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def fs_files(root: Path) -> dict[str, bytes]:
    return {
        "/" + p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }
