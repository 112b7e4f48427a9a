"""An emulated field of one region for the tests of this folder: the real firmware MAC (and its
SX127x driver) on an emulated board with the SX1276 model, the air, an emulated gateway on the
region's channels (`lorafield_hw.plans`) or a single-channel one, and the embedded local
network server of that region. The two sides only meet on the air; `air_log` keeps every
frame put on it (both directions), in order, for the independent decoder.
"""

from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.plans import gateway_channels
from lorafield_hw.scheduler import Scheduler
from lorafield_node.mac import DutyCycleWait, Mac
from lorafield_node.region import region

DEV_EUI = bytes.fromhex("70b3d57ed0002001")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")
APP_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
S = 1_000_000


class LoggedAir(Air):
    def __init__(self, scheduler):
        super().__init__(scheduler, PathLoss(seed=scheduler.seed))
        self.log = []

    def transmit(self, sender, payload, **settings):
        frame = super().transmit(sender, payload, **settings)
        self.log.append(frame)
        return frame


class RegionField:
    """`name`: the region; `sub_bands`/`channels`: the node's region options (its device
    settings); `gateway`: `air.Gateway` keyword arguments (default: the 8-channel gateway of
    the region, on `gateway_sub_bands` in US915/AU915); `server`: NetworkServer options
    (default: the region, the gateway's sub-bands, ADR off)."""

    def __init__(
        self,
        name,
        *,
        sub_bands=None,
        channels=None,
        gateway=None,
        gateway_sub_bands=(2,),
        server=None,
        seed=1,
        distance_m=10.0,
    ):
        self.name = name
        self.node_region = (sub_bands, channels)
        self.scheduler = Scheduler(seed)
        self.air = LoggedAir(self.scheduler)
        fixed = region(name).fixed
        bands = tuple(gateway_sub_bands) if fixed else None
        self.registry = DeviceRegistry()
        self.registry.add_otaa(DEV_EUI, JOIN_EUI, APP_KEY, kind="temperature", name="n1")
        options = {"region": name, "adr": False}
        if fixed:
            options["sub_bands"] = bands
        options.update(server or {})
        self.server = NetworkServer(self.registry, **options)
        listen = gateway if gateway is not None else gateway_channels(name, bands)
        self.gateway = EmulatedGateway(self.air, "gw0", (distance_m, 0.0), **listen)
        self.link = LnsLink(self.scheduler, self.server, [self.gateway])
        self.log = []
        self.app = None
        self.board = EmulatedBoard(
            self.scheduler, self._main, air=self.air, position=(0.0, 0.0), seed=seed
        )

    def _main(self, view):
        sub_bands, channels = self.node_region
        self.mac = Mac(
            view,
            region=region(self.name, sub_bands, channels),
            dev_eui=DEV_EUI,
            join_eui=JOIN_EUI,
            app_key=APP_KEY,
        )
        self.view = view
        self.app(self.mac, self)

    def note(self, what, value=None):
        self.log.append((self.scheduler.now_us, what, value))

    def notes(self, what):
        return [v for _, w, v in self.log if w == what]

    def run(self, app, seconds=600):
        """Power the node on with `app` and run the world for `seconds`."""
        self.app = app
        self.board.power_on()
        self.scheduler.run_until(self.scheduler.now_us + int(seconds * S))

    def node_frames(self):
        return [f for f in self.air.log if f.sender is self.board.radio]

    def gateway_frames(self):
        return [f for f in self.air.log if f.sender is self.gateway]


def send(mac, board, fport, payload, confirmed=False):
    """mac.send(), waiting (light sleep) as long as the duty cycle says first."""
    while True:
        try:
            return mac.send(fport, payload, confirmed)
        except DutyCycleWait as e:
            board.lightsleep(e.wait_ms)


def join_once(mac, board):
    """One Join-request (after any duty-cycle or join back-off wait); True when accepted."""
    while True:
        try:
            return mac.join()
        except DutyCycleWait as e:
            board.lightsleep(e.wait_ms)


def join(mac, board, limit=20):
    """Join attempts until joined; the number of Join-requests sent, 0 if `limit` failed."""
    for attempt in range(1, limit + 1):
        if join_once(mac, board):
            return attempt
    return 0
