"""The MAC outside EU868 (RP002-1.0.4) and the MAC-command rules issue 20 completed
(LoRaWAN 1.0.4 section 5): figures written from the spec, section numbers next to them."""

import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fakes import NWK, FakeBoard, FakeRadio, Net, abp_mac
from lorafield_node import maccmd as mc
from lorafield_node.mac import DutyCycleWait, Mac
from lorafield_node.phy import parse_data
from lorafield_node.region import region
from lorafield_node.store import Store
from test_mac_commands import answers, enc, exchange, uplink
from test_mac_windows import APP_KEY, DEV_EUI, JOIN_EUI, _join_accept

FSB2 = (0xFF << 8) | (1 << 65)  # channels 8-15 and 500 kHz channel 65


def ref_uplink_decrypt(key, dev_addr, fcnt, data):
    """LoRaWAN 1.0.4 4.3.3.1, written from the spec with `cryptography`: A_i blocks
    0x01 | 4 x 0x00 | Dir 0 | DevAddr | FCnt (32 bits) | 0x00 | i, AES-encrypted, XORed."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    out = bytearray()
    for i in range((len(data) + 15) // 16):
        a = struct.pack("<BIBIIBB", 1, 0, 0, dev_addr, fcnt, 0, i + 1)
        s = enc.update(a)
        out += bytes(x ^ y for x, y in zip(data[16 * i : 16 * i + 16], s, strict=False))
    return bytes(out)


def otaa(name, **opts):
    board = FakeBoard()
    radio = FakeRadio(board.clock())
    mac = Mac(
        board,
        region=region(name, **opts),
        radio=radio,
        store=Store(board.flash(), prog_size=1),
        dev_eui=DEV_EUI,
        join_eui=JOIN_EUI,
        app_key=APP_KEY,
    )
    return mac, board, radio


def attempts(mac, board, n):
    for _ in range(n):
        while True:
            try:
                assert not mac.join()
                break
            except DutyCycleWait as e:
                board.lightsleep(e.wait_ms)


def test_us915_fsb2_joins_rotate_125_khz_then_one_500_khz_channel():
    """RP002 2.5.2/2.5.3: 125 kHz channel n at 902.3 + 0.2 n MHz (DR0 = SF10), 500 kHz channel
    64 + k at 903.0 + 1.6 k MHz (DR4 = SF8/500); RX1 on 923.3 + 0.6 (n mod 8) MHz at DR10
    (SF10/500) for DR0 (2.5.7 table), RX2 923.3 MHz DR8 (SF12/500)."""
    mac, board, radio = otaa("US915", sub_bands=(2,))
    attempts(mac, board, 9)
    for tx in radio.txs[:8]:
        n = (tx.freq - 902_300_000) // 200_000
        assert 8 <= n <= 15 and (tx.sf, tx.bw) == (10, 125_000)
    assert (radio.txs[8].freq, radio.txs[8].sf, radio.txs[8].bw) == (904_600_000, 8, 500_000)
    for i, tx in enumerate(radio.txs):
        w1, w2 = radio.windows[2 * i], radio.windows[2 * i + 1]
        ch = (tx.freq - 902_300_000) // 200_000 if tx.bw == 125_000 else 65
        assert w1.freq == 923_300_000 + 600_000 * (ch % 8)
        # RX1 DR (2.5.7 table, offset 0): DR0 -> DR10 (SF10/500), DR4 -> DR13 (SF7/500)
        assert (w1.sf, w1.bw) == ((10, 500_000) if tx.bw == 125_000 else (7, 500_000))
        assert (w2.freq, w2.sf, w2.bw) == (923_300_000, 12, 500_000)


def test_us915_without_sub_bands_visits_all_eight_sub_bands():
    mac, board, radio = otaa("US915")
    attempts(mac, board, 9)
    bands = sorted((t.freq - 902_300_000) // 1_600_000 for t in radio.txs[:8])
    assert bands == list(range(8))  # each sub-band once in eight attempts (2.5.2)


def test_single_channel_setup_always_joins_on_that_channel():
    mac, board, radio = otaa("US915", channels=(8,))
    attempts(mac, board, 12)
    assert {t.freq for t in radio.txs} == {903_900_000}


def test_us915_cflist_type1_sets_the_channel_mask():
    """RP002 2.5.4: CFList = ChMask0..4 (16 bits each, channels 0..79), 5 RFU bytes, type 1."""
    mac, board, radio = otaa("US915", sub_bands=(2,))
    cflist = struct.pack("<5H5xB", 0xFF00, 0, 0, 0, 0x0002, 1)
    accept = _join_accept(cflist=cflist)
    radio.reply = lambda w: accept if w.index == 1 else None
    assert mac.join()
    assert mac.session.ch_mask == FSB2
    assert mac.session.dr == 0


def test_us915_link_adr_blocks_with_chmaskcntl():
    """RP002 2.5.5: ChMaskCntl 7 turns every 125 kHz channel off and sets 64..71 from ChMask;
    0..3 set a block of 16; 5 enables sub-bands. One LinkADRAns per request."""
    mac, _, radio = abp_mac(region=region("US915"))
    net = Net()
    block = enc((mc.LINK_ADR, (15, 15, 0x0002, 7, 0)), (mc.LINK_ADR, (2, 15, 0xFF00, 0, 1)))
    exchange(mac, radio, net, block)
    assert mac.session.ch_mask == FSB2 and mac.session.dr == 2
    tx = uplink(mac, radio)
    assert answers(radio) == [(mc.LINK_ADR, (True, True, True))] * 2
    assert 903_900_000 <= tx.freq <= 905_300_000 and tx.sf == 8
    # ChMaskCntl 5, bits 0 and 2: sub-bands 1 and 3 with 500 kHz channels 64 and 66.
    exchange(mac, radio, net, enc((mc.LINK_ADR, (15, 15, 0b101, 5, 1))))
    assert mac.session.ch_mask == 0xFF | (0xFF << 16) | (1 << 64) | (1 << 66)


def test_us915_refuses_a_mask_with_one_125_khz_channel():
    """FCC 15.247 frequency hopping: a 125 kHz DR needs two channels at least (RP002 2.5.5)."""
    mac, _, radio = abp_mac(region=region("US915"))
    before = mac.session.ch_mask
    exchange(
        mac, radio, Net(), enc((mc.LINK_ADR, (0, 15, 0, 7, 0)), (mc.LINK_ADR, (0, 15, 1, 0, 1)))
    )
    uplink(mac, radio)
    assert answers(radio)[0] == (mc.LINK_ADR, (True, True, False))
    assert mac.session.ch_mask == before


def test_link_adr_with_adr_off_takes_mask_and_nbtrans_only():
    """1.0.4 5.3: with ADR off the device keeps its DR and power but applies the channel mask
    and NbTrans; NbTrans 0 means the default, 1."""
    mac, _, radio = abp_mac()
    mac.set_adr(False)
    mac.set_dr(2)
    net = Net()
    exchange(mac, radio, net, enc((mc.LINK_ADR, (5, 3, 0b011, 0, 3))))
    s = mac.session
    assert (s.dr, s.tx_power, s.ch_mask, s.nb_trans) == (2, 0, 0b011, 3)
    uplink(mac, radio)
    assert answers(radio)[-1] == (mc.LINK_ADR, (True, True, True))
    mac.set_adr(True)
    exchange(mac, radio, net, enc((mc.LINK_ADR, (4, 1, 0b111, 0, 0))))
    assert (s.dr, s.tx_power, s.nb_trans) == (4, 1, 1)


def test_answers_over_15_bytes_go_in_an_fport_0_frame_of_their_own():
    """1.0.4 section 5: answers that do not fit FOpts are sent as FRMPayload on FPort 0
    (encrypted with NwkSKey), then the application frame."""
    mac, board, radio = abp_mac()
    net = Net()
    six = enc(*[(mc.DEV_STATUS, ())] * 6)  # six DevStatusAns: 18 bytes
    exchange(mac, radio, net, six)
    n = len(radio.txs)
    # EU868's three default channels share one 1 % sub-band: after the MAC frame the
    # application's frame waits for the duty cycle (nothing of it was sent: send again)
    with pytest.raises(DutyCycleWait) as wait:
        mac.send(7, b"app")
    board.lightsleep(wait.value.wait_ms)
    mac.send(7, b"app")
    mac_frame, app_frame = (parse_data(t.phy) for t in radio.txs[n : n + 2])
    assert mac_frame.fport == 0 and mac_frame.fopts == b""
    assert app_frame.fport == 7 and app_frame.fopts == b""
    plain = ref_uplink_decrypt(NWK, mac_frame.dev_addr, mac_frame.fcnt, mac_frame.payload)
    assert [c for c, _ in mc.parse_commands(plain, True)] == [mc.DEV_STATUS] * 6


def test_tx_param_setup_only_where_the_region_has_it():
    """RP002 2.10.9 (AS923): answered, dwell time and MaxEIRP taken (table 20: 13 -> 30 dBm) and
    kept across boots; EU868 (2.4.9) does not implement it: no answer."""
    mac, board, radio = abp_mac(region=region("AS923-1"))
    assert mac.session.uplink_dwell
    exchange(mac, radio, Net(), enc((mc.TX_PARAM_SETUP, (False, False, 13))))
    uplink(mac, radio)
    assert answers(radio) == [(mc.TX_PARAM_SETUP, ())]
    again = Mac(
        board, region=region("AS923-1"), radio=radio, store=Store(board.flash(), prog_size=1)
    )
    s = again.session
    assert (s.uplink_dwell, s.downlink_dwell, s.max_eirp) == (False, False, 30)
    eu, _, eradio = abp_mac()
    exchange(eu, eradio, Net(), enc((mc.TX_PARAM_SETUP, (True, True, 5))))
    uplink(eu, eradio)
    assert answers(eradio) == []


def test_as923_dwell_time_limits_payload_and_data_rate():
    """RP002 2.10.6: with uplink dwell time on, DR2 carries N = 11 bytes and DR0/1 none."""
    r = region("AS923-1")
    assert r.max_payload(2, dwell=True) == 11 and r.max_payload(2) == 115
    assert r.max_payload(0, dwell=True) < 0
    mac, _, _ = abp_mac(region=r)
    with pytest.raises(Exception, match="not usable"):
        mac.set_dr(1)


def test_fixed_plans_ignore_new_channel_and_dl_channel():
    """RP002 2.5.8: US915 has no NewChannelReq / DlChannelReq: not applied, not answered."""
    mac, _, radio = abp_mac(region=region("US915"))
    before = mac.session.ch_mask
    exchange(mac, radio, Net(), enc((mc.NEW_CHANNEL, (3, 903_000_000, 0, 3))))
    exchange(mac, radio, Net(), enc((mc.DL_CHANNEL, (3, 923_900_000))))
    uplink(mac, radio)
    assert answers(radio) == [] and mac.session.ch_mask == before


def test_us915_rx_param_setup_accepts_only_downlink_channels():
    mac, _, radio = abp_mac(region=region("US915"))
    net = Net()
    exchange(mac, radio, net, enc((mc.RX_PARAM_SETUP, (1, 9, 924_500_000))))
    assert (mac.session.rx2_freq, mac.session.rx2_dr) == (924_500_000, 9)
    exchange(mac, radio, net, enc((mc.RX_PARAM_SETUP, (1, 9, 868_100_000))))
    uplink(mac, radio)
    assert (mc.RX_PARAM_SETUP, (True, True, False)) in answers(radio)


def test_answers_stay_owed_when_the_duty_cycle_refuses_their_frame():
    mac, board, radio = abp_mac()
    exchange(mac, radio, Net(), enc(*[(mc.DEV_STATUS, ())] * 6), wait=False)
    n = len(radio.txs)
    with pytest.raises(DutyCycleWait) as wait:  # the sub-band is still silent: nothing goes
        mac.send(7, b"app")
    assert len(radio.txs) == n
    board.lightsleep(wait.value.wait_ms)
    with pytest.raises(DutyCycleWait):
        mac.send(7, b"app")  # the MAC frame went; the application's waits
    frame = parse_data(radio.txs[n].phy)
    plain = ref_uplink_decrypt(NWK, frame.dev_addr, frame.fcnt, frame.payload)
    assert [c for c, _ in mc.parse_commands(plain, True)] == [mc.DEV_STATUS] * 6
