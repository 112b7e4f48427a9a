"""The device under test in an emulated field, and the test tool's side of it.

``DutField``: the real firmware entry (``lorafield_node.apps.start``, a temperature node with
a DS18B20) on an emulated board with the SX1276 model, the air, an emulated gateway 50 m away
and the embedded local network server, all on virtual time. The node and the tool meet only
on the air: the tool queues FPort 224 downlinks through the server (``enqueue_test``) and
reads what the server received.

``TestTool``: what the LoRa Alliance's test tool (the TCL) does for these tests: send one
TS009 command, wait until it went out and for the answer on FPort 224, and list the DUT's
uplinks as frames (MHDR, FCtrl and FOpts read from the PHYPayload here, FRMPayload as the
server decrypted it).
"""

import random
from dataclasses import dataclass

from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_hw.air import Air
from lorafield_hw.airtime import time_on_air_us
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US, EmulatedGateway, LnsLink
from lorafield_hw.scenarios import DiurnalTemperature
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import DS18B20
from lorafield_node.apps import start

S = 1_000_000
TEST_PORT = 224
DEV_EUI = bytes.fromhex("70b3d57ed0009009")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")
CONFIRMED_UP = 4


class ConformanceError(Exception):
    """The harness could not run (a region name the firmware does not know): one line, no
    traceback, for the CLI."""


class StepTimeout(AssertionError):
    """What a test case waited for did not happen in time (the case fails, saying what)."""


@dataclass(frozen=True)
class Uplink:
    """One data frame of the DUT as the network server received it."""

    start_s: float  # virtual seconds when it started on air
    fcnt: int
    fport: int | None
    confirmed: bool
    adr: bool
    fopts: bytes
    payload: bytes | None  # decrypted FRMPayload (None without FPort)
    dr: int
    frequency_hz: int
    airtime_s: float
    dev_addr: str
    index: int  # position in the server's frame list


def field_region(name):
    """(region object, sub-bands) for ``name``: US915 and AU915 run on sub-band 2 (FSB2,
    what TTN and most ChirpStack installs use), node, gateway and server alike.
    ConformanceError for a name the firmware does not know."""
    from lorafield_node.region import NAMES, region

    if name not in NAMES:
        raise ConformanceError(f"--region {name}: not one of {', '.join(NAMES)}")
    plan = region(name)
    sub_bands = (2,) if plan.fixed else None
    if sub_bands:
        plan = region(name, sub_bands)
    return plan, sub_bands


class DutField:
    """The world; ``certification`` is the device setting under test."""

    def __init__(self, seed=1, certification=True, region_name="EU868", interval_s=60):
        self.region, sub_bands = field_region(region_name)
        rnd = random.Random(seed)
        test_app_key = rnd.randbytes(16)  # a test key, made here for this run only
        self.test_app_key = test_app_key  # for tests that check the air independently
        self.scheduler = Scheduler(seed)
        self.air = Air(self.scheduler)
        self.registry = DeviceRegistry()
        self.registry.add_otaa(DEV_EUI, JOIN_EUI, test_app_key, kind="temperature", name="dut")
        self.server = NetworkServer(
            self.registry, region=region_name, sub_bands=sub_bands, adr=False
        )
        self.gateway = EmulatedGateway(
            self.air, "gw0", (50.0, 0.0), region=region_name, sub_bands=sub_bands
        )
        self.link = LnsLink(self.scheduler, self.server, [self.gateway])
        climate = DiurnalTemperature(seed=seed)

        def sensors(clock):
            return [DS18B20(climate=climate, clock=clock, seed=seed + 1)]

        self.settings = {
            "app": "temperature",
            "dev_eui": DEV_EUI,
            "join_eui": JOIN_EUI,
            "app_key": test_app_key,
            "interval_s": interval_s,
            "certification": certification,
            "region": region_name,
            # The DUT's uplinks at SF7/125 kHz, as a test tool sets them before its sequences
            # (US915's DR0 carries 11 bytes: no DutVersionAns, a cut echo).
            "dr": self.region.dr_of(7, 125_000),
        }
        if sub_bands:
            self.settings["sub_bands"] = list(sub_bands)
        self.board = EmulatedBoard(
            self.scheduler,
            lambda view: start(view, self.settings),
            "heltec_lora32_v2",
            air=self.air,
            position=(0.0, 0.0),
            sensors=sensors(lambda: self.scheduler.now_us),
            seed=seed,
        )
        self._parsed = 0
        self._uplinks = []

    # -- time ------------------------------------------------------------------------------
    @property
    def now_s(self):
        return self.scheduler.now_us / S

    def power_on(self):
        self.board.power_on()

    def run_for(self, seconds):
        self.scheduler.run_until(self.scheduler.now_us + int(seconds * S))

    def run_until(self, condition, timeout_s, what, step_s=0.5):
        """Run until ``condition()`` is truthy (its value is returned); StepTimeout saying
        ``what`` after ``timeout_s`` virtual seconds."""
        end = self.scheduler.now_us + int(timeout_s * S)
        while True:
            value = condition()
            if value:
                return value
            if self.scheduler.now_us >= end:
                raise StepTimeout(f"no {what} within {timeout_s:g} s")
            self.run_for(step_s)

    # -- what the server saw ---------------------------------------------------------------
    def events(self, kind, since_s=None):
        out = []
        for e in self.server.events:
            if e.kind == kind and (since_s is None or server_secs(e.time_us) >= since_s):
                out.append(e)
        return out

    def uplinks(self):
        """Every data frame of the DUT so far, oldest first."""
        frames = self.server.frames
        if self._parsed < len(frames):
            raw = {}
            for r in self.server.readings:
                raw[(r["time_us"], r["fcnt"])] = bytes(r["raw"])
            for i in range(self._parsed, len(frames)):
                self._uplinks.append(self._uplink(frames[i], raw, i))
            self._parsed = len(frames)
        return list(self._uplinks)

    def _uplink(self, frame, raw, index):
        phy = bytes.fromhex(frame["phy_hex"])
        fctrl = phy[5]
        nfo = fctrl & 0x0F
        sf, bw = self.region.dr_params(frame["dr"])
        airtime_us = time_on_air_us(len(phy), sf, bw, preamble=8)
        end_us = frame["time_us"] - self.server.dedup.window_us
        return Uplink(
            start_s=server_secs(end_us - airtime_us),
            fcnt=frame["fcnt"],
            fport=frame["fport"],
            confirmed=phy[0] >> 5 == CONFIRMED_UP,
            adr=bool(fctrl & 0x80),
            fopts=phy[8 : 8 + nfo],
            payload=raw.get((frame["time_us"], frame["fcnt"])),
            dr=frame["dr"],
            frequency_hz=frame["frequency_hz"],
            airtime_s=airtime_us / S,
            dev_addr=frame["dev_addr"],
            index=index,
        )


def server_secs(server_time_us):
    """Virtual seconds of a time on the server's clock (events, frames)."""
    return (server_time_us - EMULATION_EPOCH_US) / S


class TestTool:
    """The test tool's (TCL's) side: TS009 commands in, answers and uplinks out."""

    __test__ = False  # not a pytest class

    def __init__(self, field):
        self.field = field

    def downlink_room(self):
        """The FRMPayload bytes a downlink to the DUT's last uplink carries in both windows
        (the server holds back a longer one; RP002 2.x.6, downlink dwell time as the
        session has it)."""
        f = self.field
        r = f.region
        up = f.uplinks()[-1]
        session = f.server.session(DEV_EUI)
        dwell = getattr(session, "downlink_dwell", False)
        drs = (r.rx1_dr(up.dr, session.rx1_dr_offset, dwell), session.rx2_dr)
        return min(r.max_payload(dr, 0, dwell) for dr in drs)

    def uplinks(self, after_s=None):
        ups = self.field.uplinks()
        return [u for u in ups if after_s is None or u.start_s > after_s]

    def next_uplinks(self, n, after_s, timeout_s=300, port=None):
        """The first ``n`` uplinks (on ``port`` if given) starting after ``after_s``."""

        def enough():
            ups = [u for u in self.uplinks(after_s) if port is None or u.fport == port]
            return ups[:n] if len(ups) >= n else None

        what = f"{n} uplink(s)" + (f" on FPort {port}" if port is not None else "")
        return self.field.run_until(enough, timeout_s, what)

    def send(self, command, timeout_s=300, confirmed=False):
        """Queue ``command`` (bytes) on FPort 224 and run until the gateway sent it; the
        delivery (time_s, window)."""
        server = self.field.server
        ref = server.enqueue_test(DEV_EUI, bytes(command), confirmed)

        def sent():
            for e in server.events:
                if e.kind == "downlink_sent" and e.detail.get("ref") == ref:
                    return server_secs(e.time_us), e.detail.get("window")
            return None

        return self.field.run_until(sent, timeout_s, f"delivery of command 0x{command[0]:02x}")

    def ask(self, command, timeout_s=300):
        """Send ``command`` and return the DUT's answer: the first FPort 224 uplink after
        the delivery, as (payload, Uplink, delivery window)."""
        at, window = self.send(command, timeout_s)
        (up,) = self.next_uplinks(1, at, timeout_s, port=TEST_PORT)
        return up.payload, up, window

    def silent(self, command, watch_uplinks=3, timeout_s=300):
        """Send a command that has no answer; the ``watch_uplinks`` uplinks after it, which
        must carry no FPort 224 frame (StepTimeout if they do not come)."""
        at, _ = self.send(command, timeout_s)
        ups = self.next_uplinks(watch_uplinks, at, timeout_s)
        return at, ups
