"""The emulated gateway on its own: channels and SFs it hears, demodulator limit, tmst,
transmission at the exact instant, TOO_LATE, collisions, half-duplex, test knobs."""

import pytest
from lorafield_gateway.lns.types import DownlinkFrame, DownlinkItem
from lorafield_hw.air import Air, Transmitter
from lorafield_hw.airtime import time_on_air_us
from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US, EmulatedGateway
from lorafield_hw.scheduler import Scheduler

CHANNELS = (868_100_000, 868_300_000, 868_500_000)


@pytest.fixture
def world():
    sched = Scheduler(seed=3)
    air = Air(sched)
    heard = []
    gw = EmulatedGateway(air, "gw", (0.0, 0.0), on_uplink=lambda p, m: heard.append((p, m)))
    gw.start()
    return sched, air, gw, heard


def _item(tmst, window="RX1", freq=868_100_000, sf=7, power=14.0):
    return DownlinkItem(window, tmst & 0xFFFFFFFF, 1_000_000, freq, 12 - sf, sf, 125_000, power)


def _frame(n, *items, phy=b"\x60downlink-bytes"):
    return DownlinkFrame(n, "0000000000000001", "gw", phy, tuple(items))


def test_hears_every_default_channel_at_every_sf(world):
    sched, air, gw, heard = world
    node = Transmitter(air, "n", (30.0, 0.0))
    expected = []
    for ch in CHANNELS:
        for sf in range(7, 13):
            payload = bytes([sf]) + ch.to_bytes(4, "big")
            frame = node.send(payload, frequency_hz=ch, sf=sf)
            expected.append((payload, ch, sf, frame.end_us))
            sched.run_until(frame.end_us + 1)
    got = [(p, m.frequency_hz, m.sf, m.tmst_us) for p, m in heard]
    assert got == expected
    for _, m in heard:
        assert m.gateway_id == "gw" and m.bw_hz == 125_000 and m.snr_db > 0 > m.rssi_dbm
    # An off-plan channel and an inverted-IQ frame (another gateway's downlink) go unheard.
    node.send(b"off", frequency_hz=867_100_000, sf=7)
    node.send(b"iq", frequency_hz=868_300_000, sf=7, iq_inverted=True)
    sched.run_until(sched.now_us + 200_000)
    assert len(heard) == 18


def test_eight_demodulators(world):
    sched, air, gw, heard = world
    nodes = [Transmitter(air, f"n{i}", (20.0 + i, 0.0)) for i in range(9)]
    combos = [(ch, sf) for sf in (7, 8, 9) for ch in CHANNELS]  # 9 orthogonal settings
    for node, (ch, sf) in zip(nodes, combos, strict=True):
        node.send(b"x" * 10, frequency_hz=ch, sf=sf)
    sched.run_until(5_000_000)
    assert len(heard) == 8
    assert gw.rx.lost_busy == 1


def test_tmst_is_the_wrapping_counter_at_frame_end(world):
    sched, air, gw, heard = world
    gw.tmst_offset_us = 0xFFFFFFFF - 10_000  # the counter wraps during the frame
    node = Transmitter(air, "n", (30.0, 0.0))
    frame = node.send(b"hello")
    sched.run_until(frame.end_us + 1)
    (_, m) = heard[0]
    assert m.tmst_us == (frame.end_us + gw.tmst_offset_us) & 0xFFFFFFFF
    assert m.tmst_us < frame.end_us  # wrapped
    assert m.time_us == EMULATION_EPOCH_US + frame.end_us


def test_transmits_at_the_exact_instant_across_a_counter_wrap(world):
    sched, air, gw, heard = world
    gw.tmst_offset_us = 0xFFFFFFFF - 500_000  # wraps 0.5 s from now
    target = gw.tmst() + 1_000_000  # one second ahead on the (wrapped) counter
    ack = gw.send(_frame(1, _item(target, sf=9, power=14.0)))
    assert (ack.status, ack.window) == ("OK", "RX1")
    sched.run_until(2_000_000)
    (dl, item, frame) = gw.transmitted[0]
    assert frame.start_us == 1_000_000
    assert (frame.frequency_hz, frame.sf, frame.power_dbm) == (868_100_000, 9, 14.0)
    assert frame.iq_inverted and not frame.crc
    assert frame.end_us - frame.start_us == round(
        time_on_air_us(len(dl.phy), 9, 125_000, crc=False)
    )


def test_too_late_falls_back_to_the_next_item_then_reports(world):
    sched, air, gw, heard = world
    sched.run_until(3_000_000)
    now = gw.tmst()
    rx1 = _item(now - 1)  # one µs in the past
    rx2 = _item(now + 1_000_000, "RX2", 869_525_000, 12, 27.0)
    assert gw.send(_frame(1, rx1, rx2)).window == "RX2"
    assert gw.send(_frame(2, _item(now - 1))).status == "TOO_LATE"
    gw.min_lead_us = 50_000  # a concentrator that needs the frame 50 ms ahead
    assert gw.send(_frame(3, _item(now + 49_999))).status == "TOO_LATE"
    assert gw.send(_frame(4, _item(now + 50_000))).status == "OK"


def test_overlapping_transmissions_are_refused(world):
    sched, air, gw, heard = world
    t = gw.tmst() + 100_000
    assert gw.send(_frame(1, _item(t))).status == "OK"
    assert gw.send(_frame(2, _item(t + 10_000))).status == "COLLISION_PACKET"
    airtime = round(time_on_air_us(len(b"\x60downlink-bytes"), 7, 125_000, crc=False))
    assert gw.send(_frame(3, _item(t + airtime))).status == "OK"  # right after: fine


def test_half_duplex_and_tx_late_knob(world):
    sched, air, gw, heard = world
    gw.tx_late_us = 1_000
    gw.send(_frame(1, _item(gw.tmst() + 100_000, sf=12)))
    node = Transmitter(air, "n", (30.0, 0.0))
    sched.run_until(150_000)
    node.send(b"during", sf=7)  # while the gateway transmits its SF12 downlink
    sched.run_until(3_000_000)
    (_, _, frame) = gw.transmitted[0]
    assert frame.start_us == 101_000
    assert heard == []  # deaf while transmitting
    late = node.send(b"after", sf=7)
    sched.run_until(late.end_us + 1)
    assert [p for p, _ in heard] == [b"after"]  # listening again
