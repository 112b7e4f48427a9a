"""Every MAC command the device handles (LoRaWAN 1.0.4 section 5, RP002 2.4 for EU868): what
it changes, what it answers, when the answer is sent and for how long."""

from fakes import Net, abp_mac
from lorafield_node import maccmd as mc
from lorafield_node.phy import parse_data


def enc(*cmds):
    return b"".join(mc.encode(cid, fields, False) for cid, fields in cmds)


def answers(radio, index=-1):
    return mc.parse_commands(parse_data(radio.txs[index].phy).fopts, True)


def exchange(mac, radio, net, fopts=b"", fport=None, payload=b"", wait=True):
    """One uplink whose RX1 carries a downlink with `fopts`; returns the TxResult."""
    if len(fopts) > 15:  # too long for FOpts: FPort 0 carries them
        fport, payload, fopts = 0, fopts, b""
    phy = net.downlink(fport, payload, fopts)
    radio.reply = lambda w: phy if w.index == 1 else None
    r = mac.send(1, b"u")
    radio.reply = None
    if wait:
        mac._board.lightsleep(mac.time_until_send_ms() + 1)
    return r


def uplink(mac, radio):
    mac.send(1, b"u")
    mac._board.lightsleep(mac.time_until_send_ms() + 1)
    return radio.txs[-1]


def test_link_adr_applies_dr_power_mask_and_nbtrans():
    mac, _, radio = abp_mac()
    net = Net()
    exchange(mac, radio, net, enc((mc.LINK_ADR, (3, 2, 0b010, 0, 2))))
    s = mac.session
    assert (s.dr, s.tx_power, s.ch_mask, s.nb_trans) == (3, 2, 0b010, 2)
    tx = uplink(mac, radio)
    assert answers(radio) == [(mc.LINK_ADR, (True, True, True))]
    assert (tx.sf, tx.freq, tx.dbm) == (9, 868_300_000, 16 - 4 - 2)
    assert radio.txs[-2].phy == tx.phy  # NbTrans 2: the same frame twice
    assert len(answers(radio)) == 1
    uplink(mac, radio)
    assert answers(radio) == []  # LinkADRAns is not sticky


def test_link_adr_is_all_or_nothing_with_status_bits():
    mac, _, radio = abp_mac()
    net = Net()
    before = (mac.session.dr, mac.session.tx_power, mac.session.ch_mask)
    # ChMask enables undefined channel 5: channel NACK; nothing else applied either.
    exchange(mac, radio, net, enc((mc.LINK_ADR, (2, 1, 0b100001, 0, 1))))
    uplink(mac, radio)
    assert answers(radio) == [(mc.LINK_ADR, (True, True, False))]
    # DR7 (FSK) is not usable by a LoRa radio; TXPower 9 is undefined in EU868.
    exchange(mac, radio, net, enc((mc.LINK_ADR, (7, 9, 0b111, 0, 1))))
    uplink(mac, radio)
    assert answers(radio) == [(mc.LINK_ADR, (False, False, True))]
    assert (mac.session.dr, mac.session.tx_power, mac.session.ch_mask) == before


def test_link_adr_block_masks_in_order_one_answer_each():
    mac, _, radio = abp_mac()
    net = Net()
    exchange(mac, radio, net, enc((mc.NEW_CHANNEL, (3, 867_100_000, 0, 5))))
    exchange(
        mac,
        radio,
        net,
        enc((mc.LINK_ADR, (5, 0, 0b1000, 0, 1)), (mc.LINK_ADR, (4, 15, 0, 6, 0))),
    )
    assert mac.session.ch_mask == 0b1111  # ChMaskCntl 6: every defined channel on
    assert mac.session.dr == 4  # from the last request; TXPower 15 keeps the power
    uplink(mac, radio)
    assert answers(radio) == [(mc.LINK_ADR, (True, True, True))] * 2


def test_duty_cycle_req_limits_aggregated_airtime():
    mac, board, radio = abp_mac()
    net = Net()
    exchange(mac, radio, net, enc((mc.DUTY_CYCLE, (4,))), wait=False)
    assert mac.session.max_dcycle == 4
    board.lightsleep(10_000)
    mac.set_dr(0)  # SF12: the 15x silence outlasts the 2 s of receive windows
    mac.send(1, b"u")
    tx = radio.txs[-1]
    assert answers(radio) == [(mc.DUTY_CYCLE, ())]
    airtime_ms = -(-(tx.end_us - tx.start_us) // 1000)
    # Every band now waits 15 x the airtime (1/16 aggregated), even one the uplink did not use.
    assert mac.duty.wait_ms(869_525_000) > 0
    assert mac.duty.wait_ms(869_525_000) <= airtime_ms * 15


def test_rx_param_setup_sticky_until_a_downlink():
    mac, _, radio = abp_mac()
    net = Net()
    exchange(mac, radio, net, enc((mc.RX_PARAM_SETUP, (2, 3, 869_100_000))))
    s = mac.session
    assert (s.rx1_dr_offset, s.rx2_dr, s.rx2_freq) == (2, 3, 869_100_000)
    for _ in range(3):
        uplink(mac, radio)
        assert answers(radio) == [(mc.RX_PARAM_SETUP, (True, True, True))]
    w2 = radio.windows[-1]
    assert (w2.freq, w2.sf) == (869_100_000, 9)
    exchange(mac, radio, net)  # any downlink stops the repetition
    uplink(mac, radio)
    assert answers(radio) == []


def test_rx_param_setup_rejects_bad_frequency_and_keeps_settings():
    mac, _, radio = abp_mac()
    exchange(mac, radio, Net(), enc((mc.RX_PARAM_SETUP, (1, 2, 915_000_000))))
    assert (mac.session.rx1_dr_offset, mac.session.rx2_freq) == (0, 869_525_000)
    uplink(mac, radio)
    assert answers(radio) == [(mc.RX_PARAM_SETUP, (True, True, False))]


def test_dev_status_reports_battery_and_margin():
    mac, board, radio = abp_mac()
    board.mv = 3700
    radio.snr = -5.5
    exchange(mac, radio, Net(), enc((mc.DEV_STATUS, ())))
    uplink(mac, radio)
    assert answers(radio) == [(mc.DEV_STATUS, (1 + 700 * 253 // 1200, -5))]
    mac.battery = lambda: 0  # externally powered
    exchange(mac, radio, Net_at(mac), enc((mc.DEV_STATUS, ())))
    uplink(mac, radio)
    assert answers(radio)[0][1][0] == 0


def test_new_channel_add_use_reject_and_delete():
    mac, _, radio = abp_mac()
    net = Net()
    cmds = enc(
        (mc.NEW_CHANNEL, (3, 867_100_000, 0, 5)),
        (mc.NEW_CHANNEL, (1, 867_300_000, 0, 5)),  # default channels cannot change
        (mc.NEW_CHANNEL, (4, 880_000_000, 0, 5)),  # outside EU868
        (mc.NEW_CHANNEL, (5, 867_500_000, 5, 2)),  # MinDR > MaxDR
    )
    exchange(mac, radio, net, cmds)
    uplink(mac, radio)
    assert answers(radio) == [
        (mc.NEW_CHANNEL, (True, True)),
        (mc.NEW_CHANNEL, (False, False)),
        (mc.NEW_CHANNEL, (True, False)),
        (mc.NEW_CHANNEL, (False, True)),
    ]
    assert mac.session.ch_freq[3:6] == [867_100_000, 0, 0]
    # Only channel 3 left enabled: every uplink goes there.
    exchange(mac, radio, net, enc((mc.LINK_ADR, (15, 15, 0b1000, 0, 0))))
    assert {uplink(mac, radio).freq for _ in range(3)} == {867_100_000}
    exchange(mac, radio, net, enc((mc.LINK_ADR, (15, 15, 0b111, 0, 0))))
    exchange(mac, radio, net, enc((mc.NEW_CHANNEL, (3, 0, 0, 0))))
    assert mac.session.ch_freq[3] == 0 and not mac.session.ch_mask & 0b1000


def test_rx_timing_setup_moves_rx1_and_is_sticky():
    mac, _, radio = abp_mac()
    exchange(mac, radio, Net(), enc((mc.RX_TIMING_SETUP, (3,))))
    assert mac.session.rx1_delay == 3
    tx = uplink(mac, radio)
    assert answers(radio) == [(mc.RX_TIMING_SETUP, ())]
    w1, w2 = radio.windows[-2:]
    assert w1.open_us == tx.end_us + 3_000_000 - (90 + 1000)
    assert w2.open_us == tx.end_us + 4_000_000 - (120 + 1000)
    uplink(mac, radio)
    assert answers(radio) == [(mc.RX_TIMING_SETUP, ())]
    # Delay 0 means 1 s.
    exchange(mac, radio, Net_at(mac), enc((mc.RX_TIMING_SETUP, (0,))))
    assert mac.session.rx1_delay == 1


def Net_at(mac):  # noqa: N802 - a Net whose FCntDown continues the session's
    net = Net()
    net.fcnt_down = mac.session.fcnt_down
    return net


def test_dl_channel_sets_rx1_frequency_or_rejects_undefined_channel():
    mac, _, radio = abp_mac()
    net = Net()
    cmds = enc((mc.DL_CHANNEL, (0, 869_100_000)), (mc.DL_CHANNEL, (9, 869_100_000)))
    exchange(mac, radio, net, cmds)
    uplink(mac, radio)
    assert answers(radio) == [(mc.DL_CHANNEL, (True, True)), (mc.DL_CHANNEL, (False, True))]
    assert mac.session.ch_dl[0] == 869_100_000
    for _ in range(6):
        tx = uplink(mac, radio)
        w1 = radio.windows[-2]
        assert w1.freq == (869_100_000 if tx.freq == 868_100_000 else tx.freq)


def test_link_check_and_device_time_requests_and_answers():
    mac, _, radio = abp_mac()
    mac.request_link_check()
    mac.request_device_time()
    net = Net()
    reply = enc((mc.LINK_CHECK, (20, 2)), (mc.DEVICE_TIME, (1_400_000_000, 128)))
    r = exchange(mac, radio, net, reply)
    assert answers(radio, -1) == [(mc.LINK_CHECK, ()), (mc.DEVICE_TIME, ())]
    assert r.link_check == (20, 2)
    assert r.device_time == (1_400_000_000, 128)
    uplink(mac, radio)
    assert answers(radio) == []  # requests go out once


def test_unknown_cid_stops_processing_and_fport0_carries_commands():
    mac, _, radio = abp_mac()
    net = Net()
    exchange(mac, radio, net, enc((mc.DEV_STATUS, ())) + b"\x7f" + enc((mc.DUTY_CYCLE, (3,))))
    assert mac.session.max_dcycle == 0
    uplink(mac, radio)
    assert [c for c, _ in answers(radio)] == [mc.DEV_STATUS]
    exchange(mac, radio, net, fport=0, payload=enc((mc.DUTY_CYCLE, (2,))))
    assert mac.session.max_dcycle == 2


def test_answers_wait_when_payload_leaves_no_room_for_fopts():
    mac, _, radio = abp_mac()
    exchange(mac, radio, Net(), enc((mc.DEV_STATUS, ())))
    mac.set_dr(0)
    mac.send(1, bytes(51))  # DR0: N = 51, M - 8 = 51: no room for FOpts
    assert parse_data(radio.txs[-1].phy).fopts == b""
    mac._board.lightsleep(mac.time_until_send_ms() + 1)
    uplink(mac, radio)
    assert [c for c, _ in answers(radio)] == [mc.DEV_STATUS]
