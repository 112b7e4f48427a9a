"""`lorafield bench field`: the whole pipeline at scale -- firmware on emulated boards, the
air, the gateway service, the local network server and SQLite.

For each mix of boards (`--mix`, default both: "field", the demo's field-grade setups --
parking on the ESP32 with ULP sampling, water level and temperature behind a TPL5110 power
gate; "dev", every node on the development board sampling in light sleep, parking every
30 s) and each size (default 100, 1,000 and 10,000 nodes, the demo's 12:4:8 mix of kinds,
installed over the first 10 % of the run, placed at random in a 2 km x 1.2 km town with
one gateway per 1,000 nodes, at least two) it runs the field for an emulated span (default
6 h, 1 h and 15 min) in a process of its own (so each row's peak RSS is its own) and prints
one row: wall and CPU seconds, the emulated-to-wall ratio and what a whole day would take at
it, the field's wakes (boots and light-sleep wakes), boots and ULP runs per emulated day,
the uplinks received (joins included) and those lost to collisions, and the peak RSS.

Unless `--no-profile`: where the time went -- a sampling profiler (1 kHz, on the emulation's
thread) attributes each sample to the component of the innermost lorafield frame (firmware,
the ULP, MCU sleep/wake, peripheral models, air, gateway, network server), and the greenlet
switches give each node kind's wall time per node-day (in one process only). `--kind` runs
a field of one kind.

`--workers N` runs the node firmware in N worker processes (field/parallel.py; 0: all in one
process; default: the cores, 0 under PARALLEL_FROM_NODES nodes). CPU seconds and peak RSS
then add up the coordinator and the workers (the RSS as the sum of each process's peak: an
upper bound of the field's), and the profile samples every process.
"""

import collections
import multiprocessing
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
import weakref

from ..cli import UsageError
from ..field.cli import workers_argument
from ..field.parallel import PARALLEL_FROM_NODES, open_field, workers_for
from ..field.setups import DEV_BOARD, FIELD_GRADE
from ..field.spec import FieldSpec, GatewaySpec, NodeSpec, gateway_id

HELP = "whole field pipeline: wall and CPU time at 100, 1,000, 10,000 nodes, two board mixes"

DEFAULT_NODES = "100,1000,10000"
DEFAULT_HOURS = "6,1,0.25"
MIXES = ("field", "dev")
# Components by the path of the innermost lorafield frame (first match); the ULP's translated
# program is compiled code without a file of its own.
COMPONENTS = (
    ("<ulp translation>", "ULP (the sampler's runs)"),
    ("/lorafield_hw/ulp", "ULP (the sampler's runs)"),
    ("/lorafield_node/", "firmware (MAC, apps, drivers, codec)"),
    ("/lorafield_codec/", "firmware (MAC, apps, drivers, codec)"),
    ("/lorafield_hw/air", "air (propagation, collisions)"),
    ("/lorafield_hw/sensors/", "peripheral models (sensors, buses, flash, SX1276)"),
    ("/lorafield_hw/scenarios", "peripheral models (sensors, buses, flash, SX1276)"),
    ("/lorafield_hw/buses", "peripheral models (sensors, buses, flash, SX1276)"),
    ("/lorafield_hw/flash", "peripheral models (sensors, buses, flash, SX1276)"),
    ("/lorafield_hw/sx1276", "peripheral models (sensors, buses, flash, SX1276)"),
    ("/lorafield_hw/radio_bus", "peripheral models (sensors, buses, flash, SX1276)"),
    ("/lorafield_hw/", "MCU sleep/wake (board, energy meter, scheduler, power gate)"),
    ("/lorafield_gateway/lns/", "network server + SQLite"),
    ("/lorafield_gateway/", "gateway service (radio loop, queue, forwarder)"),
    ("/lorafield_tools/field/gateway", "gateway service (radio loop, queue, forwarder)"),
    ("/lorafield_tools/", "field runner"),
)
OTHER = "other (stdlib, greenlet)"
# A parallel field's processes blocked on each other at a window's end (field/parallel.py):
# the coordinator waiting for the workers, a worker for its next window.
WAITING = "waiting at window barriers (parallel field)"
WAIT_FUNCTIONS = ("parallel.py:serve", "parallel.py:_receive")


def add_arguments(parser):
    parser.add_argument("--nodes", default=DEFAULT_NODES, help=f"sizes (default {DEFAULT_NODES})")
    parser.add_argument(
        "--hours", default=DEFAULT_HOURS, help=f"emulated hours per size (default {DEFAULT_HOURS})"
    )
    parser.add_argument(
        "--mix",
        default="field,dev",
        help="board mixes: field (the demo's field-grade setups), dev (dev boards in light "
        "sleep); default both",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-profile", action="store_true", help="skip the sampling profiler")
    parser.add_argument(
        "--workers",
        type=workers_argument,
        help="worker processes for the node firmware (0: one process; default: the cores, "
        f"0 below {PARALLEL_FROM_NODES} nodes)",
    )
    parser.add_argument(
        "--kind",
        choices=KINDS,
        help="a field of this kind only (default: the demo's 12:4:8 mix), for its cost alone",
    )


KINDS = ("parking", "water_level", "temperature")


def bench_spec(nodes, hours, seed, kind=None, mix="dev"):
    rnd = random.Random(f"bench/{seed}/{nodes}")
    spec = FieldSpec(name=f"bench {nodes}", hours=hours, seed=seed)
    gateways = max(2, round(nodes / 1000))
    for i in range(gateways):
        x = 200 + 1600 * (i + 0.5) / gateways
        y = 350 if i % 2 else 850
        spec.gateways.append(GatewaySpec(f"gw-{i + 1}", (x, y), gateway_id(i)))
    install_s = hours * 3600 * 0.1
    for i in range(nodes):
        slot = i % 24
        mixed = "parking" if slot < 12 else "water_level" if slot < 16 else "temperature"
        node_kind = kind or mixed
        settings = {}
        scenario = {}
        if node_kind == "parking" and mix == "dev":
            settings = {"sample_s": 30}
        elif node_kind == "water_level":
            settings = {"thresholds": {"high_mm": 1200}, "mount_height_mm": 3000}
            scenario = {"floods": [[hours * 3600 * 0.4, 1800.0, 1500.0, 3 * 3600.0]]}
        spec.nodes.append(
            NodeSpec(
                f"n{i + 1}",
                node_kind,
                (rnd.uniform(0, 2000), rnd.uniform(0, 1200)),
                # field: what the demo deploys; dev: light-sleep dev boards, parking at
                # 30 s (the workload of the earlier figures in the field README)
                board=FIELD_GRADE[node_kind] if mix == "field" else DEV_BOARD,
                settings=settings,
                scenario=scenario,
                start_s=rnd.uniform(0, install_s),
            )
        )
    return spec.check("bench")


class ProcessClock:
    """Wall time per kind of process, from the greenlet switches (greenlet.settrace): what
    a node kind costs per node-day, all in (its firmware and the emulated chips, buses and
    sensors it drives), next to the gateways' radio loops (gateway service) and the
    scheduler's own callbacks (the air, chip timers, scenario events, and the network server
    with SQLite, which the field hands a frame when its de-duplication window closes)."""

    SCHEDULER = "scheduler callbacks (air, chips, scenarios; the server + SQLite per frame)"
    GATEWAYS = "gateways (radio loop, queue, local forwarder)"

    def __init__(self, scheduler, spec):
        self.scheduler = scheduler
        self.kinds = {f"{node.name}.main": node.kind for node in spec.nodes}
        self.seconds = collections.Counter()
        self._labels = weakref.WeakKeyDictionary()  # greenlet -> label (a boot's ends with it)
        self._since = None
        self._previous = None

    def _label(self, glet):
        label = self._labels.get(glet)
        if label is None:
            label = self.GATEWAYS  # a process not of a node
            for process in reversed(self.scheduler.processes):  # a new greenlet: a new boot
                if process._greenlet is glet:
                    label = self.kinds.get(process.name, self.GATEWAYS)
                    break
            self._labels[glet] = label
        return label

    def _trace(self, event, args):
        if event in ("switch", "throw"):
            now = time.perf_counter()
            self.seconds[self._label(args[0])] += now - self._since
            self._since = now

    def start(self):
        import greenlet

        self._labels[greenlet.getcurrent()] = self.SCHEDULER
        self._since = time.perf_counter()
        self._previous = greenlet.settrace(self._trace)
        return self

    def stop(self):
        import greenlet

        greenlet.settrace(self._previous)
        self.seconds[self.SCHEDULER] += time.perf_counter() - self._since


class Sampler:
    """Samples the emulation thread's stack every `interval_s` from a daemon thread."""

    def __init__(self, thread_id, interval_s=0.001):
        self.thread_id = thread_id
        self.interval_s = interval_s
        self.counts = collections.Counter()
        self.functions = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self):
        # The sampler needs the GIL to look: with the default 5 ms switch interval it would
        # mostly get it when the emulation blocks in C (sqlite3), biasing the profile.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0001)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(self._interval)

    def _main(self):
        while not self._stop.wait(self.interval_s):
            frame = sys._current_frames().get(self.thread_id)
            layer, function = OTHER, None
            while frame is not None:
                path = frame.f_code.co_filename.replace("\\", "/")
                found = next((name for key, name in COMPONENTS if key in path), None)
                if found is not None:
                    layer = found
                    function = f"{path.rsplit('/', 1)[-1]}:{frame.f_code.co_name}"
                    if function in WAIT_FUNCTIONS:
                        layer = WAITING
                    break
                frame = frame.f_back
            self.counts[layer] += 1
            if function:
                self.functions[function] += 1


def run_size(nodes, hours, seed, profile, kind=None, mix="dev", workers=None):
    """One field, from this process: (figures, sampler or None)."""
    directory = tempfile.mkdtemp(prefix="lorafield-bench-")
    try:
        spec = bench_spec(nodes, hours, seed, kind, mix)
        workers, _ = workers_for(spec, workers)
        build = time.perf_counter()
        field_run = open_field(spec, directory, workers=workers, profile=profile, air_log=False)
        build = time.perf_counter() - build
        sampler = Sampler(threading.get_ident()).start() if profile else None
        clock = None
        if profile and not workers:  # greenlet switches: of one process only
            clock = ProcessClock(field_run.scheduler, field_run.spec).start()
        cpu = time.process_time()
        field_run.run()
        cpu = time.process_time() - cpu
        if sampler is not None:
            if clock is not None:
                clock.stop()
            sampler.stop()
        results = field_run.finish()
        boards = [node.board for node in field_run.nodes]  # a worker's: filled in at finish
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if workers:
            cpu += field_run.workers_cpu_s
            rss_kib += sum(field_run.workers_rss_kib)
            if sampler is not None:
                sampler.counts.update(field_run.worker_profile[0])
                sampler.functions.update(field_run.worker_profile[1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    per_day = 24 / hours
    boots = sum(len(b.boots) for b in boards)
    figures = {
        "wall": results.wall_s,
        "build": build,
        "cpu": cpu,
        "gateways": len(results.gateway_rx),
        "speedup": results.speedup,
        "uplinks": results.total("received"),
        "sent": results.total("sent"),
        "collided": results.total("lost_collision"),
        "wakes_day": (boots + sum(b.light_sleeps for b in boards)) * per_day,
        "boots_day": boots * per_day,
        "ulp_day": sum(b.ulp.runs for b in boards if b.ulp is not None) * per_day,
        "rss_mib": rss_kib / 1024,
        "workers": workers,
    }
    if sampler is not None:
        sampler = {
            "counts": sampler.counts,
            "functions": sampler.functions,
            "seconds": clock.seconds if clock else None,
            "kinds": collections.Counter(clock.kinds.values()) if clock else None,
        }
    return figures, sampler


def _in_child(conn, arguments):
    try:
        conn.send(("ok", run_size(*arguments)))
    except BaseException as exc:  # noqa: BLE001 -- re-raised in the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_isolated(*arguments):
    """`run_size` in a forked process of its own: the row's peak RSS is the field's. (Not a
    Pool: its processes are daemons, which may not start the field's workers.)"""
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    child = context.Process(target=_in_child, args=(there, arguments))
    child.start()
    there.close()
    try:
        status, value = here.recv()
    except EOFError:
        status, value = "error", f"the bench process ended with code {child.exitcode}"
    child.join()
    if status != "ok":
        raise RuntimeError(f"bench field: {value}")
    return value


def run(args):
    try:
        sizes = [int(n) for n in args.nodes.split(",")]
        spans = [float(h) for h in args.hours.split(",")]
    except ValueError:
        raise UsageError("--nodes and --hours are comma-separated numbers") from None
    mixes = args.mix.split(",")
    if not mixes or any(m not in MIXES for m in mixes) or len(set(mixes)) != len(mixes):
        raise UsageError(f"--mix is a comma-separated list of {', '.join(MIXES)}")
    if len(spans) == 1:
        spans *= len(sizes)
    if len(spans) != len(sizes) or not all(1 <= n <= 100_000 for n in sizes):
        raise UsageError("one --hours per --nodes size; sizes 1..100000")
    if not all(0 < h <= 168 for h in spans):
        raise UsageError("--hours must be in (0, 168]")
    print(
        "mix    nodes  gateways  emulated  workers  wall s   CPU s  emulated:wall"
        "  day would take   wakes/day   boots/day  ULP runs/day  uplinks  lost to collisions"
        "  peak RSS"
    )
    profiles = []
    for mix in mixes:
        for nodes, hours in zip(sizes, spans, strict=True):
            row, sampler = run_isolated(
                nodes, hours, args.seed, not args.no_profile, args.kind, mix, args.workers
            )
            wall, collided = row["wall"], row["collided"]
            print(
                f"{mix:<5}  {nodes:>5}  {row['gateways']:>8}  {hours:>6g} h  {row['workers']:>7}"
                f"  {wall:>6.1f}  {row['cpu']:>6.1f}  {row['speedup']:>12,.1f}x"
                f"  {wall * 24 / hours:>12,.0f} s  {row['wakes_day']:>10,.0f}"
                f"  {row['boots_day']:>10,.0f}  {row['ulp_day']:>12,.0f}  {row['uplinks']:>7}"
                f"  {collided:>7} ({100 * collided / max(1, row['sent']):2.0f}%)"
                f"  {row['rss_mib']:>5,.0f} MiB",
                flush=True,
            )
            profiles.append((mix, nodes, hours, row, sampler))
    for mix, nodes, hours, row, sampler in profiles:
        if sampler is not None:
            _print_profile(mix, nodes, hours, row, sampler)
    return 0


def _print_profile(mix, nodes, hours, row, sampler):
    counts = sampler["counts"]
    total = sum(counts.values()) or 1
    where = "the emulation thread" if not row["workers"] else "every process's emulation thread"
    print(
        f"\nwhere the time went, {mix} mix, {nodes} nodes for {hours:g} h ({row['wall']:.1f} s "
        f"wall, {row['cpu']:.1f} s CPU; samples of {where}):"
    )
    for component, count in counts.most_common():
        print(f"  {100 * count / total:5.1f} %  {component}")
    print("  hottest functions (innermost lorafield frame):")
    for function, count in sampler["functions"].most_common(8):
        print(f"  {100 * count / total:5.1f} %  {function}")
    if sampler["seconds"] is None:
        return  # greenlet switches are counted in one process only
    print("  by process (wall time between greenlet switches):")
    kinds = sampler["kinds"]
    for label, seconds in sampler["seconds"].most_common():
        per = ""
        if kinds.get(label):
            day_ms = 1000 * seconds / kinds[label] * 24 / hours
            per = f", {kinds[label]} nodes: {day_ms:,.0f} ms per node-day"
        print(f"  {100 * seconds / row['wall']:5.1f} %  {label}{per}")
