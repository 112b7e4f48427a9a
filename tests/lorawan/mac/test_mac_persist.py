"""What the MAC owes the network survives a reboot (deep sleep, reset): MAC answers not yet
sent, sticky answers (repeated until a downlink arrives) and the ACK of a confirmed
downlink are in the store's "ma" record, written only when they change."""

from fakes import FakeBoard, Net, abp_mac
from lorafield_node import maccmd as mc
from lorafield_node.phy import FCTRL_ACK, parse_data
from lorafield_node.store import Store


def enc(*cmds):
    return b"".join(mc.encode(cid, fields, False) for cid, fields in cmds)


def answers(tx):
    return mc.parse_commands(parse_data(tx.phy).fopts, True)


def wake(board, reply=None):
    """A new boot on the same board: a fresh Mac from the store, one uplink, its TxResult."""
    mac, _, radio = abp_mac(board)
    board.lightsleep(mac.time_until_send_ms() + 1)
    radio.reply = reply
    result = mac.send(1, b"u")
    return mac, radio, result


def rx1(phy):
    return lambda w: phy if w.index == 1 else None


class CountingStore(Store):
    def __init__(self, *args, **kwargs):
        self.puts = {}
        super().__init__(*args, **kwargs)

    def put(self, key, value):
        written = super().put(key, value)
        if written:
            self.puts[key] = self.puts.get(key, 0) + 1
        return written


def test_sticky_answer_repeated_across_reboots_until_a_downlink():
    board = FakeBoard()
    net = Net()
    wake(board, rx1(net.downlink(fopts=enc((mc.RX_TIMING_SETUP, (3,))))))
    for _ in range(3):  # three boots, no downlink: the answer goes out every time
        mac, radio, _ = wake(board)
        assert answers(radio.txs[-1]) == [(mc.RX_TIMING_SETUP, ())]
        assert mac.session.rx1_delay == 3
    # The network answers this time (RX1 now 3 s after the uplink).
    _, radio, r = wake(board, lambda w: net.downlink() if w.index == 1 else None)
    assert answers(radio.txs[-1]) == [(mc.RX_TIMING_SETUP, ())]
    assert r.downlink is not None
    _, radio, _ = wake(board)
    assert answers(radio.txs[-1]) == []


def test_one_shot_answer_sent_after_reboot_once():
    board = FakeBoard()
    net = Net()
    mac, radio, _ = wake(board, rx1(net.downlink(fopts=enc((mc.DEV_STATUS, ())))))
    assert answers(radio.txs[-1]) == []
    _, radio, _ = wake(board)
    ((cid, (battery, _)),) = answers(radio.txs[-1])
    assert cid == mc.DEV_STATUS and 1 <= battery <= 254
    _, radio, _ = wake(board)
    assert answers(radio.txs[-1]) == []


def test_ack_of_confirmed_downlink_survives_reboot():
    board = FakeBoard()
    net = Net()
    _, radio, r = wake(board, rx1(net.downlink(fport=5, payload=b"hi", confirmed=True)))
    assert r.downlink.confirmed and not parse_data(radio.txs[-1].phy).fctrl & FCTRL_ACK
    _, radio, _ = wake(board)
    assert parse_data(radio.txs[-1].phy).fctrl & FCTRL_ACK
    _, radio, _ = wake(board)
    assert not parse_data(radio.txs[-1].phy).fctrl & FCTRL_ACK


def test_answers_written_only_when_they_change():
    board = FakeBoard()
    store = CountingStore(board.flash(), prog_size=1)
    mac, _, radio = abp_mac(board)
    mac.session._store = store  # count this Mac's writes from here on
    net = Net()
    for _ in range(5):
        board.lightsleep(mac.time_until_send_ms() + 1)
        mac.send(1, b"u")
    assert store.puts.get("ma", 0) == 0  # nothing owed: never written
    radio.reply = rx1(net.downlink(fopts=enc((mc.DL_CHANNEL, (0, 868_100_000)))))
    board.lightsleep(mac.time_until_send_ms() + 1)
    mac.send(1, b"u")
    radio.reply = None
    assert store.puts["ma"] == 1  # the sticky DlChannelAns
    for _ in range(3):  # repeated, unchanged: no write
        board.lightsleep(mac.time_until_send_ms() + 1)
        mac.send(1, b"u")
        assert answers(radio.txs[-1]) == [(mc.DL_CHANNEL, (True, True))]
    assert store.puts["ma"] == 1
    radio.reply = rx1(net.downlink())
    board.lightsleep(mac.time_until_send_ms() + 1)
    mac.send(1, b"u")
    assert store.puts["ma"] == 2  # cleared by the downlink
    assert store.get("ma") == b""  # nothing owed: the next boot does not load owed.py


def test_the_constants_mac_py_folds_are_those_of_their_modules():
    from lorafield_node import adr, mac, owed, phy, session

    assert mac._OWED_KEY == owed.KEY
    assert mac._ADR_ACK_LIMIT == adr.ADR_ACK_LIMIT
    for name in ("UNCONFIRMED_UP", "CONFIRMED_UP", "FCTRL_ADR", "FCTRL_ADR_ACK_REQ", "FCTRL_ACK"):
        assert getattr(mac, "_" + name) == getattr(phy, name), name
    assert mac._ABP == session.ABP
    assert session.MAX_CHANNELS == 16


def test_new_session_voids_stored_answers():
    board = FakeBoard()
    net = Net()
    wake(board, rx1(net.downlink(fopts=enc((mc.RX_TIMING_SETUP, (2,))))))
    mac, _, radio = abp_mac(board)
    mac.activate_abp(0x26019999, bytes(16), bytes(16))  # another session (new generation)
    board.lightsleep(mac.time_until_send_ms() + 1)
    mac.send(1, b"u")
    assert parse_data(radio.txs[-1].phy).fopts == b""


def test_damaged_record_is_ignored():
    board = FakeBoard()
    store = Store(board.flash(), prog_size=1)
    mac, _, _ = abp_mac(board)
    store.put("ma", bytes([mac.session.gen & 0xFF, mac.session.gen >> 8, 0, 0, 0x05, 0x07]))
    mac, _, _ = abp_mac(board)
    assert (mac._once, mac._sticky, mac._ack_pending) == ([], [], False)


# -- Mac.flush(): the uplink the network waits for, without an application payload ---------


def test_flush_acks_a_confirmed_downlink_with_an_empty_frame():
    board = FakeBoard()
    net = Net()
    mac, radio, _ = wake(board, rx1(net.downlink(fport=5, payload=b"hi", confirmed=True)))
    assert mac.owes_uplink
    board.lightsleep(mac.time_until_send_ms() + 1)
    r = mac.flush()
    frame = parse_data(radio.txs[-1].phy)
    assert frame.fctrl & FCTRL_ACK and frame.fport is None and frame.payload == b""
    assert r.fcnt == 1 and not mac.owes_uplink
    assert mac.flush() is None  # nothing owed: nothing sent
    assert len(radio.txs) == 2


def test_flush_fetches_downlinks_announced_with_fpending_and_carries_answers():
    board = FakeBoard()
    net = Net()
    first = net.downlink(fport=7, payload=b"1", fpending=True, fopts=enc((mc.DEV_STATUS, ())))
    mac, radio, r = wake(board, rx1(first))
    assert r.fpending and mac.owes_uplink
    second = net.downlink(fport=7, payload=b"2")
    radio.reply = rx1(second)
    board.lightsleep(mac.time_until_send_ms() + 1)
    r = mac.flush()
    assert r.downlink.payload == b"2" and not mac.owes_uplink
    assert [c for c, _ in answers(radio.txs[-1])] == [mc.DEV_STATUS]
    assert parse_data(radio.txs[-1].phy).fport is None


def test_nothing_owed_after_a_plain_downlink():
    board = FakeBoard()
    mac, radio, _ = wake(board, rx1(Net().downlink(fport=5, payload=b"x")))
    assert not mac.owes_uplink and mac.flush() is None
    assert len(radio.txs) == 1
