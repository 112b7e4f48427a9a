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


# -- across deep sleep: save() / restore() against the board's sleep-surviving clock ------


def test_restore_subtracts_the_time_the_rtc_saw_pass():
    d = DutyCycle(FakeClock(), eu868())
    d.record(868_100_000, 100)  # 9,900 ms of silence on the 868.0-868.6 band
    raw = d.save(50_000)
    assert len(raw) == 10 + 4  # rtc, mask, one band: small, written once per frame
    # A new boot: ticks restart elsewhere (near a wrap), the RTC went on 3 s.
    e = DutyCycle(FakeClock(((1 << 30) - 1000) * 1000), eu868())
    assert e.restore(raw, 53_000)
    assert e.wait_ms(868_500_000) == 6_900
    assert e.wait_ms(869_525_000) == 0  # other bands untouched
    f = DutyCycle(FakeClock(), eu868())
    f.restore(raw, 60_000)
    assert f.wait_ms(868_500_000) == 0  # the whole off-time passed asleep


def test_restarted_or_missing_rtc_counts_no_time_passed():
    d = DutyCycle(FakeClock(), eu868())
    d.max_dcycle = 3
    d.record(869_525_000, 100)
    raw = d.save(500_000)
    for rtc in (1_000, 0, None):  # power loss (restarted at 0) or no such clock
        e = DutyCycle(FakeClock(), eu868())
        e.restore(raw, rtc)
        assert e.wait_ms(869_525_000) == 900  # 10 % band: the full remaining wait
        assert e.wait_ms(868_100_000) == 700  # DutyCycleReq's aggregate (1/8) too


def test_join_backoff_schedule_continues_across_boots():
    d = DutyCycle(FakeClock(), eu868())
    d.record(868_100_000, 100, join=True)
    raw = d.save(0)
    e = DutyCycle(FakeClock(), eu868())
    e.restore(raw, 2 * 3_600_000)  # two hours asleep
    assert e.wait_ms(868_100_000, join=True) == 0
    e.record(868_100_000, 100, join=True)
    assert e.wait_ms(869_525_000, join=True) == 99_900  # 0.1 %: past the first hour
    g = DutyCycle(FakeClock(), eu868())
    g.restore(raw, 60_000)  # one minute later: still inside the 1 % hour
    assert g.wait_ms(868_100_000, join=True) == 0  # its 9.9 s wait is long over
    g.record(868_100_000, 100, join=True)
    assert g.wait_ms(869_525_000, join=True) == 9_900


def test_damaged_or_foreign_records_are_ignored():
    d = DutyCycle(FakeClock(), eu868())
    d.record(868_100_000, 100)
    raw = bytes(d.save(0))
    for bad in (None, b"", raw[:-1], raw + b"\x00", raw[:8] + b"\x00\x10" + raw[10:]):
        e = DutyCycle(FakeClock(), eu868())
        assert not e.restore(bad, 0)
        assert e.wait_ms(868_100_000) == 0


def test_mac_refused_after_a_reboot_until_the_off_time_passed():
    board = FakeBoard()
    flash = board.flash_dev
    mac = Mac(board, radio=FakeRadio(board.clock()), store=Store(flash))
    mac.activate_abp(0x26011234, bytes(16), bytes(16))
    mac.set_dr(0)
    mac.send(1, bytes(20))
    wait = mac.time_until_send_ms()
    assert wait > 100_000  # SF12: ~1.5 s on air, 99 x that silent
    board.lightsleep(10_000)  # "deep sleep": RAM lost, the fake's RTC goes on
    mac = Mac(board, radio=FakeRadio(board.clock()), store=Store(flash))
    mac.activate_abp(0x26011234, bytes(16), bytes(16))
    try:
        mac.send(1, b"x")
        raise AssertionError("sent inside the off-time")
    except DutyCycleWait as e:
        assert e.wait_ms == wait - 10_000
    board.lightsleep(wait - 10_000)
    mac = Mac(board, radio=FakeRadio(board.clock()), store=Store(flash))
    mac.activate_abp(0x26011234, bytes(16), bytes(16))
    assert mac.send(1, b"x").transmissions == 1
