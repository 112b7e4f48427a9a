"""Which project files go into the VM's /lib: what a device's /lib would hold."""

from __future__ import annotations

from pathlib import Path

from ..device_tree import package_dir
from .vm import MicroPythonVM

_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".mpy"}


def _tree(src: Path, dest: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or path.suffix in _SKIP_SUFFIXES:
            continue
        if any(part in _SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        files[f"{dest}/{rel.as_posix()}"] = path.read_bytes()
    return files


def project_files(root: Path | None = None) -> dict[str, bytes]:
    """VM path -> content: codecs/lorafield_codec and everything in firmware/lib/, under /lib;
    without `root` (a checkout), lorafield_codec and lorafield_node from where Python imports
    them (so from a wheel install too)."""
    if root is None:
        files = _tree(package_dir("lorafield_codec"), "/lib/lorafield_codec")
        files.update(_tree(package_dir("lorafield_node"), "/lib/lorafield_node"))
        return files
    files: dict[str, bytes] = {}
    codec = root / "codecs" / "lorafield_codec"
    if codec.is_dir():
        files.update(_tree(codec, "/lib/lorafield_codec"))
    firmware_lib = root / "firmware" / "lib"
    if firmware_lib.is_dir():
        files.update(_tree(firmware_lib, "/lib"))
    return files


def project_vm(heap_kib: int | None = None, **kwargs) -> MicroPythonVM:
    """A VM with the project's device files in /lib (on MicroPython's default sys.path)."""
    vm = MicroPythonVM(heap_kib=heap_kib, **kwargs)
    try:
        vm.write_files(project_files())
    except BaseException:
        vm.close()
        raise
    return vm
