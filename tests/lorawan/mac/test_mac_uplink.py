"""Uplinks: counters, retransmissions, ACKs, downlink checks, payload limits, duty cycle,
channel choice, ADR backoff and persistence across reboots (fake radio, virtual clock)."""

from collections import Counter

import pytest
from fakes import APP, DEV_ADDR, NWK, FakeBoard, FakeRadio, Net, abp_mac
from lorafield_node import adr
from lorafield_node.mac import DutyCycleWait, Mac, MacError, NotJoined, PayloadTooLarge
from lorafield_node.phy import CONFIRMED_UP, FCTRL_ACK, FCTRL_ADR_ACK_REQ, parse_data
from lorafield_node.store import Store


def free(mac):
    mac._board.lightsleep(mac.time_until_send_ms() + 1)


def test_frames_carry_increasing_fcnt_fport_and_adr_bit():
    mac, _, radio = abp_mac()
    for i in range(3):
        r = mac.send(10 + i, b"abc")
        assert r.fcnt == i
        free(mac)
    frames = [parse_data(t.phy) for t in radio.txs]
    assert [f.fcnt for f in frames] == [0, 1, 2]
    assert [f.fport for f in frames] == [10, 11, 12]
    assert all(f.adr and f.dev_addr == DEV_ADDR for f in frames)


def test_not_joined_and_bad_fport_are_typed_errors():
    board = FakeBoard()
    mac = Mac(board, radio=FakeRadio(board.clock()), store=Store(board.flash()))
    with pytest.raises(NotJoined):
        mac.send(1, b"x")
    mac.activate_abp(DEV_ADDR, NWK, APP)
    for port in (0, 224, 300):
        with pytest.raises(MacError):
            mac.send(port, b"x")


@pytest.mark.parametrize("dr,limit", [(0, 51), (3, 115), (5, 222)])
def test_max_payload_per_dr(dr, limit):
    mac, _, radio = abp_mac()
    mac.set_dr(dr)
    with pytest.raises(PayloadTooLarge) as e:
        mac.send(1, bytes(limit + 1))
    assert (e.value.max_len, e.value.dr) == (limit, dr)
    assert radio.txs == [] and mac.session.fcnt_up == 0  # nothing sent, no counter used
    mac.send(1, bytes(limit))
    assert len(radio.txs) == 1


def test_confirmed_uplink_retransmitted_until_acked():
    mac, board, radio = abp_mac()
    net = Net()
    radio.reply = lambda w: net.downlink(ack=True) if len(radio.txs) == 3 and w.index == 1 else None
    r = mac.send(2, b"c", confirmed=True)
    assert r.acked and r.transmissions == 3
    assert len({t.phy for t in radio.txs}) == 1  # the same frame, the same FCnt
    assert parse_data(radio.txs[0].phy).mtype == CONFIRMED_UP
    for a, b in zip(radio.txs, radio.txs[1:], strict=False):
        rx2_end = a.end_us + 2_000_000
        assert b.start_us - rx2_end >= 1_000_000 - 100_000  # ACK_TIMEOUT 2 +- 1 s
        # All default channels share sub-band 868.0-868.6 MHz (1 %): 99 x the airtime off.
        assert b.start_us - a.end_us >= (a.end_us - a.start_us) * 99


def test_confirmed_uplink_gives_up_after_the_retry_limit():
    mac, _, radio = abp_mac(confirmed_tries=4)
    r = mac.send(2, b"c", confirmed=True)
    assert not r.acked and r.transmissions == 4 and len(radio.txs) == 4


def test_unconfirmed_nbtrans_stops_at_first_downlink():
    mac, _, radio = abp_mac()
    mac.session.nb_trans = 3
    r = mac.send(1, b"u")
    assert r.transmissions == 3
    net = Net()
    free(mac)
    radio.reply = lambda w: net.downlink() if len(radio.txs) == 5 and w.index == 2 else None
    r = mac.send(1, b"u")
    assert r.transmissions == 2 and r.downlink.window == 2


def test_confirmed_downlink_is_acked_in_next_uplink_and_fpending_surfaces():
    mac, _, radio = abp_mac()
    net = Net()
    radio.reply = lambda w: net.downlink(3, b"d", confirmed=True, fpending=True)
    r = mac.send(1, b"u")
    assert r.downlink.confirmed and r.fpending
    assert not parse_data(radio.txs[-1].phy).fctrl & FCTRL_ACK
    radio.reply = None
    free(mac)
    mac.send(1, b"u")
    assert parse_data(radio.txs[-1].phy).fctrl & FCTRL_ACK
    free(mac)
    mac.send(1, b"u")
    assert not parse_data(radio.txs[-1].phy).fctrl & FCTRL_ACK


def test_replayed_forged_and_foreign_downlinks_are_dropped_and_counted():
    got = []
    mac, _, radio = abp_mac(on_downlink=got.append)
    net = Net()
    first = net.downlink(4, b"one")
    radio.reply = lambda w: first
    assert mac.send(1, b"u").downlink.payload == b"one"
    free(mac)
    r = mac.send(1, b"u")  # the same frame again in RX1 and RX2: a replay
    assert r.downlink is None and mac.stats.dropped_replay == 2
    forged = bytearray(net.downlink(4, b"two"))
    forged[-2] ^= 0x10
    radio.reply = lambda w: bytes(forged)
    free(mac)
    assert mac.send(1, b"u").downlink is None
    assert mac.stats.dropped_mic == 2
    other = Net(dev_addr=DEV_ADDR + 1).downlink(4, b"x")
    radio.reply = lambda w: other
    free(mac)
    assert mac.send(1, b"u").downlink is None
    assert mac.stats.dropped_addr == 2
    assert [d.payload for d in got] == [b"one"]
    # The genuine next downlink (FCntDown 2, one was skipped) is still accepted.
    later = net.downlink(4, b"three")
    radio.reply = lambda w: later
    free(mac)
    assert mac.send(1, b"u").downlink.fcnt == 2
    assert mac.stats.downlinks == 2


def test_duty_cycle_says_how_long_instead_of_sending():
    mac, board, radio = abp_mac()
    mac.send(1, bytes(10))
    tx = radio.txs[-1]
    airtime_ms = -(-(tx.end_us - tx.start_us) // 1000)
    with pytest.raises(DutyCycleWait) as e:
        mac.send(1, bytes(10))
    elapsed_ms = board.clock().ticks_ms() - tx.end_us // 1000
    assert abs(e.value.wait_ms - (airtime_ms * 99 - elapsed_ms)) <= 1
    assert len(radio.txs) == 1 and mac.session.fcnt_up == 1  # nothing sent, no counter used
    board.lightsleep(e.value.wait_ms - 5)
    with pytest.raises(DutyCycleWait):
        mac.send(1, bytes(10))
    board.lightsleep(6)
    mac.send(1, bytes(10))
    assert len(radio.txs) == 2


def test_channels_chosen_at_random_among_enabled_ones():
    mac, board, radio = abp_mac()
    for _ in range(150):
        mac.send(1, b"x")
        free(mac)
    counts = Counter(t.freq for t in radio.txs)
    assert set(counts) == {868_100_000, 868_300_000, 868_500_000}
    assert min(counts.values()) > 30
    mac.session.ch_mask = 0b100
    for _ in range(5):
        mac.send(1, b"x")
        free(mac)
    assert {t.freq for t in radio.txs[-5:]} == {868_500_000}


def test_adr_backoff_sequence():
    mac, board, radio = abp_mac()
    s = mac.session
    s.dr, s.tx_power = 5, 3
    s.ch_mask = 0b001
    seen = []
    for _ in range(64 + 32 * 8):
        mac.send(1, b"x")
        f = parse_data(radio.txs[-1].phy)
        seen.append((bool(f.fctrl & FCTRL_ADR_ACK_REQ), radio.txs[-1].sf, s.tx_power, s.ch_mask))
        free(mac)
    req = [x[0] for x in seen]
    assert req[:64] == [False] * 64  # ADR_ACK_CNT 0..63
    assert all(req[64 : 64 + 32 * 6])  # asks from ADR_ACK_CNT = 64 on
    assert [x[2] for x in seen[95:97]] == [3, 0]  # default power at 64 + 32
    sfs = [x[1] for x in seen]
    # DR5 until 127, then one DR lower every 32 uplinks: DR4 at 128 ... DR0 at 256.
    assert sfs[127:129] == [7, 8] and sfs[159:161] == [8, 9] and sfs[256] == 12
    assert seen[287][3] == 0b001 and seen[288][3] == 0b111  # default channels back at 288
    assert not any(req[257:])  # at DR0 and default power there is nothing to ask for
    # A downlink ends the backoff: the counter restarts.
    net = Net()
    radio.reply = lambda w: net.downlink()
    mac.send(1, b"x")
    radio.reply = None
    assert mac.session.adr_ack_cnt() == 0


def test_adr_backoff_steps_once_per_uplink_even_when_the_duty_cycle_refuses():
    mac, board, radio = abp_mac()
    s = mac.session
    s.dr, s.tx_power = 5, 0
    for i in range(129):
        while True:
            try:
                mac.send(1, b"x")
                break
            except DutyCycleWait as e:  # each refusal is a retry of the same uplink
                board.lightsleep(max(1, e.wait_ms // 2))
        assert s.dr == (5 if i < 96 else 4 if i < 128 else 3)


def test_adr_backoff_pure_logic():
    assert not adr.ack_req(63, 5, 0, 0, 0) and adr.ack_req(64, 5, 0, 0, 0)
    assert not adr.ack_req(500, 0, 0, 0, 0)
    assert adr.backoff_step(95, 5, 2, 0, 0) == adr.STEP_NONE
    assert adr.backoff_step(96, 5, 2, 0, 0) == adr.STEP_POWER
    assert adr.backoff_step(96, 5, 0, 0, 0) == adr.STEP_DR
    assert adr.backoff_step(128, 0, 0, 0, 0) == adr.STEP_CHANNELS
    assert adr.backoff_step(129, 3, 0, 0, 0) == adr.STEP_NONE


def reboot(board):
    radio = FakeRadio(board.clock())
    return Mac(board, radio=radio, store=Store(board.flash())), radio


def test_fcnt_continues_after_reboot_and_abp_reprovisioning():
    mac, board, radio = abp_mac(fcnt_reserve=8)
    for _ in range(5):
        mac.send(1, b"x")
        free(mac)
    mac2, radio2 = reboot(board)
    assert mac2.joined and mac2.session.dev_addr == DEV_ADDR
    mac2.activate_abp(DEV_ADDR, NWK, APP)  # the same session: counters continue
    free(mac2)
    r = mac2.send(1, b"x")
    assert r.fcnt == 8  # the reservation: 5, 6, 7 skipped after the reboot, none reused
    mac3, _ = reboot(board)
    mac3.activate_abp(DEV_ADDR, bytes(16), APP)  # new keys: a new session from 0
    free(mac3)
    assert mac3.send(1, b"x").fcnt == 0


def test_fcnt_down_survives_reboot():
    mac, board, radio = abp_mac()
    net = Net()
    old = net.downlink(1, b"a")
    radio.reply = lambda w: old
    mac.send(1, b"x")
    mac2, radio2 = reboot(board)
    radio2.reply = lambda w: old  # replayed after a reboot: still a replay
    free(mac2)
    assert mac2.send(1, b"x").downlink is None
    assert mac2.stats.dropped_replay == 2
