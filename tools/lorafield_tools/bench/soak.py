"""`lorafield bench soak`: one node of a kind on its field-grade setup, for days, with its
deployed firmware in the MicroPython VM on its heap budget (field/vm_runtime.py), through
what a node meets in the field: the join, config downlinks, alarms (parking arrivals, a
flood at a gauge, temperature thresholds crossed every afternoon), a power cut (flash kept:
the session is restored), the firmware's rejoin command (config `rejoin`) and its reboot
command. Events sit at fixed fractions of the run, so a short run has them all too.

Per emulated day: boots, uplinks, joins, the heap as the ROM's hardware link samples it
(`gc.mem_alloc()` at every hardware call, one collection and `mem_info` at the boot's deep
sleep), collections seen, bytes the firmware allocated per uplink, MemoryErrors with their
traceback, and wall time in the VM. Every boot is a fresh interpreter, so what one boot
leaves fragmented the next does not inherit: the figures are per boot, the day's worst.
"""

import shutil
import tempfile
import time

from ..cli import UsageError
from ..field.setups import FIELD_GRADE
from ..field.spec import DownlinkSpec, FieldSpec, GatewaySpec, NodeSpec, gateway_id

HELP = "one node for days on the MicroPython VM with its heap budget: heap, GC, MemoryError"

KINDS = ("parking", "water_level", "temperature")
MCU_NAMES = {"esp32": "ESP32", "rp2040": "RP2040"}
DAY_S = 86400
# (fraction of the run, config command): what the network asks of the node, per kind
COMMON_DOWNLINKS = ((0.70, {"rejoin": True}), (0.85, {"reboot": True}))
DOWNLINKS = {
    "parking": ((0.10, {"thresholds": {"mag_uT": 10}}), (0.30, {"interval_s": 1800})),
    # a whole number of the TPL5110's 15-minute periods (setups.TPL5110_PERIOD_S)
    "water_level": ((0.10, {"interval_s": 1800}), (0.30, {"thresholds": {"rise_mm": 300}})),
    # the afternoon peak (18 degC) crosses 16 degC: an alarm a day, checks every 5 min
    "temperature": ((0.10, {"thresholds": {"high_c": 16}}), (0.30, {"interval_s": 1800})),  # HIGH_C
}
POWER_CUT = (0.55, 1800.0)  # fraction of the run, seconds off (at most a tenth of the run)
FLOOD_AT = 0.40


def add_arguments(parser):
    parser.add_argument("--kind", choices=KINDS, required=True, help="the node's kind")
    parser.add_argument(
        "--days", type=float, default=7.0, metavar="D", help="emulated days (default 7)"
    )
    parser.add_argument(
        "--heap-kib",
        type=int,
        metavar="KIB",
        help="MicroPython heap (default: the board's budget, field/vm_runtime.py)",
    )
    parser.add_argument(
        "--budget",
        choices=("esp32", "rp2040"),
        help="the heap budget of that MCU instead of the node's own board's (e.g. a water "
        "level node's firmware on the ESP32's heap)",
    )
    parser.add_argument(
        "--runtime",
        choices=("micropython", "webassembly", "cpython"),
        default="micropython",
        help="micropython: the native unix port (default); webassembly: the npm build (no "
        "collection while code runs, heap grows instead of MemoryError); cpython, for "
        "comparison (no heap figures)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", metavar="DIR", help="keep the database and fleet file there")


def soak_spec(kind, days, seed=1):
    """The soak's field: one gateway 120 m from one node of `kind` on its field-grade setup."""
    end_s = days * DAY_S
    settings = {}
    scenario = {}
    if kind == "parking":
        scenario = {"arrivals_per_hour": 0.8, "mean_stay_min": 50.0}
    elif kind == "water_level":
        settings = {"thresholds": {"high_mm": 1200}, "mount_height_mm": 3000}
        rise, fall = min(1800.0, 0.05 * end_s), min(14400.0, 0.15 * end_s)
        scenario = {
            "mount_height_mm": 3000,
            "base_level_mm": 400,
            "floods": [[round(FLOOD_AT * end_s), rise, 1500.0, fall]],
        }
    else:
        scenario = {"mean_c": 12.0, "amplitude_c": 6.0}
    at, off = POWER_CUT
    node = NodeSpec(
        f"soak-{kind}",
        kind,
        (120.0, 0.0),
        board=FIELD_GRADE[kind],
        settings=settings,
        scenario=scenario,
        start_s=10.0,
        power_cycles=[(round(at * end_s), min(off, round(0.1 * end_s)))],
    )
    spec = FieldSpec(name=f"soak {kind}", hours=days * 24, seed=seed)
    spec.gateways.append(GatewaySpec("gw", (0.0, 0.0), gateway_id(0)))
    spec.nodes.append(node)
    for share, config in DOWNLINKS[kind] + COMMON_DOWNLINKS:
        spec.downlinks.append(DownlinkSpec(node.name, round(share * end_s), dict(config)))
    return spec.check("soak")


class Day:
    def __init__(self, index):
        self.index = index
        self.boots = []  # vm_runtime.BootRecord (micropython) or boot times (cpython)
        self.sent = self.heard = self.join_requests = self.join_accepts = 0
        self.errors = []


def _kib(n):
    return "-" if n is None else f"{n / 1024:.1f}"


def _days(field, node, days):
    from lorafield_node.phy import JOIN_ACCEPT, JOIN_REQUEST, parse_mhdr

    out = [Day(i) for i in range(max(1, -(-round(days * DAY_S) // DAY_S)))]

    def day_of(t_us):
        return out[min(len(out) - 1, int(t_us // 1_000_000 // DAY_S))]

    if node.vm is not None:
        for boot in node.vm.stats.boots:
            day_of(boot.at_us).boots.append(boot)
        for at_us, text in node.vm.stats.errors:
            day_of(at_us).errors.append((at_us, text))
    else:
        for t_us, _cause in node.board.boots:
            day_of(t_us).boots.append(None)
    for frame in field.air.log:
        day = day_of(frame.start_us)
        kind = parse_mhdr(frame.payload)
        if frame.sender is node.chip:
            if kind == JOIN_REQUEST:
                day.join_requests += 1
            else:
                day.sent += 1
                day.heard += frame.outcome == "received"
        elif kind == JOIN_ACCEPT:
            day.join_accepts += 1
    return out


HEADERS = (
    "day",
    "boots",
    "uplinks sent/heard",
    "joins req/acc",
    "heap peak KiB",
    "held at sleep KiB",
    "largest free KiB (end of day/min)",
    "GCs seen",
    "fw alloc KiB/boot",
    "fw alloc B/uplink",
    "MemoryError",
    "VM wall s",
)


def _fw(boot):
    """Bytes the firmware allocated in a boot: exact where the VM counts allocations."""
    return boot.fw_total if boot.fw_total is not None else boot.fw_alloc


def _row(day, vm):
    boots = [b for b in day.boots if b is not None]
    sleeps = [b for b in boots if b.end_largest_free is not None]
    held = [b.end_live for b in sleeps if b.end_live is not None]
    fw = sum(_fw(b) for b in boots)
    memory = sum("MemoryError" in text for _, text in day.errors)
    free_end = _kib(sleeps[-1].end_largest_free) if sleeps else "-"
    free_min = _kib(min(b.end_largest_free for b in sleeps)) if sleeps else "-"
    return (
        str(day.index + 1),
        str(len(day.boots)),
        f"{day.sent}/{day.heard}",
        f"{day.join_requests}/{day.join_accepts}",
        _kib(max((b.peak_alloc for b in boots), default=None)) if vm else "-",
        _kib(max(held, default=None)) if vm else "-",
        f"{free_end}/{free_min}" if vm else "-",
        str(sum(b.collections for b in boots)) if vm else "-",
        _kib(fw / len(boots)) if vm and boots else "-",
        (f"{fw / day.sent:,.0f}" if day.sent else "-") if vm else "-",
        str(memory) if vm else "-",
        f"{sum(b.wall_s for b in boots):.1f}" if vm else "-",
    )


def _table(rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def run(args):
    from ..field import vm_runtime
    from ..field.run import Field

    if not 0 < args.days <= 366:
        raise UsageError("--days must be in (0, 366]")
    if args.heap_kib is not None and not 16 <= args.heap_kib <= 1 << 20:
        raise UsageError("--heap-kib must be 16..1048576")
    from ..field.cli import runtime_and_vm

    args.runtime, args.vm = runtime_and_vm(args.runtime)
    vm = args.runtime == "micropython"
    if vm:
        try:
            vm_runtime.vm_factory(args.vm)
        except vm_runtime.RuntimeUnavailable as exc:
            raise UsageError(str(exc)) from None
    spec = soak_spec(args.kind, args.days, args.seed)
    node_spec = spec.nodes[0]
    if args.heap_kib is not None and args.budget is not None:
        raise UsageError("give --heap-kib or --budget, not both")
    heap = args.heap_kib or vm_runtime.heap_budget_kib(node_spec.setup.board, args.vm, args.budget)
    out_dir = args.out or tempfile.mkdtemp(prefix="lorafield-soak-")
    where = f"{args.vm} VM, heap {heap} KiB" if vm else "CPython"
    if vm and args.heap_kib is None:
        from lorafield_hw.profiles import HEAP

        mcu = args.budget or HEAP[node_spec.setup.board].mcu
        where += f", the {MCU_NAMES[mcu]} budget"
    print(
        f"soak: {args.kind} on {node_spec.board}, {args.days:g} days, {args.runtime} ({where}), "
        f"seed {args.seed}"
    )
    end_s = spec.hours * 3600
    cut_at, cut_off = node_spec.power_cycles[0]
    events = [f"power cut at {cut_at / 3600:.1f} h for {cut_off / 60:g} min (flash kept)"]
    events += [f"{d.config} at {d.at_s / 3600:.1f} h" for d in spec.downlinks]
    if args.kind == "water_level":
        flood = node_spec.scenario["floods"][0]
        events.append(f"flood to {flood[2]:g} mm from {flood[0] / 3600:.1f} h")
    print("events: join at power-on; " + "; ".join(events) + " (config downlinks, queued then)")
    began = time.perf_counter()
    try:
        field = Field(
            spec,
            out_dir,
            runtime=args.runtime,
            heap_kib=heap if vm else None,
            vm=args.vm,
            heap_samples=True,
        )
        field.run(until_us=round(end_s * 1e6))
        results = field.finish()
        wall = time.perf_counter() - began
        node = field.nodes[0]
        days = _days(field, node, args.days)
        print(_table([_row(day, vm) for day in days]))
        result = results.nodes[0]
        statuses = [r[4] or "not taken" for r in results.requested]
        alarms = sum(1 for _, _, kind, data in results.readings if _alarm(kind, data))
        print(
            f"downlinks: {len(statuses)} queued, {statuses.count('sent')} sent; "
            f"{result.joins} joins accepted by the server; {result.readings} readings stored, "
            f"{alarms} of them {ALARM_WORDS[args.kind]}"
        )
        if vm:
            _vm_summary(node, args.vm)
        print(
            f"total: {args.days:g} days emulated in {wall:.1f} s wall"
            + (f" ({node.vm.stats.wall_s:.1f} s in the VM)" if vm else "")
        )
    finally:
        if args.out is None:
            shutil.rmtree(out_dir, ignore_errors=True)
    return 0


ALARM_WORDS = {
    "parking": "occupancy changes",
    "water_level": "alarms",
    "temperature": "at or over the 16 degC threshold (a crossing is sent at once)",
}
HIGH_C = 16


def _alarm(kind, data):
    if kind == "parking":
        return True  # every parking reading is a change (arrival or departure)
    if kind == "temperature":  # the codec's reading has no alarm field
        return data.get("temperature_c", -99) >= HIGH_C
    return bool(data.get("alarm"))


def _vm_summary(node, vm):
    stats = node.vm.stats
    boots = stats.boots
    exact = bool(boots) and all(b.fw_total is not None for b in boots)
    link = sum(b.link_total if exact else b.bridge_alloc for b in boots)
    calls = stats.calls
    print(
        f"VM: {len(boots)} boots, {calls:,} hardware calls "
        f"({calls / max(1, len(boots)):,.0f} per boot), {link / max(1, calls):,.0f} B allocated "
        "per call by the ROM's JSON link (emulation only, not counted above)"
    )
    if stats.errors:
        seen = {}  # a crash loop repeats one traceback at every boot: each once, counted
        for at_us, text in stats.errors:
            seen.setdefault(text.strip(), []).append(at_us)
        for text, times in seen.items():
            when = f"at {times[0] / 3.6e9:.2f} h"
            if len(times) > 1:
                when = f"{len(times)} times, {times[0] / 3.6e9:.2f} h to {times[-1] / 3.6e9:.2f} h"
            print(f"traceback ({when}):")
            print("    " + text.replace("\n", "\n    "))
    else:
        print("MemoryError: none; tracebacks: none")
    if vm == "webassembly":
        print(
            "webassembly: no collection while code runs and heap added instead of a "
            "MemoryError: heap columns count what a boot allocated; the largest free block is "
            "the last added heap's; run on the native VM for the budget"
        )
    missing = [
        "the VM's own count of collections (GCs seen = gc.mem_alloc() fell between two "
        "samples, a lower bound)",
        "the live heap's high-water between collections (heap peak includes garbage; held at "
        "sleep is after a collection at the deep sleep)",
    ]
    if not exact:
        missing.append(
            "bytes allocated in total (this VM has no micropython.mem_total(): firmware "
            "bytes are the growth between hardware calls, a collection in between hides some)"
        )
    print("not measured: " + "; ".join(missing))
