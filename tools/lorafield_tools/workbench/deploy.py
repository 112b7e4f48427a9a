"""Deploy one fleet device's firmware and config to a board over its serial port.

1. probe the board (sys.platform, sys.implementation version/_mpy/_machine, the emulated
   board's identity) and refuse a MicroPython that is too old or a port/board that does not
   match the board the firmware is built for;
2. build: main.py as source, the packages compiled by mpy-cross for the board's .mpy version
   and native architecture (or sources with compile=False), plus /lorafield.json;
3. hash every target file on the board and write only those that differ; remove files an
   earlier deploy wrote (the manifest /.lorafield-manifest.json) that are no longer built;
4. hash the written files on the board again and compare; write the manifest last.
"""

from __future__ import annotations

import hashlib
import json
import posixpath

from lorafield_node.pinmaps import MCU

from .build import build
from .config import CONFIG_PATH, device_config

# The oldest MicroPython accepted: 1.23 introduced .mpy 6.3, which mpy-cross 1.27 emits;
# the firmware itself is tested on 1.27 (the WebAssembly VM of the test suite).
MIN_VERSION = (1, 23, 0)
MANIFEST_PATH = "/.lorafield-manifest.json"
PORT_OF_MCU = {"esp32": "esp32", "rp2040": "rp2"}  # sys.platform of each MCU's port
# Boards with their own MicroPython build say so in sys.implementation._machine; the ESP32
# LoRa boards run the generic ESP32 firmware, so only the port can be checked for them.
MACHINE_NAMES = {"pico_rfm95w": "Raspberry Pi Pico", "feather_rp2040_rfm95": "Feather RP2040"}


class DeployError(Exception):
    """Deploy refused or failed; one line."""


class DeployReport:
    def __init__(self):
        self.board = None
        self.info = None
        self.written = []
        self.unchanged = []
        self.removed = []
        self.bytes_written = 0

    def summary(self):
        return (
            f"{len(self.written)} written ({self.bytes_written} bytes), "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed; "
            f"{len(self.written)} verified by SHA-256 on the board"
        )


def choose_board(requested, fleet_device, info):
    board = requested or fleet_device.board or (info.emulated[0] if info.emulated else None)
    if board is None:
        raise DeployError("which board? give --board or set board in the fleet entry")
    if board not in MCU:
        raise DeployError(f"unknown board {board!r} (known: {', '.join(sorted(MCU))})")
    return board


def check_compatible(info, board):
    version = ".".join(str(v) for v in info.version)
    if info.version < MIN_VERSION:
        need = ".".join(str(v) for v in MIN_VERSION[:2])
        raise DeployError(f"MicroPython {version} on the board is too old: need {need} or newer")
    port = PORT_OF_MCU[MCU[board]]
    if info.port != port:
        raise DeployError(f"{board} needs MicroPython for {port}, the board runs {info.describe()}")
    if info.emulated and info.emulated[0] != board:
        raise DeployError(f"the board is an emulated {info.emulated[0]}, not a {board}")
    name = MACHINE_NAMES.get(board)
    if name and not info.emulated and name not in info.machine:
        raise DeployError(f"{board} expected ({name}), the board says {info.machine!r}")


# The region modules `region.region(name)` imports (firmware/lib/lorafield_node/region.py):
# a device gets its own region's only (tests/workbench/test_deploy.py checks this table
# against what region() really imports), and the TS009 test app only with certification.
REGION_MODULES = {
    "EU868": ("region_eu868",),
    "US915": ("region_us915", "region_fixed"),
    "AU915": ("region_au915", "region_fixed"),
    "AS923-1": ("region_as923",),
    "AS923-2": ("region_as923",),
    "AS923-3": ("region_as923",),
    "AS923-4": ("region_as923",),
    "IN865": ("region_in865",),
    "KR920": ("region_kr920",),
}


def unused_files(files, settings):
    """The device paths of `files` this device never imports: the other regions' modules,
    testapp without `certification` (saves ~7 KB of flash)."""
    keep = REGION_MODULES.get(settings.get("region", "EU868"), ())
    out = []
    for path in files:
        folder, name = posixpath.split(path)
        if folder != "/lib/lorafield_node":
            continue
        stem = name.rsplit(".", 1)[0]
        other_region = stem.startswith("region_") and stem not in keep
        if other_region or (stem == "testapp" and not settings.get("certification")):
            out.append(path)
    return out


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def deploy(device, fleet_device, board=None, compile=True, out=print, root=None, main=None):
    """main: bytes to deploy as /main.py instead of firmware/main.py (the HIL test build)."""
    report = DeployReport()
    info = report.info = device.probe()
    out(f"board: {info.describe()}")
    board = report.board = choose_board(board, fleet_device, info)
    check_compatible(info, board)
    files = build(info if compile else None, root)
    for path in unused_files(files, fleet_device.settings or {}):
        del files[path]
    if main is not None:
        files["/main.py"] = main
    files[CONFIG_PATH] = device_config(fleet_device, board).encode()
    local = {path: _sha(data) for path, data in files.items()}

    previous = device.read(MANIFEST_PATH)
    try:
        old = json.loads(previous)["files"] if previous else {}
    except (ValueError, KeyError, TypeError):
        old = {}  # a damaged manifest: every file is checked by hash anyway
    on_board = device.hashes(sorted(local))
    changed = sorted(p for p in local if on_board.get(p) != local[p])
    report.unchanged = sorted(set(local) - set(changed))
    report.removed = sorted(p for p in old if p not in local)
    device.remove(report.removed)
    for path in report.removed:
        out(f"  removed {path}")

    parents = {posixpath.dirname(p) for p in changed} - {"/", ""}
    dirs = set()
    for parent in parents:
        while parent not in ("/", ""):
            dirs.add(parent)
            parent = posixpath.dirname(parent)
    device.mkdirs(dirs)
    for n, path in enumerate(changed, 1):
        label = "config" if path == CONFIG_PATH else f"{len(files[path])} bytes"
        out(f"  [{n}/{len(changed)}] {path} ({label})")
        device.write(path, files[path])
        report.bytes_written += len(files[path])
    report.written = changed

    check = device.hashes(changed)
    bad = [p for p in changed if check.get(p) != local[p]]
    if bad:
        raise DeployError(f"{len(bad)} file(s) differ on the board after writing, first {bad[0]}")
    manifest = {"version": 1, "board": board, "dev_eui": fleet_device.dev_eui_hex, "files": local}
    device.write(MANIFEST_PATH, json.dumps(manifest, sort_keys=True).encode())
    return report
