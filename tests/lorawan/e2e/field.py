"""An emulated field for the MAC end to end: the real firmware (Mac + SX127x driver) on an
emulated board with an SX1276 model, the air, an emulated gateway and the local network server
(the network side built in gateway/lorafield_gateway/lns). The two sides only meet on the air.
"""

from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_hw.air import Air, Endpoint
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.scheduler import Scheduler
from lorafield_node.mac import DutyCycleWait, Mac

DEV_EUI = bytes.fromhex("70b3d57ed0001001")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")
APP_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
S = 1_000_000


class Field:
    def __init__(self, seed=1, distance_m=100.0, server_options=None, gateway_options=None):
        self.scheduler = Scheduler(seed)
        self.air = Air(self.scheduler)
        self.registry = DeviceRegistry()
        self.registry.add_otaa(DEV_EUI, JOIN_EUI, APP_KEY, kind="temperature", name="n1")
        options = {"adr": False}
        options.update(server_options or {})
        self.server = NetworkServer(self.registry, **options)
        self.gateway = EmulatedGateway(
            self.air, "gw0", (distance_m, 0.0), **(gateway_options or {})
        )
        self.link = LnsLink(self.scheduler, self.server, [self.gateway])
        self.log = []  # what the firmware reports: (time_us, what, value)
        self.mac_options = {}
        self.app = None  # callable(mac, field) run after the Mac is built, each boot
        self.board = EmulatedBoard(
            self.scheduler, self._main, air=self.air, position=(0.0, 0.0), seed=seed
        )
        # Every receive window the chip opened: (time_us, frequency Hz rounded to 1 kHz, SF).
        self.rx_log = []
        chip = self.board.radio
        start_rx = chip._start_rx

        def logged_start_rx(single):
            self.rx_log.append(
                (self.scheduler.now_us, round(chip.frequency_hz, -3), chip.spreading_factor)
            )
            start_rx(single)

        chip._start_rx = logged_start_rx

    def _main(self, view):
        mac = Mac(view, dev_eui=DEV_EUI, join_eui=JOIN_EUI, app_key=APP_KEY, **self.mac_options)
        self.mac = mac
        self.view = view
        self.app(mac, self)

    def note(self, what, value=None):
        self.log.append((self.scheduler.now_us, what, value))

    def run(self, app, seconds=120):
        """Power the node on (or reboot it) with `app` and run the world for `seconds`."""
        self.app = app
        if not self.board.powered:
            self.board.power_on()
        else:
            self.board.reset()
        self.scheduler.run_until(self.scheduler.now_us + int(seconds * S))

    def cut_and_restart(self, app, off_s=1.0):
        """Cut the power now, restore it `off_s` later with `app`."""
        self.board.power_cut()
        self.app = app
        self.scheduler.after(int(off_s * S), self.board.power_on)

    def boot_ticks_us(self, time_us):
        """The node's ticks_us() at world time `time_us` (during the current boot)."""
        return (time_us - self.board.boots[-1][0]) & ((1 << 30) - 1)

    def notes(self, what):
        return [v for _, w, v in self.log if w == what]

    def events(self, kind):
        return [e for e in self.server.events if e.kind == kind]


def send(mac, board, fport, payload, confirmed=False):
    """mac.send(), waiting (light sleep) as long as the duty cycle says first."""
    while True:
        try:
            return mac.send(fport, payload, confirmed)
        except DutyCycleWait as e:
            board.lightsleep(e.wait_ms)


def join(mac, board, limit=10):
    """Join attempts (waiting out the duty cycle) until joined; returns the number of
    Join-requests sent, 0 if `limit` of them got no answer."""
    attempts = 0
    while attempts < limit:
        try:
            attempts += 1
            if mac.join():
                return attempts
        except DutyCycleWait as e:
            attempts -= 1  # nothing was sent
            board.lightsleep(e.wait_ms)
    return 0


class Injector(Endpoint):
    """A rogue transmitter beside the gateway: replays or forges downlinks at chosen instants."""

    def __init__(self, field):
        super().__init__(field.air, "injector", field.gateway.position)
        self.field = field

    def send_at(self, start_us, phy, frequency_hz, sf, bw_hz=125_000):
        def fire():
            self.air.transmit(
                self,
                phy,
                frequency_hz=frequency_hz,
                sf=sf,
                bw_hz=bw_hz,
                power_dbm=14.0,
                iq_inverted=True,
                crc=False,
            )

        self.field.scheduler.at(start_us, fire)
