"""A MicroPython board on a serial port, through mpremote's SerialTransport (its raw REPL and
raw-paste code; nothing here speaks the REPL protocol itself)."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import time

from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

READ_TIMEOUT_S = 5.0
WRITE_CHUNK = 1024  # bytes per raw-paste exec (flow control keeps the board's buffer safe)

_PROBE = """
import sys
try:
    import lorafield_emulated as _e
    _emu = _e.identity()
except ImportError:
    _emu = None
try:
    import machine, binascii
    _uid = binascii.hexlify(machine.unique_id()).decode()
except Exception:
    _uid = None
print(repr({"platform": sys.platform, "version": tuple(sys.implementation.version[:3]),
 "mpy": getattr(sys.implementation, "_mpy", 0), "machine": getattr(sys.implementation,
 "_machine", ""), "emulated": _emu, "uid": _uid}))
"""

_HASHES = """
import binascii
try:
    import hashlib
    hashlib.sha256
except (ImportError, AttributeError):
    hashlib = None
def _h(p):
    if hashlib is None:
        return "nohash"
    try:
        f = open(p, "rb")
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(m[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
print(repr({p: _h(p) for p in %r}))
"""

_EACH = "import os\nfor p in {paths!r}:\n try:\n  {call}(p)\n except OSError:\n  pass\n"


class DeviceError(Exception):
    """The board did not answer as a MicroPython board should; one line."""


class DeviceInfo:
    def __init__(self, platform, version, mpy, machine, emulated=None, uid=None):
        self.platform = platform
        self.version = tuple(version)
        self.mpy = mpy
        self.machine = machine
        self.emulated = tuple(emulated) if emulated else None  # (board key, port)
        self.uid = bytes.fromhex(uid) if uid else None

    @property
    def port(self):
        return self.emulated[1] if self.emulated else self.platform

    @property
    def mpy_version(self):
        """(major, sub) of the .mpy files this MicroPython loads (sys.implementation._mpy)."""
        return self.mpy & 0xFF, (self.mpy >> 8) & 3

    @property
    def mpy_arch(self):
        """Native-code architecture index (0: none, bytecode only)."""
        return (self.mpy >> 10) & 0xF

    def describe(self):
        version = ".".join(str(v) for v in self.version)
        what = f"emulated {self.emulated[0]}" if self.emulated else self.machine
        return f"MicroPython {version} on {self.port} ({what})"


class Device:
    def __init__(self, port, baudrate=115200, answer_timeout_s=10.0):
        self.port = port
        self.answer_timeout_s = answer_timeout_s
        try:
            # A finite read timeout: mpremote reads a pty byte by byte, blocking, so a port
            # where nothing answers would hang it forever instead of failing in ~10 s.
            self.transport = SerialTransport(port, baudrate=baudrate, timeout=READ_TIMEOUT_S)
        except TransportError as exc:
            raise DeviceError(f"{port}: cannot open ({exc})") from None
        self._raw = False

    def close(self):
        try:
            if self._raw:
                self.transport.exit_raw_repl()
        finally:
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _enter_raw(self):
        if not self._raw:
            try:  # Ctrl-C stops main.py; no soft reset (that would run boot.py only)
                with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints the noise
                    self.transport.enter_raw_repl(
                        soft_reset=False, timeout_overall=self.answer_timeout_s
                    )
            except TransportError as exc:
                raise DeviceError(
                    f"{self.port}: no MicroPython REPL answers ({exc}); a board in deep sleep "
                    "cannot: press its reset button and retry"
                ) from None
            self._raw = True

    def exec(self, code):
        self._enter_raw()
        try:
            return self.transport.exec(code)
        except TransportExecError as exc:
            last = exc.error_output.strip().splitlines()[-1:] or ["?"]
            raise DeviceError(f"{self.port}: the board raised {last[0]}") from None
        except TransportError as exc:
            raise DeviceError(f"{self.port}: {exc}") from None

    def eval_repr(self, code):
        out = self.exec(code).decode("utf-8", "replace").strip()
        try:
            return ast.literal_eval(out)
        except (ValueError, SyntaxError):
            raise DeviceError(f"{self.port}: unexpected answer {out[:60]!r}") from None

    def probe(self):
        return DeviceInfo(**self.eval_repr(_PROBE))

    def hashes(self, paths):
        """{path: sha256 hex or None (missing)}; computed on the board (hashlib), or by
        reading the file back where the board has no sha256."""
        result = self.eval_repr(_HASHES % (list(paths),))
        for path, digest in result.items():
            if digest == "nohash":
                data = self.read(path)
                result[path] = None if data is None else hashlib.sha256(data).hexdigest()
        return result

    def read(self, path):
        self._enter_raw()
        try:
            return bytes(self.transport.fs_readfile(path))
        except (OSError, TransportError):
            return None

    def mkdirs(self, dirs):
        if dirs:
            ordered = sorted(dirs, key=lambda d: (d.count("/"), d))  # parents first
            self.exec(_EACH.format(paths=ordered, call="os.mkdir"))

    def remove(self, paths):
        if paths:
            self.exec(_EACH.format(paths=sorted(paths), call="os.remove"))

    def write(self, path, data, progress=None):
        self._enter_raw()
        try:
            self.transport.fs_writefile(path, data, WRITE_CHUNK, progress)
        except (OSError, TransportError) as exc:
            raise DeviceError(f"{self.port}: writing {path} failed ({exc})") from None

    def soft_reset(self, wait_s=5.0):
        """Leave the raw REPL and press Ctrl-D in the friendly REPL: a soft reset that runs
        main.py, as on power-up. Returns what the board printed until `soft reboot`."""
        self._enter_raw()
        self.transport.exit_raw_repl()
        self._raw = False
        self.transport.read_until(1, b">>> ", timeout=wait_s)
        self.transport.serial.write(b"\x04")
        seen = self.transport.read_until(1, b"soft reboot\r\n", timeout=wait_s)
        if not seen.endswith(b"soft reboot\r\n"):
            raise DeviceError(f"{self.port}: no soft reboot after Ctrl-D")
        return seen

    def read_output(self, seconds):
        """What the board prints during `seconds` (after a soft reset)."""
        end = time.monotonic() + seconds
        out = b""
        serial = self.transport.serial
        while time.monotonic() < end:
            waiting = serial.in_waiting
            out += serial.read(waiting) if waiting else b""
            if not waiting:
                time.sleep(0.02)
        return out
