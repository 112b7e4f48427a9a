"""The gateway radio path on the emulated SX1276 through the real adafruit_rfm9x driver:
LoRaWAN settings, reception metadata, downlink timing and every scheduling refusal."""

import pytest
from gw_helpers import ClassANode, configure, send, uplink
from lorafield_gateway.clock import VirtualClock
from lorafield_gateway.config import RadioSection
from lorafield_gateway.radio import Rfm95, TxRequest, time_on_air_us
from lorafield_gateway.radio_loop import RadioLoop, tmst_to_monotonic
from lorafield_gateway.stats import Stats
from lorafield_hw import sx1276_registers as r
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.airtime import time_on_air_us as hw_airtime
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sx1276 import SX1276


def world(**radio):
    scheduler = Scheduler(3)
    air = Air(scheduler, PathLoss(seed=3))
    gateway = SX1276(scheduler, air, name="gateway", position=(0.0, 0.0))
    node = SX1276(scheduler, air, name="node", position=(20.0, 0.0))
    cfg = RadioSection(kind="emulated", **radio)
    clock = VirtualClock(scheduler, epoch_us=1_767_225_600_000_000)
    rfm = Rfm95.open_emulated(gateway, cfg, clock, scheduler.time_module())
    return scheduler, gateway, node, cfg, clock, rfm


def test_lorawan_settings_written_through_the_driver():
    _, gateway, _, _, _, _ = world(sf=9)
    assert gateway.sync_word == 0x34
    assert (gateway.spreading_factor, gateway.bandwidth_hz, gateway.coding_rate) == (9, 125_000, 5)
    assert gateway.frequency_hz == pytest.approx(868.1e6, abs=61.1)
    assert gateway.crc_on and not gateway.implicit_header  # explicit header, CRC
    assert not gateway.rx_iq_inverted and not gateway.tx_iq_inverted
    assert gateway.regs[r.REG_INVERT_IQ2] == r.INVERT_IQ2_OFF
    assert gateway.mode == r.MODE_RX_CONTINUOUS


def test_received_frame_has_payload_without_radiohead_header_and_metadata():
    scheduler, _, node, _, _, rfm = world()
    phy = uplink(0x26000001, 5)
    configure(node)
    send(node, phy)
    end = scheduler.now_us + round(hw_airtime(len(phy), 7, 125_000))
    assert rfm.poll_rx() is None
    scheduler.run_until(end + 50)
    frame = rfm.poll_rx()
    assert frame.payload == phy  # all bytes, no 4-byte header stripped
    assert frame.crc == "ok" and frame.sf == 7 and frame.frequency_hz == 868_100_000
    assert end <= frame.monotonic_us <= end + 100  # polled right after RxDone
    assert frame.tmst_us == frame.monotonic_us & 0xFFFFFFFF
    expected = node.air.rx_power_dbm(node.tx_power_dbm, node, rfm_chip(rfm))
    assert abs(frame.rssi_dbm - expected) <= 1 and frame.snr_db > 0
    assert frame.wall_us == 1_767_225_600_000_000 + frame.monotonic_us
    assert rfm.poll_rx() is None  # flags cleared


def rfm_chip(rfm):
    return rfm.rfm._device.spi.chip


def test_tmst_wraps_to_the_nearest_instant():
    now = (5 << 32) + 100
    assert tmst_to_monotonic(1_000_100, now) == now + 1_000_000
    assert tmst_to_monotonic(0xFFFFFF00, now) == now - 100 - 0x100
    assert tmst_to_monotonic(50, (5 << 32) - 20) == (5 << 32) + 50


def run_loop(scheduler, gateway_rfm, clock, cfg):
    stats = Stats()
    frames, sent = [], []
    loop = RadioLoop(gateway_rfm, clock, cfg, frames.append, stats, on_tx=sent.append)
    scheduler.spawn(loop.run, name="radio-loop")
    return loop, stats, frames, sent


def test_downlink_sent_at_the_instant_with_inverted_iq_and_received_in_rx1():
    scheduler, gateway, node_chip, cfg, clock, rfm = world()
    loop, stats, frames, sent = run_loop(scheduler, rfm, clock, cfg)
    node = ClassANode(scheduler, node_chip)
    scheduler.spawn(node.run, uplink(0x26000001, 1))
    scheduler.run_until(200_000)
    assert len(frames) == 1
    tmst = frames[0].tmst_us
    answer = b"\x60" + bytes(range(1, 16))
    request = TxRequest(answer, 868_100_000, 7, tmst=(tmst + 1_000_000) & 0xFFFFFFFF, power_dbm=14)
    assert loop.submit(request) == "OK"
    scheduler.run_until(2_000_000)
    assert sent == [request] and request.result == "OK"
    # The chip went to TX at the requested instant on the gateway's counter...
    assert request.started_us == frames[0].monotonic_us + 1_000_000
    assert gateway.tx.sent == 1
    # ... and the node's RX1 window (opened from its own TxDone) received it.
    assert [payload for _, payload in node.received] == [answer]
    assert node.rx_timeouts == 0
    assert stats.get("downlink.emitted") == 1
    # Back to uplink reception afterwards: normal IQ, RX continuous.
    assert gateway.mode == r.MODE_RX_CONTINUOUS and not gateway.rx_iq_inverted


def test_rx2_style_downlink_on_another_frequency_sf_and_power():
    scheduler, gateway, node_chip, cfg, clock, rfm = world()
    loop, _, frames, sent = run_loop(scheduler, rfm, clock, cfg)
    node = ClassANode(scheduler, node_chip, rx1_delay_us=2_000_000)
    scheduler.spawn(node.run, uplink(0x26000001, 2), 7, 9, 869_525_000)
    scheduler.run_until(200_000)
    answer = b"\x60" + bytes(range(20, 40))
    tmst = (frames[0].tmst_us + 2_000_000) & 0xFFFFFFFF
    request = TxRequest(answer, 869_525_000, 9, tmst=tmst, power_dbm=10)
    assert loop.submit(request) == "OK"
    scheduler.run_until(3_000_000)
    assert request.result == "OK" and [p for _, p in node.received] == [answer]
    assert gateway.tx_power_dbm == 10  # the PA setting the chip transmitted with (5.4.3)
    assert gateway.frequency_hz == pytest.approx(868.1e6, abs=61.1)  # back on the uplink channel
    assert gateway.spreading_factor == 7 and sent == [request]


def test_scheduling_refusals():
    scheduler, _, _, cfg, clock, rfm = world()
    loop, stats, _, _ = run_loop(scheduler, rfm, clock, cfg)
    scheduler.run_until(10_000_000)
    now = clock.now_us()

    def at(delay_us, **kw):
        fields = dict(frequency_hz=868_100_000, sf=7, power_dbm=14)
        fields.update(kw)
        return TxRequest(b"\x60" * 12, tmst=(now + delay_us) & 0xFFFFFFFF, **fields)

    assert loop.submit(at(500_000, frequency_hz=915_000_000)) == "TX_FREQ"
    assert loop.submit(at(500_000, power_dbm=1)) == "TX_POWER"
    assert loop.submit(at(1_000)) == "TOO_LATE"  # less than tx_prepare_us away
    assert loop.submit(at(-5_000)) == "TOO_LATE"
    assert loop.submit(at(11_000_000)) == "TOO_EARLY"
    first = at(500_000, power_dbm=27)
    assert loop.submit(first) == "OK" and first.power_dbm == 14  # clamped to the maximum
    overlap = at(500_000 + time_on_air_us(12, 7, 125_000, crc=False) // 2)
    assert loop.submit(overlap) == "COLLISION_PACKET"
    for status in ("TX_FREQ", "TX_POWER", "TOO_EARLY", "COLLISION_PACKET"):
        assert stats.get(f"downlink.{status}") == 1
    assert stats.get("downlink.TOO_LATE") == 2


def test_a_downlink_overlapping_the_one_being_sent_is_refused_at_once():
    """The downlink taken from the queue (waiting for its instant, then on the air) counts in
    the collision check: one overlapping it is refused now, not found TOO_LATE at its instant
    when the radio is free again."""
    scheduler, gateway, _, cfg, clock, rfm = world()
    loop, stats, _, sent = run_loop(scheduler, rfm, clock, cfg)
    scheduler.run_until(1_000_000)
    airtime = time_on_air_us(12, 7, 125_000, crc=False)
    first = TxRequest(b"\x60" * 12, 868_100_000, 7, tmst=1_100_000)
    assert loop.submit(first) == "OK"
    scheduler.run_until(1_100_000 - cfg.tx_prepare_us // 2)  # taken, waiting for its instant
    assert loop.pending() == 0
    soonest = clock.now_us() + cfg.tx_prepare_us + 1_000  # not TOO_LATE, but over `first`
    assert soonest < 1_100_000 + airtime
    assert loop.submit(TxRequest(b"\x60" * 12, 868_100_000, 7, tmst=soonest)) == (
        "COLLISION_PACKET"
    )
    scheduler.run_until(1_100_000 + airtime // 2)  # on the air
    overlap = TxRequest(b"\x60" * 12, 868_100_000, 7, tmst=1_100_000 + airtime)
    assert loop.submit(overlap) == "COLLISION_PACKET"
    after = TxRequest(b"\x60" * 12, 868_100_000, 7, tmst=1_100_000 + 3 * airtime)
    assert loop.submit(after) == "OK"
    scheduler.run_until(2_000_000)
    assert sent == [first, after] and first.result == after.result == "OK"
    assert stats.get("downlink.late_at_instant") == 0 and gateway.tx.sent == 2


def test_downlink_whose_instant_passed_is_dropped_not_sent_late():
    scheduler, gateway, _, cfg, clock, rfm = world()
    loop, stats, _, sent = run_loop(scheduler, rfm, clock, cfg)
    scheduler.run_until(1_000_000)
    request = TxRequest(b"\x60" * 12, 868_100_000, 7, tmst=1_500_000)
    assert loop.submit(request) == "OK"
    # The loop is held up (a long SPI stall) past the instant.
    loop.radio.prepare_tx = lambda req: scheduler.advance(400_000)
    scheduler.run_until(3_000_000)
    assert sent == [request] and request.result == "TOO_LATE"
    assert gateway.tx.sent == 0 and stats.get("downlink.late_at_instant") == 1


def test_crc_error_frames_are_flagged():
    scheduler, _, node, _, _, rfm = world()
    other = SX1276(scheduler, node.air, name="other", position=(0.0, 20.0))
    for chip in (node, other):
        configure(chip)
    send(node, uplink(0x26000001, 1))
    send(other, uplink(0x26000002, 1))  # same instant, same channel: a collision
    scheduler.run_until(200_000)
    frame = rfm.poll_rx()
    assert frame is not None and frame.crc == "bad"


@pytest.mark.parametrize("dbm", [2, 10, 14, 17, 18, 20])
def test_pa_boost_power_follows_the_datasheet(dbm):
    _, gateway, _, _, _, rfm = world()
    rfm._set_power(dbm)
    assert gateway.tx_power_dbm == dbm
    assert gateway.regs[r.REG_OCP] == (0x32 if dbm > 17 else 0x2B)  # over-current limit
