"""Receive windows: opened on time relative to TxDone with the clock-error margin, RX1/RX2
parameters, join windows, what a received frame does to RX2."""

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fakes import DEV_ADDR, FakeBoard, FakeRadio, Net, abp_mac
from lorafield_node.aes import new_aes
from lorafield_node.airtime import symbol_us
from lorafield_node.join import cflist_frequencies, dl_settings, join_accept_plaintext
from lorafield_node.mac import Mac
from lorafield_node.store import Store

APP_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
DEV_EUI = bytes.fromhex("0004a30b001c0530")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")


def lock_point_ok(window, nominal_us, late_us):
    """A downlink starting `late_us` after `nominal_us` is detected (3 preamble symbols in)
    before the window's symbol timeout ends."""
    tsym = symbol_us(window.sf, window.bw)
    return nominal_us + late_us + 3 * tsym <= window.open_us + window.symbols * tsym


@pytest.mark.parametrize("dr,sf", [(5, 7), (0, 12)])
def test_windows_open_margin_early_and_last_past_margin_late(dr, sf):
    mac, _, radio = abp_mac()
    mac.set_dr(dr)
    mac.send(1, b"hi")
    tx = radio.txs[-1]
    w1, w2 = radio.windows
    # margin = delay x 30 ppm + 1000 us wake-up latency
    assert w1.open_us == tx.end_us + 1_000_000 - (30 + 1000)
    assert w2.open_us == tx.end_us + 2_000_000 - (60 + 1000)
    assert (w1.freq, w1.sf) == (tx.freq, sf)
    assert (w2.freq, w2.sf) == (869_525_000, 12)
    assert lock_point_ok(w1, tx.end_us + 1_000_000, 1030)
    assert lock_point_ok(w2, tx.end_us + 2_000_000, 1060)
    # The timeout is the margin on both sides plus the 6 symbols preamble detection needs,
    # no more: a frame whose lock point falls after that is missed.
    tsym = symbol_us(sf, 125000)
    assert w1.symbols == -(-2 * 1030 // tsym) + 6
    last = w1.symbols * tsym - 1030 - 3 * tsym
    assert lock_point_ok(w1, tx.end_us + 1_000_000, last)
    assert not lock_point_ok(w1, tx.end_us + 1_000_000, last + 1)


def test_margin_follows_the_clock_error_setting():
    mac, _, radio = abp_mac(clock_ppm=100, wakeup_us=500)
    mac.send(1, b"x")
    tx = radio.txs[-1]
    assert radio.windows[0].open_us == tx.end_us + 1_000_000 - 600
    assert radio.windows[1].open_us == tx.end_us + 2_000_000 - 700


def test_rx1_uses_rx1_dr_offset_and_downlink_channel():
    mac, _, radio = abp_mac()
    mac.session.rx1_dr_offset = 2
    mac.session.ch_dl[0] = mac.session.ch_dl[1] = mac.session.ch_dl[2] = 869_100_000
    mac.send(1, b"x")
    w1 = radio.windows[0]
    assert (w1.sf, w1.freq) == (9, 869_100_000)  # DR5 - 2 = DR3 = SF9


def test_rx1_downlink_is_delivered_and_rx2_not_opened():
    got = []
    mac, _, radio = abp_mac(on_downlink=got.append)
    net = Net()
    radio.reply = lambda w: net.downlink(5, b"config") if w.index == 1 else None
    r = mac.send(1, b"x")
    assert len(radio.windows) == 1
    dl = r.downlink
    assert (dl.fport, dl.payload, dl.window, dl.fcnt) == (5, b"config", 1, 0)
    assert got == [dl]
    assert mac.stats.downlinks == 1


def test_rx2_downlink_after_empty_rx1():
    mac, _, radio = abp_mac()
    net = Net()
    radio.reply = lambda w: net.downlink(7, b"late") if w.index == 2 else None
    r = mac.send(1, b"x")
    assert len(radio.windows) == 2
    assert (r.downlink.window, r.downlink.payload) == (2, b"late")


def test_rx2_still_opened_after_a_forged_frame_in_rx1():
    mac, _, radio = abp_mac()
    net = Net()
    forged = bytearray(net.downlink(5, b"evil"))
    forged[-1] ^= 1
    good = Net().downlink(5, b"good")
    radio.reply = lambda w: bytes(forged) if w.index == 1 else good
    r = mac.send(1, b"x")
    assert mac.stats.dropped_mic == 1
    assert r.downlink.payload == b"good"


def _join_accept(dev_nonce_ok=True, cflist=None, dls=0, rx_delay=0, key=APP_KEY):
    aes = new_aes(key, "cryptography")
    plain = join_accept_plaintext(aes, 0x000042, 0x000013, DEV_ADDR, dls, rx_delay, cflist)
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return plain[:1] + dec.update(plain[1:]) + dec.finalize()


def otaa_mac(board=None):
    board = board or FakeBoard()
    radio = FakeRadio(board.clock())
    store = Store(board.flash(), prog_size=1)
    mac = Mac(board, radio=radio, store=store, dev_eui=DEV_EUI, join_eui=JOIN_EUI, app_key=APP_KEY)
    return mac, board, radio


def test_join_windows_at_5_and_6_seconds_and_accept_settings():
    mac, board, radio = otaa_mac()
    assert not mac.join()  # nobody answers
    tx = radio.txs[0]
    w1, w2 = radio.windows
    assert w1.open_us == tx.end_us + 5_000_000 - (150 + 1000)
    assert w2.open_us == tx.end_us + 6_000_000 - (180 + 1000)
    assert (w2.freq, w2.sf) == (869_525_000, 12)
    assert tx.phy[17] | (tx.phy[18] << 8) == 0  # DevNonce 0
    extra = (867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000)
    accept = _join_accept(cflist=cflist_frequencies(extra), dls=dl_settings(1, 3), rx_delay=2)
    radio.reply = lambda w: accept if w.index == 2 else None
    board.lightsleep(10_000)
    assert mac.join(dr=5)  # (join() alone would alternate to DR4 for the second attempt)
    assert radio.txs[1].phy[17] == 1  # DevNonce 1
    s = mac.session
    assert (s.dev_addr, s.rx1_dr_offset, s.rx2_dr, s.rx1_delay) == (DEV_ADDR, 1, 3, 2)
    assert s.ch_freq[3:8] == list(extra)
    assert s.ch_mask == 0xFF
    # The session works: the next uplink's RX1 opens 2 s after TxDone at DR5 - 1.
    radio.reply = None
    board.lightsleep(10_000)
    mac.send(1, b"x")
    tx = radio.txs[-1]
    w1 = radio.windows[-2]
    assert w1.open_us == tx.end_us + 2_000_000 - (60 + 1000)
    assert w1.sf == 8
    assert radio.windows[-1].sf == 9  # RX2 at DR3


def test_join_accept_with_wrong_key_is_dropped():
    mac, _, radio = otaa_mac()
    radio.reply = lambda w: _join_accept(key=bytes(16))
    assert not mac.join()
    assert not mac.joined
    assert mac.stats.dropped_mic == 2
