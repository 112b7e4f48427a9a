"""Whole nodes on the real MicroPython interpreter in the emulated field.

A node on the `micropython` runtime runs what `lorafield deploy` puts on a board: /main.py,
/lib as bytecode .mpy and its /lorafield.json, with the emulated board's ROM
(`pty_board/rom/lib`: `lorafield_boards.make_board` hands the firmware a proxy of the host's
boot view). Every boot is a fresh interpreter (a deep sleep, a watchdog reset or a power
cut ends the VM's state as it ends a real board's RAM); its hardware calls are answered by
`pty_board.bridge.HardwareBridge` on the boot's `BootView`, in the boot's scheduler process,
so virtual time, the air and the energy meter are the CPython runtime's.

    tree = deployed_tree()                           # once per field: /main.py, /lib, ROM
    runtime = VmNode(tree, config_json, "esp32_bare", vm_factory("native"), heap_kib=110)
    EmulatedBoard(scheduler, runtime.main, "esp32_bare", ...)

The VM is made by a factory (`vm_factory`): `pty_board.vm.BoardVM` (the WebAssembly build
under node) or `lorafield_tools.mpnative.NativeBoardVM` (the unix port, the default), which
share one interface: `.files`, `.dirs`, `start()`, `stop()`, `run(code, output=, hw=)`.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from lorafield_node import board as contract
from lorafield_node.pinmaps import MCU

from ..mpcheck.heap import gc_figures
from ..pty_board.bridge import HardwareBridge
from ..pty_board.world import PORT_OF_MCU, RUN_MAIN_PY

VMS = ("native", "webassembly")

# .mpy v6 bytecode only (no native arch code): what both VMs load (WebAssembly 1.27 reports
# sys.implementation._mpy 6.3 with no arch, the unix port 6.3 with x64); arch 0 files only
# need the major version to match (workbench.build.loads).
BYTECODE_ONLY = SimpleNamespace(mpy_version=(6, 3), mpy_arch=0)

# gc.mem_alloc() at every hardware call: costly (the ROM's header), the soak's business
_SAMPLE = "import lorafield_emulated\nlorafield_emulated.sample_heap()\n"
# Read after each boot's main: what the ROM's lorafield_emulated counted (heap samples at
# every hardware call, the measurement at the boot's end).
_STATS = "import lorafield_emulated as _l\nprint('\\x1estats ' + _l.stats_json())"
_MARK = "\x1e"  # lines the ROM prints for the host, removed from the node's output
_TRACEBACK = "Traceback (most recent call last):"
OUTPUT_TAIL = 4000  # characters of a node's console output kept (tracebacks are kept whole)


class RuntimeUnavailable(RuntimeError):
    """The VM a runtime needs is not installed (one line, for the CLI)."""


def heap_budget_kib(board_key, vm="native", mcu=None):
    """The default heap of a node on `board_key` (or of any board with that `mcu`): the
    device's heap (profiles.HEAP, with its source), scaled for the native 64-bit build's
    larger objects; the 32-bit WebAssembly VM gets the device's figure as it is."""
    from lorafield_hw.profiles import HEAP

    budget = HEAP[board_key]
    if mcu is not None:
        budget = next(b for b in HEAP.values() if b.mcu == mcu)
    if vm == "webassembly":
        return -(-budget.device_heap // 1024)
    return budget.native_heapsize // 1024


def vm_factory(vm="native"):
    """The VM class for `vm`: "native" (lorafield_tools.mpnative, imported here so that a
    field without MicroPython nodes never needs it) or "webassembly" (pty_board.vm)."""
    if vm == "native":
        try:
            from lorafield_tools.mpnative import NativeBoardVM
        except ImportError as exc:
            raise RuntimeUnavailable(
                f"the native MicroPython runtime is not installed: {exc}"
            ) from None
        return NativeBoardVM
    if vm == "webassembly":
        from ..pty_board.vm import BoardVM

        return BoardVM
    raise ValueError(f"vm must be one of {', '.join(VMS)}, got {vm!r}")


def _sources_key():
    from ..workbench.build import sources

    return tuple((str(path), path.stat().st_mtime_ns, dest) for path, dest in sources())


@functools.lru_cache(maxsize=2)
def _tree(key):
    from ..pty_board.vm import rom_files
    from ..workbench.build import build

    files = build(compile_for=BYTECODE_ONLY)
    files.update(rom_files())
    return files


def deployed_tree():
    """{device path: bytes}: /main.py, /lib/... as bytecode .mpy (mpy-cross, as `lorafield
    deploy` compiles them) and the board's ROM. Built once per process and set of sources."""
    return dict(_tree(_sources_key()))


@dataclass
class BootRecord:
    """One boot on the VM: when, its reset cause, and what the ROM measured."""

    at_us: int
    cause: int
    sampled: bool = False  # gc.mem_alloc() sampled at every call (VmNode sample_heap)
    calls: int = 0  # hardware calls through the bridge
    wall_s: float = 0.0  # VM start + run, the host's answers to its calls included
    # with `sampled` (else 0):
    peak_alloc: int = 0  # highest gc.mem_alloc() seen at a hardware call (garbage included)
    fw_alloc: int = 0  # bytes the firmware allocated between calls (lower bound: see ROM)
    bridge_alloc: int = 0  # bytes the ROM's JSON link allocated (emulation only)
    fw_total: int | None = None  # every byte the firmware allocated (MICROPY_MEM_STATS builds)
    link_total: int | None = None  # and the link
    collections: int = 0  # collections seen (gc.mem_alloc() fell between two samples)
    end_live: int | None = None  # after gc.collect() at the boot's end (deep sleep call)
    end_largest_free: int | None = None  # largest free block then, bytes
    heap_total: int | None = None
    block_bytes: int = 16  # the GC's allocation unit (4 machine words)
    ended: str = ""  # DeepSleep / ProcessKilled / returned / the exception type


@dataclass
class VmNodeStats:
    boots: list = field(default_factory=list)  # BootRecord
    errors: list = field(default_factory=list)  # (time_us, traceback text)
    output_tail: str = ""

    @property
    def calls(self):
        return sum(b.calls for b in self.boots)

    @property
    def wall_s(self):
        return sum(b.wall_s for b in self.boots)

    @property
    def memory_errors(self):
        return [e for e in self.errors if "MemoryError" in e[1]]


class VmNode:
    """The `main(view)` of an EmulatedBoard whose firmware runs in a MicroPython VM."""

    def __init__(
        self, tree, config_json, board_key, vm_class, heap_kib, scheduler=None, sample_heap=False
    ):
        self.files = dict(tree)
        self.files["/lorafield.json"] = config_json.encode()
        self.board_key = board_key
        self.port = PORT_OF_MCU[MCU[board_key]]
        self.vm_class = vm_class
        self.heap_kib = heap_kib
        self.scheduler = scheduler
        self.main_code = (_SAMPLE if sample_heap else "") + RUN_MAIN_PY
        self.rtc_memory = b""  # survives deep sleep and resets, not a power cut
        self.stats = VmNodeStats()
        self.vm = None

    # -- one boot -------------------------------------------------------------------------
    def main(self, view):
        cause = view.reset_cause()
        if cause == contract.PWRON_RESET:
            self.rtc_memory = b""
        record = BootRecord(self._now(), cause)
        self.stats.boots.append(record)
        bridge = HardwareBridge(view)
        uid = view.unique_id()
        out = []
        began = time.perf_counter()
        vm = self.vm = self.vm_class(heap_kib=self.heap_kib, real_boards=False)
        try:
            vm.files = dict(self.files)
            vm.dirs = set()
            vm.start()
            result = vm.run(self.main_code, output=out.append, hw=self._handler(bridge, uid))
            if not result.killed:
                vm.run(_STATS, output=out.append)
        finally:
            vm.stop()
            self.vm = None
            record.wall_s = time.perf_counter() - began
            record.calls = bridge.calls
        exit_ = bridge.pending_exit
        if exit_ is not None:
            record.ended = type(exit_).__name__
        elif result.ok:
            record.ended = "returned"
        else:
            record.ended = result.exc_type or "error"
            out.append(result.traceback)
        self._take_output("".join(out), record)
        if exit_ is not None:
            raise exit_

    def _now(self):
        return self.scheduler.now_us if self.scheduler is not None else 0

    def _handler(self, bridge, uid):
        identity = {"board": self.board_key, "port": self.port}

        def handle(req):
            op = req.get("op")
            if op == "identity":
                return identity
            if op == "unique_id":
                return {"hex": uid.hex()}
            if op == "rtc_memory":
                if "set" in req:
                    self.rtc_memory = bytes.fromhex(req["set"])[:2048]  # the ESP32's 2 kB
                return {"hex": self.rtc_memory.hex()}
            answer = bridge.handle(req)
            if answer is None:
                return {"err": "OSError", "args": [19]}
            if "exit" in answer:
                answer["measure"] = True  # the ROM's heap measurement at the boot's end
            return answer

        return handle

    # -- what the boot printed ------------------------------------------------------------
    def _take_output(self, text, record):
        """Split the ROM's measurement lines from the console text; keep tracebacks."""
        console = []
        mem_info = None  # the lines of the ROM's mem_info block, while in it
        free_blocks = None
        for line in text.split("\n"):  # not splitlines(): it splits at \x1e too
            if line.startswith(_MARK):
                body = line[1:].strip()
                if body.startswith("stats "):
                    _apply_stats(record, json.loads(body[len("stats ") :]))
                if mem_info is not None:
                    free_blocks = _apply_mem_info(record, "\n".join(mem_info))
                mem_info = [] if body == "mem_info" else None
                continue
            if mem_info is not None:
                mem_info.append(line)
                continue
            console.append(line)
        console = "\n".join(console)
        if free_blocks is not None:  # block_bytes comes with the stats, after mem_info
            record.end_largest_free = free_blocks * record.block_bytes
        for block in _tracebacks(console):
            self.stats.errors.append((record.at_us, block))
        tail = self.stats.output_tail + console
        self.stats.output_tail = tail[-OUTPUT_TAIL:]


def _apply_mem_info(record, block):
    """The heap itself (gc.mem_free() counts heaps a port may add) from the mem_info the ROM
    printed at the boot's end; returns its largest free block in GC blocks, or None."""
    figures = gc_figures(block)
    if figures is None:
        return None
    record.heap_total = figures[0]
    return figures[3]


def _apply_stats(record, stats):
    record.sampled = "peak" in stats
    record.peak_alloc = stats.get("peak", 0)
    record.fw_alloc = stats.get("fw", 0)
    record.bridge_alloc = stats.get("bridge", 0)
    record.collections = stats.get("collections", 0)
    record.fw_total = stats.get("fw_total")
    record.link_total = stats.get("link_total")
    record.end_live = stats.get("end_live")
    record.block_bytes = stats.get("block_bytes", 16)


def _tracebacks(text):
    """Each traceback in `text` (from its header line to the exception line)."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith(_TRACEBACK):
            j = i + 1
            while j < len(lines) and lines[j].startswith(" "):
                j += 1
            out.append("\n".join(lines[i : j + 1]))
            i = j + 1
        elif lines[i].startswith("MemoryError"):  # printed without a traceback
            out.append(lines[i])
            i += 1
        else:
            i += 1
    return out
