"""`lorafield bench firmware`: the LoRaWAN stack's footprint and costs.

* .mpy size of every module of firmware/lib/lorafield_node (mpy-cross);
* per region: the region module's .mpy and the heap a joined node's quiet boot holds;
* MicroPython heap (the real VM): the stack's bytecode when compiled from source on the device,
  and the MAC's data during a join and an uplink through the whole Mac on a scripted radio
  (everything allocated with the GC off: an upper bound of the peak), and per warm uplink;
* flash writes per 1,000 uplinks for FCntUp reservations of N (store records, NOR programs
  and erases on the emulated flash), for the frame counter alone and through the whole Mac
  (which also stores the duty-cycle record "dc" after every frame, so deep sleep cannot
  forget a sub-band's off-time);
* CPU microseconds per uplink on CPython (Mac.send on a scripted radio with a virtual clock:
  frame build, FRMPayload encryption, MIC, channel choice, window timing; no waiting).
"""

import tempfile
import time
from pathlib import Path

from .keys import TEST_APP_KEY, TEST_APP_S_KEY, TEST_NWK_S_KEY

HELP = "LoRaWAN stack: .mpy size, MicroPython heap in join/uplink, flash writes, CPU per uplink"

# The LoRaWAN stack: what a node needs besides its application and board module.
STACK = (
    "aes", "cmac", "phy", "join", "maccmd", "region", "airtime",
    "store", "session", "owed", "adr", "dutycycle", "mac", "sx127x",
)  # fmt: skip

_CODE_HEAP = """
import gc
gc.collect()
a = gc.mem_alloc()
from lorafield_node import mac, sx127x
gc.collect()
print(gc.mem_alloc() - a)
"""


def add_arguments(parser):
    parser.add_argument(
        "--uplinks", type=int, default=2000, help="uplinks timed on CPython (default 2000)"
    )
    parser.add_argument(
        "--reserve",
        type=int,
        action="append",
        help="FCntUp reservation N for the flash figure (repeatable; default 1, 16, 64)",
    )


def run(args):
    from lorafield_tools.cli import UsageError

    if args.uplinks < 10:
        raise UsageError("--uplinks must be at least 10")
    reserves = args.reserve or [1, 16, 64]
    if any(not 1 <= n <= 0x4000 for n in reserves):
        raise UsageError("--reserve must be 1..16384")
    from lorafield_tools.mpcheck.sources import repo_root

    if not (repo_root() / "firmware").is_dir():
        raise UsageError("run it in a lorafield checkout")
    _mpy_sizes()
    _heap()
    _region_heaps()
    for n in reserves:
        _flash_writes(n)
    _mac_flash_writes(16)
    _cpu_per_uplink(args.uplinks)
    return 0


def _mpy_sizes():
    from lorafield_tools.mpcheck.mpy import compile_sources
    from lorafield_tools.mpcheck.sources import repo_root

    root = repo_root()
    package = root / "firmware" / "lib" / "lorafield_node"
    sources = [package / f"{name}.py" for name in STACK]
    with tempfile.TemporaryDirectory() as tmp:
        report = compile_sources(sources, Path(tmp), root)
    parts = ", ".join(f"{f.source.stem} {f.size}" for f in report.files)
    print(f".mpy of the LoRaWAN stack ({len(report.files)} modules): {report.total_bytes} B")
    print(f"  per module: {parts}")


def _heap():
    from lorafield_tools.bench.mac_programs import JOIN_UPLINK, PER_UPLINK, host_join_accept
    from lorafield_tools.cli import UsageError
    from lorafield_tools.mpvm import MicroPythonUnavailable, project_vm

    accept, downlink = host_join_accept(TEST_APP_KEY)
    try:
        with project_vm() as vm:
            code = int(vm.run(_CODE_HEAP).strip())
        with project_vm() as vm:
            out = vm.run(JOIN_UPLINK + f"\nmain({accept!r}, {downlink!r}, True)\n")
        with project_vm() as vm:
            per_uplink = int(vm.run(PER_UPLINK + "\nmain(20)\n").split()[-1])
    except MicroPythonUnavailable as exc:
        raise UsageError(str(exc)) from None
    built, joined, sent = map(int, out.splitlines()[-1].split()[1:])
    print(f"MicroPython heap, stack bytecode compiled from source: {code} B")
    print(
        "MicroPython heap, MAC data, allocated with the GC off (an upper bound of the peak): "
        f"Mac built {built} B, after join {joined} B, after join + uplink {sent} B "
        "(pure-Python AES: the VM has no cryptolib)"
    )
    print(f"MicroPython heap allocated per uplink (warm, no downlink, mean of 20): {per_uplink} B")


# A joined node's ordinary boot (one uplink, nothing heard) in each region, the deployed .mpy
# files in the VM: the heap the stack holds after it (code and state, GC collected). Each
# step is a VM run of its own: the WebAssembly VM frees garbage only in a collection made
# between runs (as the heap tests do).
_REGION_BOOT = (
    """
from lorafield_node.mac import Mac
from lorafield_node.region import region
import lorafield_node.sx127x  # what Mac() builds from board.radio() on a device
""",
    """
mac = Mac(board, region=region(NAME), radio=Radio(board.clock(), []), store=store,
          dev_eui=bytes(8), join_eui=bytes(8), app_key=bytes(16), fcnt_reserve=1)
board.lightsleep(mac.time_until_send_ms())
r = mac.send(1, bytes(4))
assert r.transmissions == 1
""",
)


def region_boot_heap(name, vm_factory):
    """(heap B held after a joined node's quiet boot in region ``name`` (see _REGION_BOOT),
    B of it that the qstr pools grew by); the node joined and sent once on CPython first,
    its flash handed to the VM."""
    from lorafield_node.mac import Mac
    from lorafield_node.region import region

    from lorafield_tools.mpcheck import heap

    from .mac_programs import FAKES, host_join_accept

    ns = {}
    exec(FAKES, ns)  # noqa: S102 - our own fakes
    board, flash = ns["Board"](), ns["RamFlash"]()
    radio = ns["Radio"](board.clock(), [host_join_accept(bytes(16))[0]])
    mac = Mac(
        board, region=region(name), radio=radio, store=ns["Store"](flash),
        dev_eui=bytes(8), join_eui=bytes(8), app_key=bytes(16), fcnt_reserve=1,
    )  # fmt: skip
    if not mac.join():
        raise RuntimeError("the scripted join failed in " + name)
    board.lightsleep(mac.time_until_send_ms())
    mac.send(1, bytes(4))
    with vm_factory() as vm:
        vm.write_files(heap.mpy_files())
        vm.write_file("/lib/cryptolib.py", heap.FAKE_CRYPTOLIB)  # a device's C AES
        vm.run(FAKES + f"\nflash = RamFlash()\nflash.data[:] = {bytes(flash.data)!r}\n")
        vm.run(f"import gc\nboard = Board()\nstore = Store(flash)\nNAME = {name!r}\n")
        vm.run("import micropython\ngc.collect()")
        base = int(vm.run("print(gc.mem_alloc())"))
        pools = _qstr_bytes(vm)
        for step in _REGION_BOOT:
            vm.run(step)
        vm.run("gc.collect()")
        held = int(vm.run("print(gc.mem_alloc())")) - base
        return held, _qstr_bytes(vm) - pools


def _qstr_bytes(vm):
    """Bytes of the interned-name pools (micropython.qstr_info()'s n_total_bytes)."""
    out = vm.run("micropython.qstr_info()")
    return int(out.split("n_total_bytes=")[1].split()[0].strip(","))


def _region_heaps():
    from lorafield_node.region import NAMES

    from lorafield_tools.cli import UsageError
    from lorafield_tools.mpcheck.mpy import compile_sources
    from lorafield_tools.mpcheck.sources import repo_root
    from lorafield_tools.mpvm import MicroPythonUnavailable, MicroPythonVM

    package = repo_root() / "firmware" / "lib" / "lorafield_node"
    modules = {"US915": "region_us915", "AU915": "region_au915"}
    with tempfile.TemporaryDirectory() as tmp:
        report = compile_sources(sorted(package.glob("region*.py")), Path(tmp), repo_root())
    sizes = {f.source.stem: f.size for f in report.files}
    print(
        "per region: the region module's .mpy; heap held after a joined node's quiet boot "
        "(the interned-name pools' growth in it: they grow in steps of twice the last pool, "
        "so a step falls on whichever module's names overflow a pool; without them)"
    )
    base = None
    for name in NAMES:
        module = modules.get(name, "region_" + name.split("-")[0].lower())
        extra = f" + region_fixed.mpy {sizes['region_fixed']} B" if name in modules else ""
        try:
            held, pools = region_boot_heap(name, lambda: MicroPythonVM(heap_kib=256))
        except MicroPythonUnavailable as exc:
            raise UsageError(str(exc)) from None
        own = held - pools
        base = own if base is None else base
        print(
            f"  {name:8} {module}.mpy {sizes[module]} B{extra}, heap {held} B "
            f"(qstr pools {pools} B; without them {own} B, {own - base:+d} B against EU868)"
        )


def _flash_writes(reserve):
    from lorafield_hw.flash import NorFlash
    from lorafield_node.region import eu868
    from lorafield_node.session import ABP, Session
    from lorafield_node.store import Store

    flash = NorFlash(block_size=4096, block_count=4)
    s = Session(Store(flash), eu868(), fcnt_reserve=reserve)
    s.start(ABP, 0x26011234, bytes(16), bytes(16))
    records, programs, erases = s.flash_writes, sum(flash.program_counts), sum(flash.erase_counts)
    for _ in range(1000):
        s.take_fcnt_up()
    print(
        f"flash per 1,000 uplinks, FCntUp reserve N={reserve}: "
        f"{s.flash_writes - records} store records, "
        f"{sum(flash.program_counts) - programs} NOR programs, "
        f"{sum(flash.erase_counts) - erases} sector erases; "
        f"a reset skips at most {reserve} counter(s)"
    )


def _mac_flash_writes(reserve):
    from lorafield_hw.flash import NorFlash
    from lorafield_node.mac import Mac
    from lorafield_node.store import Store

    from lorafield_tools.bench.mac_programs import FAKES

    class CountingStore(Store):
        def __init__(self, *args, **kwargs):
            self.keys = {}
            super().__init__(*args, **kwargs)

        def put(self, key, value):
            written = super().put(key, value)
            if written:
                self.keys[key] = self.keys.get(key, 0) + 1
            return written

    ns = {}
    exec(FAKES, ns)  # noqa: S102 - the fakes shared with the VM programs
    board = ns["Board"]()
    board.rtc_ms = lambda: board.clock().us // 1000  # a sleep-surviving clock, as on devices
    flash = NorFlash(block_size=4096, block_count=4)
    store = CountingStore(flash)
    mac = Mac(board, radio=ns["Radio"](board.clock(), []), store=store, fcnt_reserve=reserve)
    mac.activate_abp(0x26011234, TEST_NWK_S_KEY, TEST_APP_S_KEY)
    store.keys.clear()
    programs, erases = sum(flash.program_counts), sum(flash.erase_counts)
    for _ in range(1000):
        board.lightsleep(mac.time_until_send_ms())
        mac.send(1, bytes(11))
    keys = ", ".join(f"{k} {v}" for k, v in sorted(store.keys.items()))
    print(
        f"flash per 1,000 uplinks through the whole Mac, N={reserve}: "
        f"{sum(store.keys.values())} store records ({keys}), "
        f"{sum(flash.program_counts) - programs} NOR programs, "
        f"{sum(flash.erase_counts) - erases} sector erases"
    )


def _cpu_per_uplink(n):
    from lorafield_node.mac import Mac

    from lorafield_tools.bench.mac_programs import FAKES

    ns = {}
    exec(FAKES, ns)  # noqa: S102 - the fakes shared with the VM programs
    best = None
    for _ in range(3):
        board = ns["Board"]()
        radio = ns["Radio"](board.clock(), [])
        mac = Mac(board, radio=radio, store=ns["Store"](ns["RamFlash"](4096, 4)))
        mac.activate_abp(0x26011234, TEST_NWK_S_KEY, TEST_APP_S_KEY)
        payload = bytes(11)
        total = 0
        for _ in range(n):
            board.lightsleep(mac.time_until_send_ms())
            t0 = time.perf_counter_ns()
            mac.send(1, payload)
            total += time.perf_counter_ns() - t0
        best = total if best is None else min(best, total)
    backend = type(mac._crypto.app).__name__
    print(
        f"CPU per uplink on CPython (Mac.send, 11-byte payload, {backend}, best of 3 x {n}): "
        f"{best / n / 1000:.1f} us"
    )
