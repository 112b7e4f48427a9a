"""End to end on the air medium: a scripted device (the firmware's frame builders on plain
medium endpoints) joins through the emulated gateway and gets downlinks in RX1 and RX2."""

import pytest
from lns_helpers import DEV_EUI, ScriptedDevice, registry
from lorafield_gateway.lns import NetworkServer
from lorafield_hw.air import Air, Gateway, Transmitter
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.scheduler import Scheduler
from lorafield_node.region import eu868

REGION = eu868()
WINDOW_MARGIN_US = 20_000  # the scripted device opens each window this early


class AirDevice:
    """A Class A device on the air: a transmitter for uplinks, a one-channel inverted-IQ
    receiver opened for RX1 and RX2 after each uplink (no MAC logic: a script)."""

    def __init__(self, world, position=(50.0, 0.0), sf=7, freq=868_100_000):
        self.sched, self.air = world
        self.script = ScriptedDevice()
        self.tx = Transmitter(self.air, "node", position, frequency_hz=freq, sf=sf)
        self.sf = sf
        self.freq = freq
        self.received = []  # (window, phy, start_us)
        self._uplink_no = 0
        self._answered = set()  # uplinks that got their downlink in RX1

    def send(self, phy, join=False):
        frame = self.tx.send(phy)
        self._uplink_no += 1
        d1 = 5_000_000 if join else 1_000_000
        rx2_sf, _ = REGION.dr_params(REGION.rx2_dr)
        self.sched.at(frame.end_us + d1 - WINDOW_MARGIN_US, self._open, "RX1", self.freq, self.sf)
        self.sched.at(
            frame.end_us + d1 + 1_000_000 - WINDOW_MARGIN_US,
            self._open,
            "RX2",
            REGION.rx2_frequency,
            rx2_sf,
        )
        return frame

    def _open(self, window, freq, sf):
        uplink_no = self._uplink_no
        if window == "RX2" and uplink_no in self._answered:
            return  # got it in RX1: a Class A device does not open RX2
        rx = Gateway(
            self.air,
            f"node-{window}",
            self.tx.position,
            channels_hz=(freq,),
            sfs=(sf,),
            iq_inverted=True,
            demodulators=1,
        )
        locked = []
        rx.air_lock = locked.append

        def got(reception):
            self.received.append((window, reception.frame.payload, reception.frame.start_us))
            self._answered.add(uplink_no)
            rx.stop()

        rx.on_receive = got
        rx.start()
        # Like an RX single with a symbol timeout: give up unless a preamble was locked.
        self.sched.after(2 * WINDOW_MARGIN_US + 8 * (1 << sf) * 8, self._timeout, rx, locked)

    def _timeout(self, rx, locked):
        if not locked:
            rx.stop()


@pytest.fixture
def world():
    sched = Scheduler(seed=1)
    return sched, Air(sched)


def _network(world, **gw_knobs):
    sched, air = world
    ns = NetworkServer(registry(ScriptedDevice()))
    gw = EmulatedGateway(air, "gw0", (0.0, 0.0), **gw_knobs)
    link = LnsLink(sched, ns, [gw])
    return ns, gw, link


def test_join_then_confirmed_uplink_acked_in_rx1(world):
    sched, air = world
    ns, gw, link = _network(world)
    dev = AirDevice(world)
    up = dev.send(dev.script.join_request(), join=True)
    sched.run_until(up.end_us + 7_000_000)
    assert [w for w, _, _ in dev.received] == ["RX1"]
    window, phy, start = dev.received[0]
    assert start == up.end_us + 5_000_000  # exactly the RX1 instant of a join
    dev.script.take_accept(phy)
    assert ns.session(DEV_EUI).dev_addr == dev.script.dev_addr

    # An unconfirmed uplink with nothing to answer: verified, decoded, no downlink.
    up = dev.send(dev.script.uplink(fport=12, payload=b"\x19\x08\x6b"))
    sched.run_until(up.end_us + 3_000_000)
    assert len(dev.received) == 1 and len(gw.transmitted) == 1
    assert ns.readings[-1]["data"] == {"temperature_c": 21.55}
    assert ns.readings[-1]["fcnt"] == 0

    ns.enqueue_config(DEV_EUI, {"interval_s": 600})
    up = dev.send(dev.script.uplink(fport=12, payload=b"\x19\x08\x66", confirmed=True))
    sched.run_until(up.end_us + 3_000_000)
    window, phy, start = dev.received[-1]
    assert (window, start) == ("RX1", up.end_us + 1_000_000)
    frame = dev.script.open_downlink(phy)
    assert frame.ack and frame.fport == 30 and not frame.fpending
    assert ns.readings[-1]["data"] == {"temperature_c": 21.5}
    item = gw.transmitted[-1][1]
    assert (item.frequency_hz, item.sf, item.window) == (868_100_000, 7, "RX1")
    assert gw.transmitted[-1][2].iq_inverted
    assert [e.kind for e in ns.events if e.kind.endswith("_sent")] == [
        "join_accept_sent",
        "downlink_sent",
    ]


def test_downlink_one_ms_too_late_for_rx1_goes_out_in_rx2(world):
    sched, air = world
    ns, gw, link = _network(world)
    dev = AirDevice(world, sf=9)
    up = dev.send(dev.script.join_request(), join=True)
    sched.run_until(up.end_us + 7_000_000)
    dev.script.take_accept(dev.received[-1][1])

    # The server answers when its de-duplication window closes; make the downlink reach the
    # gateway 1 ms after the RX1 instant.
    gw.backhaul_delay_us = 1_000_000 - ns.dedup.window_us + 1_000
    up = dev.send(dev.script.uplink(fport=1, payload=b"\x01", confirmed=True))
    sched.run_until(up.end_us + 4_000_000)
    window, phy, start = dev.received[-1]
    assert (window, start) == ("RX2", up.end_us + 2_000_000)
    assert dev.script.open_downlink(phy).ack
    item = gw.transmitted[-1][1]
    assert (item.frequency_hz, item.sf, item.power_dbm) == (869_525_000, 12, 27.0)
    assert gw.tx_acks[-1].window == "RX2"


def test_too_late_for_both_windows_requeues_and_reports(world):
    sched, air = world
    ns, gw, link = _network(world)
    dev = AirDevice(world)
    up = dev.send(dev.script.join_request(), join=True)
    sched.run_until(up.end_us + 7_000_000)
    dev.script.take_accept(dev.received[-1][1])
    ns.enqueue(DEV_EUI, 5, b"abc")
    gw.backhaul_delay_us = 2_500_000
    up = dev.send(dev.script.uplink(fport=1, payload=b"\x01"))
    sched.run_until(up.end_us + 4_000_000)
    assert gw.tx_acks[-1].status == "TOO_LATE"
    failed = [e for e in ns.events if e.kind == "downlink_failed"]
    assert failed and failed[-1].reason == "TOO_LATE"
    assert [q.payload for q in ns.queue(DEV_EUI)] == [b"abc"]  # back in the queue
    # The next uplink, with a fast backhaul, carries it (FCntDown moved on: 0 was lost).
    gw.backhaul_delay_us = 0
    up = dev.send(dev.script.uplink(fport=1, payload=b"\x02"))
    sched.run_until(up.end_us + 3_000_000)
    frame = dev.script.open_downlink(dev.received[-1][1])
    assert (frame.fport, frame.payload, frame.fcnt) == (5, b"abc", 1)


def test_two_gateways_one_reading_downlink_via_the_best(world):
    sched, air = world
    ns = NetworkServer(registry(ScriptedDevice()))
    far = EmulatedGateway(air, "far", (-40.0, 0.0))
    near = EmulatedGateway(air, "near", (60.0, 0.0))
    LnsLink(sched, ns, [far, near])
    dev = AirDevice(world, position=(50.0, 0.0))
    up = dev.send(dev.script.join_request(), join=True)
    sched.run_until(up.end_us + 7_000_000)
    dev.script.take_accept(dev.received[-1][1])
    up = dev.send(dev.script.uplink(fport=12, payload=b"\x19\x08\x66", confirmed=True))
    sched.run_until(up.end_us + 3_000_000)
    assert len(far.uplinks) == 2 and len(near.uplinks) == 2  # both heard both frames
    assert len(ns.readings) == 1
    assert ns.frames[-1]["gateway_id"] == "near"
    assert far.transmitted == [] and len(near.transmitted) == 2
    assert dev.script.open_downlink(dev.received[-1][1]).ack
