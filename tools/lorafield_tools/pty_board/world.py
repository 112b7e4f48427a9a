"""The emulated board's hardware and its far end: an EmulatedBoard (hardware/lorafield_hw) with
an SX1276 on the air, the sensors every app can use, an emulated gateway 50 m away and the
local network server (devices from a fleet file). Soft reset on the pty runs /main.py here:
each boot of the EmulatedBoard runs main.py in a fresh VM whose hardware calls the bridge
answers, in the boot's scheduler process.

Virtual time runs at most `speed` times real time, so a node that deep-sleeps 15 minutes
wakes 15 minutes later at speed 1 (and a second later at speed 900).
"""

from __future__ import annotations

import select
import time

from lorafield_gateway.fleet import FleetError, load_fleet
from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_hw.air import Air
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import DS18B20, QMC5883L, SHT31
from lorafield_node import board as contract
from lorafield_node.pinmaps import MCU

from .bridge import HardwareBridge

PORT_OF_MCU = {"esp32": "esp32", "rp2040": "rp2"}  # sys.platform of each MCU's port
STEP_REAL_S = 0.02  # the driver's pace: look at the serial port this often
MAX_STEP_REAL_S = 0.1  # the most virtual time run at once (x speed): Ctrl-C and SIGTERM wait


RUN_MAIN_PY = "exec(open('/main.py').read(), {'__name__': '__main__'})"  # a boot, as a board
# --real-boards: `time` runs on the board's virtual clock while main.py runs, not at the REPL.
_REAL_BOARDS_MAIN = (
    "import _machine_time\n_machine_time.install()\ntry:\n    " + RUN_MAIN_PY + "\n"
    "finally:\n    _machine_time.uninstall()\n"
)
_CAUSES = {
    contract.PWRON_RESET: "power on",
    contract.HARD_RESET: "hard reset",
    contract.WDT_RESET: "watchdog",
    contract.DEEPSLEEP_RESET: "deep sleep wake",
    contract.SOFT_RESET: "soft reset",
}


class WorldError(Exception):
    pass


class NodeWorld:
    def __init__(self, board_key="heltec_lora32_v2", fleet_path=None, speed=1.0, log=None):
        if board_key not in MCU:
            raise WorldError(f"unknown board {board_key!r} (known: {', '.join(sorted(MCU))})")
        if speed <= 0:
            raise WorldError("--speed must be > 0")
        self.board_key = board_key
        self.port = PORT_OF_MCU[MCU[board_key]]
        self.speed = speed
        self.log = log or (lambda line: None)
        try:
            registry = load_fleet(fleet_path).registry() if fleet_path else DeviceRegistry()
        except FleetError as exc:
            raise WorldError(str(exc)) from None
        self.scheduler = Scheduler(1)
        self.air = Air(self.scheduler)
        self.server = NetworkServer(registry, adr=False)
        self.gateway = EmulatedGateway(self.air, "gw0", (50.0, 0.0))
        self.link = LnsLink(self.scheduler, self.server, [self.gateway])
        clock = lambda: self.scheduler.now_us  # noqa: E731
        sensors = [QMC5883L(clock=clock), SHT31(clock=clock), DS18B20(clock=clock)]
        self.hw = EmulatedBoard(
            self.scheduler, self._main, board_key, air=self.air, sensors=sensors, seed=1
        )
        self.pty = None
        self.bridge = None
        self._stop = False
        self._events_seen = 0
        self._readings_seen = 0

    # -- called by the pty board --------------------------------------------------------------
    def run_main(self, pty):
        """Soft reset with /main.py: boot the node and run it until it returns or raises, or
        Ctrl-C on the port stops it (the board then sits in the REPL, as a real one would)."""
        self.pty = pty
        self._stop = False
        if not self.hw.powered:
            pty.rtc_memory = b""  # RTC memory does not survive a power cut
            self.hw.power_on()
        else:
            self.hw._reboot(contract.SOFT_RESET)  # no public soft reset: the REPL's Ctrl-D
        first_boot = len(self.hw.boots)
        real0, virtual0 = time.monotonic(), self.scheduler.now_us
        while not self._stop:
            if pty.stopping():  # SIGTERM: stop the node so the board can save and exit
                self._stop = True
                break
            if len(self.hw.boots) > first_boot and self.hw.halted:
                break  # main.py returned (or raised): back to the REPL
            now_real = time.monotonic()
            target = virtual0 + int((now_real - real0) * self.speed * 1e6)
            lead = self.scheduler.now_us + int(MAX_STEP_REAL_S * self.speed * 1e6)
            if target > lead:  # the emulation is behind real time x speed: no catching up
                target = lead
                real0, virtual0 = now_real, lead
            if target > self.scheduler.now_us:
                self.scheduler.run_until(target)
                self._report()
            readable, _, _ = select.select([pty.master], [], [], STEP_REAL_S)
            if readable and pty.input_during_run():
                self._stop = True
        if self._stop and self.hw.powered:
            self.hw.power_cut()  # Ctrl-C between boots: stop the node, keep its flash
            pty.output("KeyboardInterrupt: node stopped\n")
        self._report()

    def unique_id(self):
        return self.hw.uid

    def close(self):
        if self.hw.powered:
            self.hw.power_cut()
        self.scheduler.shutdown()

    # -- one boot of the node -------------------------------------------------------------------
    def _main(self, view):
        pty = self.pty
        cause = _CAUSES.get(view.reset_cause(), str(view.reset_cause()))
        self.log(f"board: boot ({cause}) at {self.scheduler.now_us / 1e6:.3f} s")
        if len(self.hw.boots) > 1 and view.reset_cause() != contract.SOFT_RESET:
            pty.save_fs()  # a fresh interpreter for every boot: RAM is gone, files stay
            pty.vm.start()
        self.bridge = bridge = HardwareBridge(view)
        result = pty.execute(
            _REAL_BOARDS_MAIN if pty.real_boards else RUN_MAIN_PY, hw=pty.hw_handler(bridge)
        )
        if pty.interrupted:  # Ctrl-C during this boot, delivered or not: the node stops
            self._stop = True
        if bridge.pending_exit is not None:
            raise bridge.pending_exit
        if not result.ok:
            pty.output(result.traceback)
            if result.exc_type == "KeyboardInterrupt":
                self._stop = True

    def _report(self):
        events = self.server.events
        for event in events[self._events_seen :]:
            self.log(f"lns: {event}")
        self._events_seen = len(events)
        readings = self.server.readings
        for reading in readings[self._readings_seen :]:
            self.log(f"lns: reading {reading.get('dev_eui')} {reading['kind']} {reading['data']}")
        self._readings_seen = len(readings)
