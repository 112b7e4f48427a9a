"""Duty-cycle arithmetic: sub-bands, DutyCycleReq, tick wrap, and the Join-request back-off of
LoRaWAN 1.0.4 section 7 (1 % the first hour, 0.1 % the next ten, 0.01 % after)."""

from fakes import FakeBoard, FakeClock, FakeRadio
from lorafield_node.dutycycle import DutyCycle
from lorafield_node.mac import DutyCycleWait, Mac
from lorafield_node.region import eu868
from lorafield_node.store import Store
from test_mac_windows import APP_KEY, DEV_EUI, JOIN_EUI


def test_sub_bands_are_separate_and_aggregated_limit_covers_all():
    clock = FakeClock()
    d = DutyCycle(clock, eu868())
    d.record(868_100_000, 100)
    assert d.wait_ms(868_500_000) == 9900  # same 1 % band
    assert d.wait_ms(869_525_000) == 0  # the 10 % band is untouched
    assert d.wait_ms(870_500_000) == -1  # outside EU868's bands
    d.max_dcycle = 2
    d.record(869_525_000, 100)
    assert d.wait_ms(869_525_000) == 900  # 10 %: 9 x airtime
    assert d.wait_ms(867_000_000) == 300  # aggregated 1/4: 3 x airtime on every band
    clock.sleep_ms(1 << 29)  # half the tick period later, wrapped ticks do not block
    assert d.wait_ms(868_500_000) == 0


def test_join_backoff_factors_and_aggregation():
    clock = FakeClock()
    d = DutyCycle(clock, eu868())
    d.record(868_100_000, 100, join=True)
    assert d.wait_ms(869_525_000, join=True) == 9900  # 1 % over all channels
    assert d.wait_ms(869_525_000) == 0  # data frames are not held back by it
    clock.sleep_ms(3_600_000)
    d.record(868_100_000, 100, join=True)
    assert d.wait_ms(869_525_000, join=True) == 99_900  # 0.1 % after the first hour
    clock.sleep_ms(10 * 3_600_000)
    d.record(868_100_000, 100, join=True)
    assert d.wait_ms(869_525_000, join=True) == 999_900  # 0.01 % after eleven hours


def test_unanswered_joins_respect_the_backoff_budget():
    board = FakeBoard()
    mac = Mac(
        board,
        radio=FakeRadio(board.clock()),
        store=Store(board.flash()),
        dev_eui=DEV_EUI,
        join_eui=JOIN_EUI,
        app_key=APP_KEY,
    )
    radio = mac.radio
    end = 36 * 3_600_000_000
    while board.clock().now_us < end:
        try:
            mac.join(dr=0)
        except DutyCycleWait as e:
            board.lightsleep(e.wait_ms)

    def airtime_s(lo_h, hi_h):
        lo, hi = lo_h * 3_600_000_000, hi_h * 3_600_000_000
        return sum(t.end_us - t.start_us for t in radio.txs if lo <= t.start_us < hi) / 1e6

    assert 30 < airtime_s(0, 1) <= 36 + 2  # 1 %: 36 s in the first hour (one frame over)
    assert 30 < airtime_s(1, 11) <= 36 + 2  # 0.1 %: 36 s in the next ten hours
    assert 5 < airtime_s(12, 36) / 1 <= 2 * (8.64 + 2)  # 0.01 %: 8.64 s a day after that
    nonces = [t.phy[17] | (t.phy[18] << 8) for t in radio.txs]
    assert nonces == list(range(len(nonces)))
