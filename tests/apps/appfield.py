"""An emulated field for the sensor apps: the real firmware entry (lorafield_node.apps.start)
on an emulated board with emulated sensors, the air, an emulated gateway and the local
network server. The node and the network only meet on the air."""

from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_hw.air import Air
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US, EmulatedGateway, LnsLink
from lorafield_hw.scheduler import Scheduler
from lorafield_node.apps import start

DEV_EUI = bytes.fromhex("70b3d57ed0002001")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")
APP_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
S = 1_000_000
MIN = 60 * S
HOUR = 3600 * S


class AppField:
    def __init__(self, kind, sensors_factory, settings=None, profile="heltec_lora32_v2", seed=1):
        self.scheduler = Scheduler(seed)
        self.air = Air(self.scheduler)
        self.registry = DeviceRegistry()
        self.registry.add_otaa(DEV_EUI, JOIN_EUI, APP_KEY, kind=kind, name="n1")
        self.server = NetworkServer(self.registry, adr=False)
        self.gateway = EmulatedGateway(self.air, "gw0", (50.0, 0.0))
        self.link = LnsLink(self.scheduler, self.server, [self.gateway])
        clock = lambda: self.scheduler.now_us  # noqa: E731
        self.sensors = sensors_factory(clock)
        self.settings = {
            "app": kind,
            "dev_eui": DEV_EUI,
            "join_eui": JOIN_EUI,
            "app_key": APP_KEY,
        }
        self.settings.update(settings or {})
        self.board = EmulatedBoard(
            self.scheduler,
            self._main,
            profile,
            air=self.air,
            position=(0.0, 0.0),
            sensors=self.sensors,
            seed=seed,
        )

    def _main(self, view):
        start(view, self.settings)

    def run_for(self, seconds):
        if not self.board.powered:
            self.board.power_on()
        self.scheduler.run_until(self.scheduler.now_us + int(seconds * S))

    def hold(self, seconds):
        """Run the world without powering the node on."""
        self.scheduler.run_until(self.scheduler.now_us + int(seconds * S))

    def until_next_boot(self, limit_s=7200, step_s=0.05):
        """Run until the node boots again; returns the boot's time (s)."""
        n = len(self.board.boots)
        for _ in range(int(limit_s / step_s)):
            self.hold(step_s)
            if len(self.board.boots) > n:
                return self.board.boots[-1][0] / S
        raise AssertionError("the node did not boot again")

    def awake(self):
        return self.board.process is not None and self.board.process.alive

    @property
    def now_s(self):
        return self.scheduler.now_us / S

    def readings(self, kind=None):
        """(virtual seconds, data) of each decoded uplink the network stored."""
        out = []
        for r in self.server.readings:
            if kind is None or r["kind"] == kind:
                out.append(((r["time_us"] - EMULATION_EPOCH_US) / S, r["data"]))
        return out

    def fcnts(self):
        return [e.detail["fcnt"] for e in self.server.events if e.kind == "uplink"]

    def events(self, kind):
        return [e for e in self.server.events if e.kind == kind]

    def configure(self, data):
        self.server.enqueue_config(DEV_EUI, data)
