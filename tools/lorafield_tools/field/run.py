"""Build and run an emulated field: real firmware on emulated boards, the air, the gateway
service on each gateway, the local network server on SQLite.

    field = Field(spec, out_dir)        # writes fleet.toml, opens lns.sqlite3
    field.run(progress=callback)         # callback(now_s, end_s) while it runs
    results = field.finish()             # stops everything, returns FieldResults
"""

import contextlib
import gc
import importlib.util
import os
import random
import sys
import time

from lorafield_gateway.fleet import FleetDevice, append_devices, load_fleet
from lorafield_gateway.lns.sqlite_store import SqliteStore, StoredNetworkServer, request_downlink
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.energy import Battery
from lorafield_hw.profiles import TWO_AA
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario, WaterLevelScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import A02YYUW, DS18B20, QMC5883L
from lorafield_node.apps import start as start_app

from .export import TEST_KEYS_NOTE
from .gateway import FieldClock, FieldGateway, FieldNetwork
from .spec import JOIN_EUI, latlon

S = 1_000_000
GC_THRESHOLD = (100_000, 50, 1000)  # while a field runs (the default is 700, 10, 10)
PROGRESS_STEP_US = 300 * S  # the run advances (and reports) every 5 emulated minutes


@contextlib.contextmanager
def _collector_tuned():
    """The cycle collector, tuned for a field: what exists when the run starts (thousands of
    boards, chips, sensors) lives to its end, so it is frozen out of every collection, and a
    run allocates millions of short-lived objects that reference counting frees, so the
    young generation is collected 1/140 as often (a 1,000-node hour peaks at ~200 MB)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class FieldAir(Air):
    """The air, adding up each sender's airtime (the accounting) and, with `keep_log`,
    remembering every frame put on it (`log`, for tests and tools that look at frames; a
    day of 10,000 nodes is 700,000 of them). Nodes do not hear each other (`Air`
    nodes_hear_nodes): what lets a field run its nodes in worker processes (parallel.py)."""

    def __init__(self, scheduler, path_loss, keep_log=True):
        super().__init__(scheduler, path_loss, nodes_hear_nodes=False)
        self.log = [] if keep_log else None
        self.airtime_us = {}  # sender -> time on air of its frames (cut ones as cut)
        self.watch = None  # watch(frame) after each frame went on the air

    def transmit(self, sender, payload, **settings):
        frame = super().transmit(sender, payload, **settings)
        airtime = self.airtime_us
        airtime[sender] = airtime.get(sender, 0) + frame.end_us - frame.start_us
        if self.log is not None:
            self.log.append(frame)
        if self.watch is not None:
            self.watch(frame)
        return frame

    def abort(self, frame):
        planned = frame.end_us
        super().abort(frame)
        self.airtime_us[frame.sender] -= planned - frame.end_us


class FieldNode:
    """One node: its spec, keys, board, the scenario at its site, and the battery charge it
    had drawn at the end of every emulated hour (`hourly_mah`, for the battery projection)."""

    def __init__(self, spec, dev_eui, app_key, board, world, runtime="cpython", vm=None):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.dev_eui = dev_eui
        self.app_key = app_key
        self.board = board
        self.world = world  # ParkingScenario / WaterLevelScenario / DiurnalTemperature
        self.runtime = runtime  # "cpython" or "micropython"
        self.vm = vm  # vm_runtime.VmNode of a micropython node: its boots, heap, errors
        self.hourly_mah = []

    @property
    def chip(self):
        return self.board.radio


def _keys(seed, name, index):
    rnd = random.Random(f"field/{seed}/{name}/keys")
    dev_eui = bytes.fromhex(f"70b3d57ed0{index + 1:06x}")
    return dev_eui, rnd.randbytes(16)


def _remember_missing_cryptolib():
    """The firmware's AES picks MicroPython's `cryptolib` if it imports (aes.py `_make`),
    probing at each key set-up, i.e. three times per boot. On CPython the module does not
    exist and each failed import scans sys.path (~70 us, 90 % of a key set-up); a None in
    sys.modules makes the same ImportError a dict lookup. Only done when it is truly absent."""
    if "cryptolib" not in sys.modules and importlib.util.find_spec("cryptolib") is None:
        sys.modules["cryptolib"] = None


class Field:
    """`runtime`: None (each node's own, `NodeSpec.runtime`) or "cpython" / "micropython" for
    every node; `heap_kib`: a micropython node's heap (default: its board's budget,
    vm_runtime.heap_budget_kib); `vm`: "native" or "webassembly", or a VM class (the
    interface of pty_board.vm.BoardVM); `heap_samples`: gc.mem_alloc() at every hardware call
    of those nodes (the heap peak; costly, see the ROM's lorafield_emulated); `air_log`:
    keep every frame in `air.log` (FieldAir)."""

    def __init__(
        self,
        spec,
        out_dir,
        *,
        db_path=None,
        also_forward=(),
        runtime=None,
        heap_kib=None,
        vm="native",
        heap_samples=False,
        air_log=True,
    ):
        _remember_missing_cryptolib()
        self.spec = spec
        self.runtime = runtime
        self.heap_kib = heap_kib
        self.vm = vm
        self.heap_samples = heap_samples
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.db_path = db_path or os.path.join(out_dir, "lns.sqlite3")
        self.fleet_path = os.path.join(out_dir, "fleet.toml")
        self.end_us = round(spec.hours * 3600 * S)
        self.scheduler = Scheduler(spec.seed, greenlets=True)
        self.air = FieldAir(self.scheduler, field_path_loss(spec), keep_log=air_log)
        self.clock = FieldClock(self.scheduler)
        self.nodes = []
        self._write_fleet()
        self.fleet = load_fleet(self.fleet_path)
        # as loaded: what `lorafield deploy` writes (the fleet's region in their settings)
        self._devices = {device.name: device for device in self.fleet}
        self.store = SqliteStore(self.db_path)
        self.store.set_meta("clock", "emulated")
        # The field's region (FieldSpec.region); in US915/AU915 the gateways listen on the
        # field's sub-bands, FSB2 unless told, and the server keeps its devices on them (a
        # node without sub_bands of its own joins through the sub-band rotation).
        self.plan = spec.plan()
        self.sub_bands = spec.gateway_sub_bands()
        self.server = StoredNetworkServer(
            self.fleet.registry(), self.store, region=spec.region, sub_bands=self.sub_bands
        )
        self.network = FieldNetwork(self.scheduler, self.server, self.clock)
        self.gateways = [
            FieldGateway(
                self.network,
                self.air,
                g.gateway_id,
                g.position,
                also_forward,
                region=self.plan,
                sub_bands=self.sub_bands,
            )
            for g in spec.gateways
        ]
        self._build_nodes()
        self.requested = []  # (at_s, node name, config, downlinks row id)
        for down in spec.downlinks:
            self.scheduler.at(round(down.at_s * S), self._request_downlink, down)
        for hour in range(1, int(spec.hours) + 1):
            self.scheduler.at(hour * 3600 * S, self._read_meters)
        self.wall_s = 0.0
        self._started = False

    # -- building -------------------------------------------------------------------------------
    def _write_fleet(self):
        devices = []
        self._keys = {}
        self._devices = {}  # name -> FleetDevice (a micropython node's /lorafield.json)
        for index, node in enumerate(self.spec.nodes):
            dev_eui, app_key = _keys(self.spec.seed, node.name, index)
            self._keys[node.name] = (dev_eui, app_key)
            devices.append(
                FleetDevice(
                    dev_eui,
                    node.kind,
                    node.name,
                    join_eui=bytes.fromhex(JOIN_EUI),
                    app_key=app_key,
                    location=latlon(node.position),
                    board=node.setup.board,
                    settings=node.device_settings(),  # the fleet's region is added on load
                )
            )
            self._devices[node.name] = devices[-1]
        if os.path.exists(self.fleet_path):  # a new field: new devices, new keys
            os.unlink(self.fleet_path)
        spec = self.spec
        append_devices(
            self.fleet_path,
            devices,
            {"join_eui": JOIN_EUI},
            note=TEST_KEYS_NOTE,
            region=spec.region if spec.region != "EU868" else None,  # EU868 files as before
            sub_bands=spec.sub_bands or (),
        )

    def _build_nodes(self):
        for index, node in enumerate(self.spec.nodes):
            self.nodes.append(self._build_node(index, node))

    def _build_node(self, index, node):
        """The node's board with its firmware, sensors and the world at its site, power-on
        and power cycles scheduled; its chip is marked as a node's on the air."""
        spec = self.spec
        clock = self._now_us
        dev_eui, app_key = self._keys[node.name]
        seed = spec.seed * 100_003 + index
        world, sensors = _site(node, spec, clock, seed)
        settings = spec.device_settings(node)
        settings.update(
            app=node.kind, dev_eui=dev_eui, join_eui=bytes.fromhex(JOIN_EUI), app_key=app_key
        )
        runtime = self.runtime or node.runtime
        vm_node = self._vm_node(node) if runtime == "micropython" else None
        main = vm_node.main if vm_node else (lambda view, s=settings: start_app(view, s))
        board = EmulatedBoard(
            self.scheduler,
            main,
            node.setup.board,
            name=node.name,
            air=self.air,
            position=node.position,
            sensors=sensors,
            seed=seed,
            battery=Battery(*TWO_AA),
            options=settings,
        )
        board.radio.air_node = True
        field_node = FieldNode(node, dev_eui, app_key, board, world, runtime, vm_node)
        self.scheduler.at(round(node.start_s * S), board.power_on)
        for at_s, off_s in node.power_cycles:
            for at_us, action in (
                (round(at_s * S), board.power_cut),
                (round((at_s + off_s) * S), board.power_on),
            ):
                self.scheduler.at(at_us, action)
                board.expect(at_us)
        for hour in range(1, int(spec.hours) + 1):
            board.expect(hour * 3600 * S)  # _read_meters
        return field_node

    def _now_us(self):
        return self.scheduler.now_us

    def _vm_node(self, node):
        """The runtime of a node whose deployed firmware runs in a MicroPython VM."""
        from ..workbench.config import device_config
        from . import vm_runtime

        if not hasattr(self, "_vm_class"):
            vm = self.vm
            self._vm_class = vm_runtime.vm_factory(vm) if isinstance(vm, str) else vm
            self._tree = vm_runtime.deployed_tree()  # once per field
        board = node.setup.board
        return vm_runtime.VmNode(
            self._tree,
            device_config(self._devices[node.name], board),
            board,
            self._vm_class,
            self.heap_kib or vm_runtime.heap_budget_kib(board, self._vm_kind()),
            self.scheduler,
            self.heap_samples,
        )

    def _vm_kind(self):
        """ "native" or "webassembly" (a VM class given directly counts as native: its heap
        is the native budget)."""
        return self.vm if self.vm == "webassembly" else "native"

    def _read_meters(self):
        for node in self.nodes:
            node.hourly_mah.append(node.board.energy.total_mah())

    def _request_downlink(self, down):
        dev_eui, _ = self._keys[down.node]
        self.network.release()  # another connection writes: no transaction may be open
        row = request_downlink(self.db_path, dev_eui.hex(), {"config": down.config})
        self.requested.append((down.at_s, down.node, down.config, row))

    # -- running --------------------------------------------------------------------------------
    def start(self):
        if not self._started:
            self._started = True
            for gateway in self.gateways:
                gateway.start()

    def run(self, progress=None, until_us=None):
        """Run to the end (or `until_us`); `progress(now_s, end_s)` every 5 emulated min."""
        self.start()
        end = self.end_us if until_us is None else min(until_us, self.end_us)
        began = time.perf_counter()
        try:
            with _collector_tuned():
                while self.scheduler.now_us < end:
                    self.network.hold()
                    try:
                        self._run_step(min(end, self.scheduler.now_us + PROGRESS_STEP_US))
                    finally:
                        self.network.release()
                    if progress is not None:
                        progress(self.scheduler.now_us / S, self.end_us / S)
        finally:
            self.wall_s += time.perf_counter() - began

    def _run_step(self, step_end):
        self.scheduler.run_until(step_end)

    def finish(self, drain_s=10.0):
        """Stop the gateways (remote forwarders get `drain_s` to empty their queues), the
        firmware processes and the database; returns the results."""
        from .results import collect

        deadline = time.monotonic() + drain_s
        self.undelivered = {}  # (gateway id, forwarder) -> frames still queued at the end
        for gateway in self.gateways:
            service = gateway.service
            for forwarder in service.forwarders:
                if forwarder.name == "local":
                    continue
                while service.queue.depth(forwarder.name) and time.monotonic() < deadline:
                    time.sleep(0.05)
                left = service.queue.depth(forwarder.name)
                if left:
                    self.undelivered[(gateway.gateway_id, forwarder.name)] = left
        results = collect(self)
        for gateway in self.gateways:
            gateway.stop()
        self.scheduler.shutdown()
        self.store.close()
        return results


def field_path_loss(spec):
    loss = dict(spec.path_loss)
    return PathLoss(
        exponent=loss["exponent"],
        reference_loss_db=loss["reference_loss_db"],
        reference_distance_m=loss["reference_distance_m"],
        shadowing_sigma_db=loss.get("shadowing_db", 0.0),
        seed=spec.seed,
    )


def _site(node, spec, clock, seed):
    """The physical world at a node and its sensors."""
    world = dict(node.scenario)
    if node.kind == "parking":
        if "events" in world:
            truth = ParkingScenario([tuple(e) for e in world["events"]], seed=seed)
        else:
            truth = ParkingScenario.generate(
                seed,
                spec.hours,
                arrivals_per_hour=world.get("arrivals_per_hour", 0.8),
                mean_stay_min=world.get("mean_stay_min", 50.0),
            )
        return truth, [QMC5883L(parking=truth, clock=clock, seed=seed)]
    if node.kind == "water_level":
        truth = WaterLevelScenario(
            mount_height_mm=world.get("mount_height_mm", 3000.0),
            base_level_mm=world.get("base_level_mm", 400.0),
            floods=[tuple(f) for f in world.get("floods", ())],
            seed=seed,
        )
        return truth, [A02YYUW(water=truth, clock=clock, seed=seed)]
    truth = DiurnalTemperature(
        mean_c=world.get("mean_c", 12.0),
        amplitude_c=world.get("amplitude_c", 6.0),
        peak_hour=world.get("peak_hour", 15.0),
        start_hour=spec.start_hour,
        seed=spec.seed,
    )
    return truth, [DS18B20(climate=truth, clock=clock, seed=seed)]
