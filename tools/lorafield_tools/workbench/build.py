"""What goes onto a device, as {device path: bytes}: /main.py (source: MicroPython runs main.py,
never main.mpy) and, compiled with mpy-cross for the device's .mpy version and architecture,
lorafield_node, lorafield_codec and lorafield_boards under /lib."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from .. import device_tree
from ..mpcheck.mpy import MpyCompileError, mpy_cross_binary

# sys.implementation._mpy bits 10..13: MP_NATIVE_ARCH_* of MicroPython's py/persistentcode.h
MPY_ARCHES = {
    1: "x86",
    2: "x64",
    3: "armv6",
    4: "armv6m",
    5: "armv7m",
    6: "armv7em",
    7: "armv7emsp",
    8: "armv7emdp",
    9: "xtensa",
    10: "xtensawin",
    11: "rv32imc",
}
PACKAGES = (
    ("firmware/lib/lorafield_node", "/lib/lorafield_node"),
    ("codecs/lorafield_codec", "/lib/lorafield_codec"),
    ("firmware/boards/lorafield_boards", "/lib/lorafield_boards"),
)


class BuildError(Exception):
    pass


def sources(root=None):
    """[(source file, device path of its .py)] for everything that goes to the device: from
    the checkout `root`, or by default from where Python imports the device packages (this
    checkout, or site-packages when lorafield is installed from a wheel)."""
    if root is None:
        try:
            folders = [(device_tree.package_dir(d.rsplit("/", 1)[1]), d) for _, d in PACKAGES]
        except device_tree.DeviceCodeMissing as exc:
            raise BuildError(str(exc)) from None
        found = [(device_tree.main_py(), "/main.py")]
    else:
        root = Path(root)
        folders = [(root / src, dest) for src, dest in PACKAGES]
        found = [(root / "firmware" / "main.py", "/main.py")]
    for folder, dest in folders:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            found.append((path, dest + "/" + path.relative_to(folder).as_posix()))
    return found


def mpy_header(data):
    """(major version, sub-version, arch index) of a .mpy file's header."""
    if len(data) < 4 or data[0:1] != b"M":
        raise BuildError("not a .mpy file")
    return data[1], data[2] & 3, data[2] >> 2


def loads(data, info):
    """Whether the board loads this .mpy: same major version; a file with native code must
    also match the sub-version and architecture (bytecode-only files carry sub-version 0)."""
    major, sub, arch = mpy_header(data)
    if major != info.mpy_version[0]:
        return False
    return arch == 0 or (sub, arch) == (info.mpy_version[1], info.mpy_arch)


def compile_one(source, device_name, arch_index, out_dir):
    output = Path(out_dir) / (device_name.strip("/").replace("/", "__") + ".mpy")
    cmd = [mpy_cross_binary(), "-o", str(output), "-s", device_name]
    if arch_index:
        if arch_index not in MPY_ARCHES:
            raise BuildError(f"unknown native architecture {arch_index} on the device")
        cmd.append(f"-march={MPY_ARCHES[arch_index]}")
    proc = subprocess.run([*cmd, str(source)], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or not output.is_file():
        raise MpyCompileError(source, proc.stderr or proc.stdout or f"exit {proc.returncode}")
    return output.read_bytes()


def build(compile_for=None, root=None):
    """{device path: bytes}. compile_for: None (sources as they are) or the device's
    DeviceInfo, whose .mpy version every compiled file must match."""
    files = {}
    with tempfile.TemporaryDirectory(prefix="lorafield-mpy-") as tmp:
        for source, dest in sources(root):
            if compile_for is None or dest == "/main.py":
                files[dest] = source.read_bytes()
                continue
            dest_mpy = dest[: -len(".py")] + ".mpy"
            data = compile_one(source, dest, compile_for.mpy_arch, tmp)
            if not loads(data, compile_for):
                have = "{}.{}".format(*mpy_header(data)[:2])
                want = "{}.{}".format(*compile_for.mpy_version)
                raise BuildError(
                    f"mpy-cross emits .mpy {have} but the device loads .mpy {want}: "
                    "update the device's MicroPython, or deploy sources with --no-compile"
                )
            files[dest_mpy] = data
    return files
