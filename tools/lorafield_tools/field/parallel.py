"""A field whose node firmware runs in worker processes, with the same result as one process.

    field = ParallelField(spec, out_dir, workers=2)   # the same interface as run.Field

Why it can: nodes never hear each other (run.FieldAir: a node only listens in its receive
windows, for a gateway's inverted-IQ downlink), so a node's run depends on the rest of the
field only through the downlinks the gateways send it, and a gateway learns of an uplink no
sooner than its end. The coordinator (this process) has the air with every gateway, the
gateway services, the network server and SQLite; each worker has a share of the nodes
(node i in worker i mod N), on a scheduler and an air of its own where the gateways are
stand-ins that only transmit. Both run in windows of emulated time:

1. At a barrier t the coordinator announces every downlink its gateways will send in the
   next window (t, H] (they are in the radio loops' queues by then, see below).
2. The workers run their nodes to H, with those downlinks on their air at their instants,
   and report the uplinks their nodes started (instant, node, PHYPayload, radio settings)
   and the ones they cut short (a power cut mid-frame).
3. The coordinator puts those frames on its air at their instants, on behalf of the nodes
   (`_NodeProxy`: a position, an air id, the frame counters), and runs to H.

A window is never longer than `window_us` = RECEIVE_DELAY1 (1 s) minus the server's
de-duplication window (200 ms) minus a 50 ms margin: the server decides a downlink when an
uplink's de-duplication window closes, 200 ms after the uplink ended, and sends it 1 s after
that end (2 s in RX2, 5-6 s for a join accept), so a downlink that goes out in (t, H] was
queued by t. When nothing happens for a while the window starts at the earliest next event
of any process instead (no uplink can start, no decision can be taken before it), so a
quiet field crosses its nights in a few windows. The coordinator checks the rule rather
than trusting it: a downlink that goes out unannounced, or an announced one that does not
go out, stops the run with ParallelFieldError.

Identical results for any number of workers: the air ids (gateways first, then the nodes
in spec order), the per-node seeds and the per-link shadowing are the same as in one
process, the windows depend only on the earliest next event of all workers (not on which
worker has which node), and the coordinator injects the frames of a window in (instant,
node) order whichever worker reported them. tests/field/test_parallel_field.py compares
the exports of 1, 2 and 3 workers byte for byte.

`workers` 0 is run.Field, everything in one process: the same model and, in practice, the
same result. Where two nodes start frames in the same microsecond (emulated clocks are
perfect, so synchronised retries do this: once in 5,681 uplinks of a 1,000-node hour), one
process orders them by its scheduler and the workers' coordinator by node, and the
server's order of two joins (their DevAddrs) can differ.

Not supported (workers_for answers 0): remote forwarders (`--also-forward`: their
servers' downlinks do not go through the queues in time) and nodes on the MicroPython VM.
"""

import collections
import math
import multiprocessing
import os
import resource
import time
import traceback
from types import SimpleNamespace

from lorafield_hw.air import Air, Counters, Reception
from lorafield_hw.scheduler import Scheduler

from .run import (
    Field,
    FieldNode,
    S,
    _collector_tuned,
    _remember_missing_cryptolib,
    _site,
    field_path_loss,
)

RECEIVE_DELAY1_US = 1_000_000  # LoRaWAN 1.0.4 RECEIVE_DELAY1: the earliest downlink
WINDOW_MARGIN_US = 50_000
# Smaller fields run in one process by default: the windows' waits eat what the workers share
# (bench field, 2 workers: a 1,000-node day 571 -> 342 s; 300 nodes for 3 h 24 -> 22 s).
PARALLEL_FROM_NODES = 300


class ParallelFieldError(RuntimeError):
    """A worker failed, or the window rule was broken (a bug, not a user error)."""


def workers_for(spec, requested=None, also_forward=(), runtime=None):
    """(workers, why not) for a field: `requested` (0: one process, run.Field; N: N worker
    processes), or by default the cores for a field of PARALLEL_FROM_NODES or more, else 0.
    A parallel field cannot run --also-forward or MicroPython nodes: then (0, the reason)."""
    if also_forward:
        why = "--also-forward needs the field in one process"
    elif runtime == "micropython" or (
        runtime is None and any(n.runtime == "micropython" for n in spec.nodes)
    ):
        why = "nodes on the MicroPython VM run in one process"
    else:
        why = None
    if requested is None:
        cores = os.cpu_count() or 1
        requested = cores if cores > 1 and len(spec.nodes) >= PARALLEL_FROM_NODES else 0
    if why is not None and requested:
        return 0, why
    return min(requested, len(spec.nodes)), None


def open_field(spec, out_dir, *, workers=0, profile=False, **options):
    """run.Field for 0 workers, ParallelField for more."""
    if not workers:
        return Field(spec, out_dir, **options)
    return ParallelField(spec, out_dir, workers=workers, profile=profile, **options)


# -- the worker side ----------------------------------------------------------------------------
class _WorkerAir(Air):
    """A worker's air: endpoints get the air ids they have in the whole field; the frames
    the nodes start and abort are recorded for the coordinator."""

    def __init__(self, scheduler, path_loss, air_ids):
        super().__init__(scheduler, path_loss, nodes_hear_nodes=False)
        self._ids = iter(air_ids)
        self.started = []  # (instant, node index, 0, payload, settings)
        self.aborted = []  # (instant, node index, 1, start instant, None)

    def _new_air_id(self):
        return next(self._ids)

    def transmit(self, sender, payload, **settings):
        frame = super().transmit(sender, payload, **settings)
        index = getattr(sender, "field_index", None)
        if index is not None:
            self.started.append((frame.start_us, index, 0, frame.payload, settings))
        return frame

    def abort(self, frame):
        index = getattr(frame.sender, "field_index", None)
        if index is not None and frame.outcome is None and not frame.aborted:
            self.aborted.append((self.scheduler.now_us, index, 1, frame.start_us, None))
        super().abort(frame)


class _GatewayStandIn:
    """A gateway as a worker's nodes see it: where it is, and the downlinks it sends."""

    def __init__(self, air, position):
        self.position = tuple(position)
        self.tx = Counters()
        self.rx = Counters()
        air.attach(self)


class _NodeHost(Field):
    """One worker's nodes: run.Field's node building, on a scheduler and air of their own."""

    def __init__(self, spec, keys, indices, profile):
        _remember_missing_cryptolib()
        self.spec = spec
        self.runtime = "cpython"
        self.heap_kib = None
        self.vm = None
        self.heap_samples = False
        self._keys = keys
        self.scheduler = Scheduler(spec.seed, greenlets=True)
        gateways = len(spec.gateways)
        air_ids = list(range(gateways)) + [gateways + i for i in indices]
        self.air = _WorkerAir(self.scheduler, field_path_loss(spec), air_ids)
        self.stand_ins = [_GatewayStandIn(self.air, g.position) for g in spec.gateways]
        self.nodes = []
        for index in indices:
            node = self._build_node(index, spec.nodes[index])
            node.board.radio.field_index = index
            self.nodes.append(node)
        for hour in range(1, int(spec.hours) + 1):
            self.scheduler.at(hour * 3600 * S, self._read_meters)
        self.received = []  # (gateway air id, start, node index, outcome, rssi, snr)
        self.profile = profile

    def send_downlink(self, gateway, payload, settings):
        self.air.transmit(self.stand_ins[gateway], payload, on_end=self._downlink_end, **settings)

    def _downlink_end(self, frame):
        for reception in frame.receptions:
            index = getattr(reception.receiver, "field_index", None)
            if index is not None:
                self.received.append(
                    (
                        frame.sender.air_id,
                        frame.start_us,
                        index,
                        reception.outcome,
                        reception.rssi_dbm,
                        reception.snr_db,
                    )
                )

    def summary(self):
        nodes = {}
        for node in self.nodes:
            board = node.board
            nodes[node.chip.field_index] = {
                "boots": board.boots,
                "light_sleeps": board.light_sleeps,
                "ulp_runs": None if board.ulp is None else board.ulp.runs,
                "capacity_mah": board.energy.battery.capacity_mah,
                "hourly_mah": node.hourly_mah,
                "tx": board.radio.tx.as_dict(),
            }
        return nodes

    def serve(self, conn):
        """Answer the coordinator until it says finish."""
        scheduler = self.scheduler
        air = self.air
        sampler = None
        if self.profile:
            import threading

            from ..bench.field import Sampler

            sampler = Sampler(threading.get_ident()).start()
        cpu = time.process_time()
        conn.send(("ready", scheduler.next_event_time()))
        with _collector_tuned():
            while True:
                message = conn.recv()
                if message[0] == "finish":
                    break
                _, until_us, horizon_us, downlinks = message
                for start_us, gateway, payload, settings in downlinks:
                    scheduler.at(start_us, self.send_downlink, gateway, payload, settings)
                scheduler.horizon_us = horizon_us
                scheduler.run_until(until_us)
                conn.send(("ran", air.started + air.aborted, scheduler.next_event_time()))
                air.started = []
                air.aborted = []
        cpu = time.process_time() - cpu
        profile = None
        if sampler is not None:
            sampler.stop()
            profile = (sampler.counts, sampler.functions)
        conn.send(
            (
                "summary",
                self.summary(),
                self.received,
                cpu,
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                profile,
            )
        )
        scheduler.shutdown()


def _worker_main(conn, spec, keys, indices, profile):
    try:
        _NodeHost(spec, keys, indices, profile).serve(conn)
    except BaseException:  # noqa: BLE001 -- reported to the coordinator, which raises
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


# -- the coordinator side -----------------------------------------------------------------------
class _NodeProxy:
    """A node on the coordinator's air: its position, air id and frame counters; the frames
    are the worker's, put on the air at their instants."""

    air_node = True

    def __init__(self, air, index, name, position):
        self.name = name
        self.field_index = index
        self.position = tuple(position)
        self.tx = Counters()
        self.rx = Counters()
        air.attach(self)

    def __repr__(self):
        return f"_NodeProxy({self.name!r})"


class ParallelField(Field):
    """run.Field with the node firmware in `workers` processes (module docstring). After
    `finish()` each node's `board` is a summary of the worker's board: `radio` (the proxy
    with the frame counters), `boots`, `light_sleeps`, `ulp.runs`, `energy.battery`."""

    def __init__(self, spec, out_dir, *, workers=2, profile=False, **options):
        if workers_for(spec, 1, options.get("also_forward"), options.get("runtime"))[1]:
            raise ValueError("a parallel field runs neither --also-forward nor MicroPython nodes")
        self.workers = int(workers)
        self.profile = profile
        self._conns = []
        self._processes = []
        self._worker_next = []  # each worker's next event (None: none)
        self._announced = {}  # (gateway air id, instant) -> the downlink's request
        self._in_flight = {}  # (node index, start) -> the coordinator's frame of it
        self.workers_cpu_s = 0.0
        self.workers_rss_kib = []
        self.worker_profile = None
        try:
            super().__init__(spec, out_dir, **options)
        except BaseException:
            self._stop_workers()
            raise
        self.window_us = RECEIVE_DELAY1_US - self.server.dedup.window_us - WINDOW_MARGIN_US
        if self.window_us <= 0:
            raise ValueError("the de-duplication window leaves no parallel window")
        self._broken = []  # breaches of the window rule (raised after the window)
        self.air.watch = self._check_announced

    # -- building: the workers, and a proxy per node ------------------------------------------
    def _build_nodes(self):
        spec = self.spec
        context = multiprocessing.get_context("fork")
        for worker in range(self.workers):
            indices = list(range(worker, len(spec.nodes), self.workers))
            here, there = context.Pipe()
            process = context.Process(
                target=_worker_main,
                args=(there, spec, self._keys, indices, self.profile),
                name=f"field-worker-{worker + 1}",
                daemon=True,
            )
            process.start()
            there.close()
            self._conns.append(here)
            self._processes.append(process)
        clock = self._now_us
        for index, node in enumerate(spec.nodes):
            dev_eui, app_key = self._keys[node.name]
            proxy = _NodeProxy(self.air, index, node.name, node.position)
            world, _ = _site(node, spec, clock, spec.seed * 100_003 + index)
            board = SimpleNamespace(radio=proxy, boots=[], light_sleeps=0, ulp=None, energy=None)
            self.nodes.append(FieldNode(node, dev_eui, app_key, board, world, "cpython"))
        self._worker_next = [self._receive(w, "ready")[0] for w in range(self.workers)]

    def _read_meters(self):
        pass  # each worker reads its nodes' meters

    def _receive(self, worker, expected):
        try:
            message = self._conns[worker].recv()
        except (EOFError, OSError):
            raise ParallelFieldError(f"field worker {worker + 1} ended unexpectedly") from None
        if message[0] == "error":
            raise ParallelFieldError(f"field worker {worker + 1} failed:\n{message[1]}")
        if message[0] != expected:
            raise ParallelFieldError(f"field worker {worker + 1}: {message[0]!r}")
        return message[1:]

    # -- running --------------------------------------------------------------------------------
    def _run_step(self, step_end):
        """Windows to `step_end`: the workers run one, then the coordinator (the module
        docstring). The workers' ULPs may run ahead to `step_end`, as in one process."""
        scheduler = self.scheduler
        while scheduler.now_us < step_end:
            now = scheduler.now_us
            until = min(step_end, max(now, self._earliest()) + self.window_us)
            downlinks = self._announce(now, until)
            for conn in self._conns:
                conn.send(("run", until, step_end, downlinks))
            events = []
            for worker in range(self.workers):
                reported, self._worker_next[worker] = self._receive(worker, "ran")
                events += reported
            # In (instant, node) order whichever worker ran the node: the same schedule for
            # any number of workers.
            events.sort(key=lambda e: e[:3])
            for instant, index, kind, payload, settings in events:
                if kind == 0:
                    scheduler.at(instant, self._start_frame, index, payload, settings)
                else:
                    scheduler.at(instant, self._abort_frame, index, payload)
            scheduler.run_until(until)
            self._broken += [
                f"an announced downlink at {key[1]} us did not go out"
                for key in self._announced
                if key[1] <= until
            ]
            if self._broken:
                raise ParallelFieldError("; ".join(self._broken))

    def _earliest(self):
        """No uplink starts before the workers' next event, and no downlink is decided
        before the coordinator's: a downlink the server has not decided yet goes out at
        least 800 ms after this (RX1 after the uplink's end; de-duplication 200 ms)."""
        own = self.scheduler.next_event_time()
        return min(
            math.inf if own is None else own,
            *(math.inf if t is None else t for t in self._worker_next),
        )

    def _announce(self, after_us, until_us):
        """The downlinks the gateways send in (after_us, until_us], as the workers need them:
        (instant, gateway air id, PHYPayload, air settings), in instant order."""
        out = []
        for gateway in self.gateways:
            radio = gateway.radio
            queued = [(target, request) for target, _, request in gateway.service.loop._heap]
            prepared = radio._request  # taken from the queue, waiting for its instant
            if prepared is not None and prepared.started_us is None:
                queued.append((prepared.target_us, prepared))
            for target, request in queued:
                if after_us < target <= until_us:
                    key = (radio.air_id, target)
                    self._announced[key] = request
                    settings = radio.downlink_settings(request)
                    out.append((target, radio.air_id, request.phy, settings))
        out.sort(key=lambda d: d[:2])
        return out

    def _check_announced(self, frame):
        """Every gateway frame must have been announced (raised after the window: the
        radio loop would take an exception here for a failed transmission)."""
        if getattr(frame.sender, "air_node", False):
            return
        if self._announced.pop((frame.sender.air_id, frame.start_us), None) is None:
            self._broken.append(f"a downlink at {frame.start_us} us was not announced")

    def _start_frame(self, index, payload, settings):
        key = (index, self.scheduler.now_us)
        self._in_flight[key] = self.air.transmit(
            self.nodes[index].chip, payload, on_end=self._frame_ended, **settings
        )

    def _frame_ended(self, frame):
        self._in_flight.pop((frame.sender.field_index, frame.start_us), None)

    def _abort_frame(self, index, start_us):
        frame = self._in_flight.get((index, start_us))
        if frame is not None:
            self.air.abort(frame)

    # -- finishing ------------------------------------------------------------------------------
    def finish(self, drain_s=10.0):
        try:
            self._collect_workers()
        finally:
            self._stop_workers()
        return super().finish(drain_s)

    def _collect_workers(self):
        for conn in self._conns:
            conn.send(("finish",))
        frames = {}
        for gateway in self.gateways:
            for _, frame in gateway.transmitted:
                frames[(frame.sender.air_id, frame.start_us)] = frame
        counts = collections.Counter()
        functions = collections.Counter()
        for worker in range(self.workers):
            nodes, received, cpu, rss_kib, profile = self._receive(worker, "summary")
            self.workers_cpu_s += cpu
            self.workers_rss_kib.append(rss_kib)
            if profile is not None:
                counts.update(profile[0])
                functions.update(profile[1])
            for index, summary in nodes.items():
                node = self.nodes[index]
                board = node.board
                board.boots = summary["boots"]
                board.light_sleeps = summary["light_sleeps"]
                if summary["ulp_runs"] is not None:
                    board.ulp = SimpleNamespace(runs=summary["ulp_runs"])
                board.energy = SimpleNamespace(
                    battery=SimpleNamespace(capacity_mah=summary["capacity_mah"])
                )
                node.hourly_mah = summary["hourly_mah"]
                if summary["tx"]["sent"] != node.chip.tx.sent:
                    raise ParallelFieldError(f"{node.name}: frames sent and replayed differ")
            for gateway_id, start, index, outcome, rssi, snr in received:
                frame = frames.get((gateway_id, start))
                if frame is None:
                    raise ParallelFieldError(f"a worker heard a downlink at {start} us never sent")
                reception = Reception(frame, self.nodes[index].chip, rssi, snr)
                reception.outcome = outcome
                frame.receptions.append(reception)
        if self.profile:
            self.worker_profile = (counts, functions)

    def _stop_workers(self):
        for conn in self._conns:
            conn.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self._conns = []
        self._processes = []
