"""`lorafield bench field`: the whole pipeline at scale -- firmware on emulated boards, the
air, the gateway service, the local network server and SQLite.

For each size (default 100, 1,000 and 10,000 nodes, the demo's 12:4:8 mix of kinds,
installed over the first 10 % of the run, placed at random in a 2 km x 1.2 km town with
one gateway per 1,000 nodes, at least two) it runs the field for an emulated span (default
6 h, 1 h and 15 min: the larger fields get shorter spans so the benchmark ends in minutes)
and prints the frames the nodes sent and how many collided, uplinks received (joins
included) per wall second, the emulated-to-wall ratio, the wall time a whole day would take
at that rate, process switches per second, and where the time went:
a sampling profiler (1 kHz, on the emulation's thread) attributes each sample to the layer
of the innermost lorafield frame, and the greenlet switches give each node kind's wall time
per node-day. `--kind` runs a field of one kind only.
"""

import collections
import random
import shutil
import sys
import tempfile
import threading
import time
import weakref

from ..cli import UsageError
from ..field.run import Field
from ..field.setups import DEV_BOARD
from ..field.spec import FieldSpec, GatewaySpec, NodeSpec, gateway_id

HELP = "whole field pipeline: uplinks per wall second at 100, 1,000, 10,000 nodes"

DEFAULT_NODES = "100,1000,10000"
DEFAULT_HOURS = "6,1,0.25"
LAYERS = (
    ("lorafield_node", "firmware (MAC, apps, drivers)"),
    ("lorafield_hw", "emulated hardware (boards, SX1276, air, sensors, energy)"),
    ("lorafield_gateway/lns", "local network server + SQLite"),
    ("lorafield_gateway", "gateway service (radio loop, queue, forwarder)"),
    ("lorafield_codec", "payload codec"),
    ("lorafield_tools", "field runner"),
)


def add_arguments(parser):
    parser.add_argument("--nodes", default=DEFAULT_NODES, help=f"sizes (default {DEFAULT_NODES})")
    parser.add_argument(
        "--hours", default=DEFAULT_HOURS, help=f"emulated hours per size (default {DEFAULT_HOURS})"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-profile", action="store_true", help="skip the sampling profiler")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        help="a field of this kind only (default: the demo's 12:4:8 mix), for its cost alone",
    )


KINDS = ("parking", "water_level", "temperature")


def bench_spec(nodes, hours, seed, kind=None):
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
        if node_kind == "parking":
            settings = {"sample_s": 30}
        elif node_kind == "water_level":
            settings = {"thresholds": {"high_mm": 1200}, "mount_height_mm": 3000}
            scenario = {"floods": [[hours * 3600 * 0.4, 1800.0, 1500.0, 3 * 3600.0]]}
        spec.nodes.append(
            NodeSpec(
                f"n{i + 1}",
                node_kind,
                (rnd.uniform(0, 2000), rnd.uniform(0, 1200)),
                # the dev-board mix (light-sleep parking at 30 s): the workload the
                # figures in the field README were measured on
                board=DEV_BOARD,
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
            layer, function = "other (stdlib, sqlite3, cryptography, greenlet)", None
            while frame is not None:
                path = frame.f_code.co_filename.replace("\\", "/")
                found = next((name for key, name in LAYERS if f"/{key}/" in path), None)
                if found is not None:
                    layer = found
                    function = f"{path.rsplit('/', 1)[-1]}:{frame.f_code.co_name}"
                    break
                frame = frame.f_back
            self.counts[layer] += 1
            if function:
                self.functions[function] += 1


def run_size(nodes, hours, seed, profile, kind=None):
    directory = tempfile.mkdtemp(prefix="lorafield-bench-")
    try:
        build = time.perf_counter()
        field_run = Field(bench_spec(nodes, hours, seed, kind), directory)
        build = time.perf_counter() - build
        sampler = Sampler(threading.get_ident()).start() if profile else None
        clock = ProcessClock(field_run.scheduler, field_run.spec).start() if profile else None
        cpu = time.process_time()
        field_run.run()
        cpu = time.process_time() - cpu
        if sampler is not None:
            clock.stop()
            sampler.stop()
            sampler.kinds = clock
        results = field_run.finish()
        switches = field_run.scheduler.handoffs
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return results, build, cpu, switches, sampler


def run(args):
    try:
        sizes = [int(n) for n in args.nodes.split(",")]
        spans = [float(h) for h in args.hours.split(",")]
    except ValueError:
        raise UsageError("--nodes and --hours are comma-separated numbers") from None
    if len(spans) == 1:
        spans *= len(sizes)
    if len(spans) != len(sizes) or not all(1 <= n <= 100_000 for n in sizes):
        raise UsageError("one --hours per --nodes size; sizes 1..100000")
    if not all(0 < h <= 168 for h in spans):
        raise UsageError("--hours must be in (0, 168]")
    print(
        "nodes  gateways  emulated  wall s  build s  frames sent  lost to collisions  uplinks"
        "  uplinks/wall s  emulated:wall  day would take  switches/s"
    )
    profiles = []
    for nodes, hours in zip(sizes, spans, strict=True):
        results, build, cpu, switches, sampler = run_size(
            nodes, hours, args.seed, not args.no_profile, args.kind
        )
        wall = results.wall_s
        uplinks = results.total("received")
        sent = results.total("sent")
        collided = results.total("lost_collision")
        day = wall * 24 / hours
        print(
            f"{nodes:>5}  {len(results.gateway_rx):>8}  {hours:>6g} h  {wall:>6.1f}  {build:>7.1f}"
            f"  {sent:>11}  {collided:>12} ({100 * collided / max(1, sent):2.0f}%)"
            f"  {uplinks:>7}  {uplinks / wall:>14,.1f}  {results.speedup:>12,.1f}x"
            f"  {day:>12,.0f} s  {switches / wall:>10,.0f}",
            flush=True,
        )
        profiles.append((nodes, hours, wall, cpu, sampler))
    for nodes, hours, wall, cpu, sampler in profiles:
        if sampler is None:
            continue
        total = sum(sampler.counts.values()) or 1
        print(
            f"\nwhere the time went, {nodes} nodes for {hours:g} h ({wall:.1f} s wall, "
            f"{cpu:.1f} s CPU; samples of the emulation thread):"
        )
        for layer, count in sampler.counts.most_common():
            print(f"  {100 * count / total:5.1f} %  {layer}")
        print("  hottest functions (innermost lorafield frame):")
        for function, count in sampler.functions.most_common(8):
            print(f"  {100 * count / total:5.1f} %  {function}")
        clock = sampler.kinds
        counts = collections.Counter(clock.kinds.values())
        print("  by process (wall time between greenlet switches):")
        for label, seconds in clock.seconds.most_common():
            per = ""
            if counts.get(label):
                day_ms = 1000 * seconds / counts[label] * 24 / hours
                per = f", {counts[label]} nodes: {day_ms:,.0f} ms per node-day"
            print(f"  {100 * seconds / wall:5.1f} %  {label}{per}")
    return 0
