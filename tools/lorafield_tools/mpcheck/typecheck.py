"""Type-check device code with pyright against the MicroPython stubs of one port.

Each port's stubs (micropython-<port>-stubs, pinned in tools/stubs/<port>.txt) live in their
own folder, .venv/stubs/<port>, installed with `pip install --target` by bootstrap.sh. That
folder is both pyright's stubPath (machine.pyi, time.pyi, ... at its top level) and its
typeshedPath: the stubs depend on micropython-stdlib-stubs, which installs `stdlib/` there, so
stdlib modules resolve to MicroPython's reduced set (no dataclasses, enum, ...) instead of
CPython's. The host virtualenv is hidden (an empty venv is configured), so neither host
packages nor the other port's stubs are visible.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .sources import DEVICE_DIRS, repo_root

PORTS = ("esp32", "rp2")
_HINT = "run `make test` (or `make setup`) to install them"


class TypecheckUnavailable(RuntimeError):
    """pyright or a port's stubs are not installed, or pyright itself failed."""


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    severity: str
    rule: str
    message: str

    def __str__(self) -> str:
        rule = f" ({self.rule})" if self.rule else ""
        return f"{self.file}:{self.line}:{self.column} - {self.severity}: {self.message}{rule}"


def stubs_dir(port: str, root: Path | None = None) -> Path:
    if port not in PORTS:
        raise ValueError(f"unknown port {port!r}; expected one of {', '.join(PORTS)}")
    path = (root or repo_root()) / ".venv" / "stubs" / port
    if not (path / "machine.pyi").is_file() or not (path / "stdlib" / "builtins.pyi").is_file():
        raise TypecheckUnavailable(f"MicroPython {port} stubs missing in {path}: {_HINT}")
    return path


def pyright_binary(root: Path | None = None) -> Path:
    path = (root or repo_root()) / "node_modules" / ".bin" / "pyright"
    if not path.exists():
        raise TypecheckUnavailable(f"pyright not found at {path}: {_HINT}")
    return path


# The stub declares `const(expr, /)`: positional-only, which MicroPython's own syntax cannot
# express, so the mandated CPython fallback `def const(x): return x` in the `except ImportError`
# branch can never match it. Only that one diagnostic, on that import line, is dropped.
_CONST_IMPORT = re.compile(r"^\s*from\s+micropython\s+import\s+.*\bconst\b")


def _is_const_fallback(diag: Diagnostic) -> bool:
    if diag.rule != "reportAssignmentType":
        return False
    try:
        lines = Path(diag.file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return 0 < diag.line <= len(lines) and bool(_CONST_IMPORT.match(lines[diag.line - 1]))


def typecheck(
    port: str,
    paths: list[Path],
    extra_paths: list[Path] | None = None,
    root: Path | None = None,
    timeout_s: float = 300,
) -> list[Diagnostic]:
    """Run pyright on `paths` against `port`'s stubs; return its errors and warnings."""
    root = root or repo_root()
    stubs = stubs_dir(port, root)
    pyright = pyright_binary(root)
    with tempfile.TemporaryDirectory(prefix=f"lorafield-pyright-{port}-") as tmp:
        tmpdir = Path(tmp)
        # An empty virtualenv layout: pyright then looks for third-party packages here only,
        # instead of asking the host `python` for its site-packages.
        (tmpdir / "venv" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
        config = {
            # pyright ignores absolute "include" entries: they must be relative to the config.
            "include": [os.path.relpath(p.resolve(), tmpdir) for p in paths],
            "exclude": ["**/__pycache__", "**/*.egg-info"],
            "extraPaths": [str(p.resolve()) for p in (extra_paths or [])],
            "stubPath": str(stubs),
            "typeshedPath": str(stubs),
            "venvPath": str(tmpdir),
            "venv": "venv",
            "pythonVersion": "3.11",
            "typeCheckingMode": "standard",
            # Stub-only modules (machine, network, ...) have no source on the host by nature.
            "reportMissingModuleSource": "none",
        }
        config_path = tmpdir / "pyrightconfig.json"
        config_path.write_text(json.dumps(config, indent=2))
        proc = subprocess.run(
            [str(pyright), "--outputjson", "-p", str(config_path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=tmpdir,
        )
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise TypecheckUnavailable(
            f"pyright failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        ) from None
    if proc.returncode not in (0, 1):
        raise TypecheckUnavailable(f"pyright failed (exit {proc.returncode}): {proc.stderr}")
    if result.get("summary", {}).get("filesAnalyzed", 0) == 0:
        raise TypecheckUnavailable(f"pyright analysed no file in {[str(p) for p in paths]}")
    diags = []
    for d in result.get("generalDiagnostics", []):
        start = d.get("range", {}).get("start", {})
        diag = Diagnostic(
            file=d.get("file", ""),
            line=start.get("line", -1) + 1,
            column=start.get("character", -1) + 1,
            severity=d.get("severity", ""),
            rule=d.get("rule", ""),
            message=d.get("message", ""),
        )
        if diag.severity in ("error", "warning") and not _is_const_fallback(diag):
            diags.append(diag)
    return diags


def typecheck_project(port: str, root: Path | None = None) -> list[Diagnostic]:
    """pyright on firmware/ and codecs/; their import roots are on extraPaths."""
    root = root or repo_root()
    paths = [root / d for d in DEVICE_DIRS if (root / d).is_dir()]
    # firmware/boards holds lorafield_boards (the device's /lib/lorafield_boards)
    extra = [root / "firmware" / "lib", root / "firmware" / "boards", root / "codecs"]
    return typecheck(port, paths, extra_paths=[p for p in extra if p.is_dir()], root=root)
