"""Join-requests alternate their data rate (DR5 DR4 DR5 DR3 DR5 DR2 DR5 DR1 DR5 DR0 in EU868)
on a random default channel; the attempt number is the persisted DevNonce, so the sequence
continues across boots."""

from fakes import FakeBoard, FakeRadio
from lorafield_node.mac import DutyCycleWait, Mac
from lorafield_node.store import Store
from test_mac_windows import APP_KEY, DEV_EUI, JOIN_EUI

SEQUENCE_SF = [7, 8, 7, 9, 7, 10, 7, 11, 7, 12]  # DR5 DR4 DR5 DR3 DR5 DR2 DR5 DR1 DR5 DR0


def otaa(board):
    radio = FakeRadio(board.clock())
    store = Store(board.flash(), prog_size=1)
    mac = Mac(board, radio=radio, store=store, dev_eui=DEV_EUI, join_eui=JOIN_EUI, app_key=APP_KEY)
    return mac, radio


def attempt(mac, board):
    while True:
        try:
            return mac.join()
        except DutyCycleWait as e:
            board.lightsleep(e.wait_ms)


def test_join_data_rates_alternate_on_random_default_channels():
    board = FakeBoard()
    mac, radio = otaa(board)
    for _ in range(20):
        assert not attempt(mac, board)
    assert [t.sf for t in radio.txs] == SEQUENCE_SF * 2
    freqs = {t.freq for t in radio.txs}
    assert freqs == {868_100_000, 868_300_000, 868_500_000}  # random among the defaults
    # Join windows follow the request's data rate: RX1 at its SF, RX2 at DR0.
    assert [w.sf for w in radio.windows[:4]] == [7, 12, 8, 12]


def test_join_data_rate_sequence_continues_across_boots():
    board = FakeBoard()
    mac, radio = otaa(board)
    for _ in range(3):
        attempt(mac, board)
    assert [t.sf for t in radio.txs] == SEQUENCE_SF[:3]
    mac, radio = otaa(board)  # a new boot: RAM lost, DevNonce 3 in the store
    assert mac.join_dr() == 3
    attempt(mac, board)
    assert [t.sf for t in radio.txs] == [9]


def test_explicit_join_data_rate_still_wins():
    board = FakeBoard()
    mac, radio = otaa(board)
    mac.join(dr=0)
    assert radio.txs[-1].sf == 12
