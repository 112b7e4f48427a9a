"""MAC answers, ADR and the downlink queue, checked by a device that opens every downlink."""

from datetime import UTC, datetime

import lorafield_codec
import pytest
from lns_helpers import EPOCH_US, ScriptedDevice, meta, registry
from lorafield_gateway.lns import LnsError, NetworkServer, TxAck
from lorafield_node import maccmd
from lorafield_node.phy import FCTRL_ADR


@pytest.fixture
def joined():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    (accept,) = ns.handle_uplink(dev.join_request(), meta())
    dev.take_accept(accept.phy)
    ns.handle_tx_ack(TxAck(accept.downlink_id, "OK", "RX1"), meta().time_us)
    return dev, ns


def _up(ns, dev, t, ack_ok=True, **kw):
    """Send an uplink; return the opened downlink frame (or None) and the DownlinkFrame."""
    m = kw.pop("meta", None) or meta(t=t)
    out = ns.handle_uplink(dev.uplink(**kw), m)
    if not out:
        return None, None
    (dl,) = out
    if ack_ok:
        ns.handle_tx_ack(TxAck(dl.downlink_id, "OK", dl.items[0].window), m.time_us)
    return dev.open_downlink(dl.phy), dl


def _cmds(frame):
    data = frame.payload if frame.fport == 0 else frame.fopts
    return maccmd.parse_commands(data, False)


def test_link_check_margin_and_gateway_count():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=100_000)
    assert ns.handle_uplink(dev.join_request(), meta()) == []
    (accept,) = ns.flush(EPOCH_US + 100_000)
    dev.take_accept(accept.phy)
    phy = dev.uplink(fopts=maccmd.encode(maccmd.LINK_CHECK, (), True))
    ns.handle_uplink(phy, meta("a", sf=9, snr=3.2, t=1_000_000))
    ns.handle_uplink(phy, meta("b", sf=9, snr=-1.0, t=1_010_000))
    (dl,) = ns.flush(EPOCH_US + 1_100_000)
    frame = dev.open_downlink(dl.phy)
    # SF9 floor -12.5 dB: best SNR 3.2 -> 15.7 dB, reported as whole dB, 2 gateways.
    assert _cmds(frame) == [(maccmd.LINK_CHECK, (15, 2))]


def test_link_check_margin_is_zero_below_the_floor(joined):
    dev, ns = joined
    frame, _ = _up(
        ns, dev, 0, meta=meta(sf=12, snr=-21.0, t=1), fopts=maccmd.encode(0x02, (), True)
    )
    assert _cmds(frame) == [(maccmd.LINK_CHECK, (0, 1))]


def test_device_time_answer_is_gps_time_of_the_uplink(joined):
    dev, ns = joined
    t = 3_600_000_000 + 500_000  # one hour and a half second after 2026-01-01T00:00:00Z
    frame, _ = _up(ns, dev, t, fopts=maccmd.encode(maccmd.DEVICE_TIME, (), True))
    gps = datetime(2026, 1, 1, 1, 0, tzinfo=UTC) - datetime(1980, 1, 6, tzinfo=UTC)
    leap = 18  # GPS - UTC since 2017-01-01
    assert _cmds(frame) == [(maccmd.DEVICE_TIME, (int(gps.total_seconds()) + leap, 128))]


def test_dev_status_on_demand_and_answer_stored(joined):
    dev, ns = joined
    ns.request_dev_status(dev.dev_eui)
    frame, _ = _up(ns, dev, 1_000_000, fport=2, payload=b"a")
    assert _cmds(frame) == [(maccmd.DEV_STATUS, ())]
    ans = maccmd.encode(maccmd.DEV_STATUS, (200, -3), True)
    assert _up(ns, dev, 2_000_000, fopts=ans)[0] is None  # answer alone needs no downlink
    assert ns.session(dev.dev_eui).dev_status == (200, -3)
    assert ns.events[-2].kind == "dev_status" and ns.events[-2].detail == {
        "battery": 200,
        "margin": -3,
    }


def test_confirmed_uplink_gets_ack_and_fcnt_down_increments(joined):
    dev, ns = joined
    f1, _ = _up(ns, dev, 1_000_000, fport=2, payload=b"a", confirmed=True)
    f2, _ = _up(ns, dev, 2_000_000, fport=2, payload=b"b", confirmed=True)
    assert f1.ack and f2.ack and (f1.fcnt, f2.fcnt) == (0, 1)
    assert f1.fport is None and f1.payload == b""
    assert _up(ns, dev, 3_000_000, fport=2, payload=b"c")[0] is None  # unconfirmed: silence


def test_queue_order_and_fpending(joined):
    dev, ns = joined
    refs = [ns.enqueue(dev.dev_eui, 7, bytes([i]) * 3) for i in range(3)]
    ns.enqueue_config(dev.dev_eui, {"interval_s": 900, "reboot": True})
    got = []
    for i in range(5):
        frame, _ = _up(ns, dev, (i + 1) * 1_000_000, fport=2, payload=b"u")
        if frame is None:
            break
        got.append((frame.fport, frame.payload, frame.fpending))
    assert got[:3] == [(7, b"\0\0\0", True), (7, b"\1\1\1", True), (7, b"\2\2\2", True)]
    fport, payload, fpending = got[3]
    assert fport == lorafield_codec.fport_of("config") and not fpending
    assert lorafield_codec.decode(fport, payload) == ("config", {"interval_s": 900, "reboot": True})
    assert len(got) == 4 and ns.queue(dev.dev_eui) == []
    sent = [e.detail["ref"] for e in ns.events if e.kind == "downlink_sent" and "ref" in e.detail]
    assert sent == refs + [refs[-1] + 1]


def test_bad_downlink_requests_raise_typed_errors(joined):
    dev, ns = joined
    with pytest.raises(LnsError):
        ns.enqueue(dev.dev_eui, 0, b"x")
    with pytest.raises(LnsError):
        ns.enqueue("0102", 5, b"x")
    with pytest.raises(LnsError):
        ns.enqueue("ffffffffffffffff", 5, b"x")
    with pytest.raises(LnsError, match="config"):
        ns.enqueue_config(dev.dev_eui, {"interval_s": 5})
    with pytest.raises(LnsError):
        ns.request_mac(dev.dev_eui, maccmd.LINK_ADR, (99, 0, 7, 0, 1))


def test_confirmed_downlink_acked_or_nacked(joined):
    dev, ns = joined
    ns.enqueue(dev.dev_eui, 9, b"cfm", confirmed=True)
    frame, _ = _up(ns, dev, 1_000_000, fport=2, payload=b"a")
    assert frame.confirmed
    _up(ns, dev, 2_000_000, fport=2, payload=b"b", fctrl=0x20)  # device sets ACK
    ns.enqueue(dev.dev_eui, 9, b"cfm2", confirmed=True)
    _up(ns, dev, 3_000_000, fport=2, payload=b"c")
    _up(ns, dev, 4_000_000, fport=2, payload=b"d")  # no ACK bit
    kinds = [e.kind for e in ns.events if e.kind in ("downlink_acked", "downlink_nacked")]
    assert kinds == ["downlink_acked", "downlink_nacked"]


def test_mac_commands_too_long_for_fopts_go_on_fport_0(joined):
    dev, ns = joined
    ns.enqueue(dev.dev_eui, 5, b"app")
    ns.request_dev_status(dev.dev_eui)
    ns.request_mac(dev.dev_eui, maccmd.RX_PARAM_SETUP, (1, 3, 869_525_000))
    ns.request_mac(dev.dev_eui, maccmd.DUTY_CYCLE, (0,))
    fopts = maccmd.encode(maccmd.LINK_CHECK, (), True) + maccmd.encode(0x0D, (), True)
    frame, _ = _up(ns, dev, 1_000_000, fopts=fopts)
    # 3 + 6 + 1 + 5 + 2 = 17 bytes > 15: all on FPort 0, encrypted with the NwkSKey.
    assert frame.fport == 0 and frame.fopts == b"" and frame.fpending
    assert [c for c, _ in _cmds(frame)] == [0x02, 0x0D, 0x06, 0x05, 0x04]
    frame, _ = _up(ns, dev, 2_000_000, fport=2, payload=b"x")  # the app payload follows
    assert (frame.fport, frame.payload) == (5, b"app")


def test_rx_param_setup_changes_rx2_after_the_device_accepts(joined):
    dev, ns = joined
    ns.request_mac(dev.dev_eui, maccmd.RX_PARAM_SETUP, (2, 3, 869_525_000))
    frame, dl = _up(ns, dev, 1_000_000, fport=2, payload=b"a")
    assert _cmds(frame) == [(maccmd.RX_PARAM_SETUP, (2, 3, 869_525_000))]
    assert dl.items[1].dr == 0  # not applied before the device says yes
    ans = maccmd.encode(maccmd.RX_PARAM_SETUP, (True, True, True), True)
    # A sticky answer: the server must reply even with nothing else to say.
    frame, dl = _up(ns, dev, 2_000_000, fopts=ans, meta=meta(sf=9, t=2_000_000))
    assert frame is not None and _cmds(frame) == []
    rx1, rx2 = dl.items
    assert (rx1.dr, rx1.sf) == (1, 11)  # uplink DR3 - RX1DROffset 2
    assert (rx2.dr, rx2.sf, rx2.frequency_hz) == (3, 9, 869_525_000)


def test_adr_after_twenty_uplinks_and_applied_on_answer(joined):
    dev, ns = joined
    for i in range(19):
        frame, _ = _up(
            ns,
            dev,
            i * 1_000_000,
            fport=2,
            payload=b"a",
            fctrl=FCTRL_ADR,
            meta=meta(sf=12, snr=-2.0 - (i % 3), t=i * 1_000_000),
        )
        assert frame is None
    frame, _ = _up(
        ns,
        dev,
        20_000_000,
        fport=2,
        payload=b"a",
        fctrl=FCTRL_ADR,
        meta=meta(sf=12, snr=-4.0, t=20_000_000),
    )
    # Best SNR -2 dB at SF12 (floor -20): margin 18 - 10 = 8 dB -> 2 steps: DR0 -> DR2.
    assert _cmds(frame) == [(maccmd.LINK_ADR, (2, 0, 0b111, 0, 1))]
    # No second request while the first is unanswered.
    assert (
        _up(
            ns,
            dev,
            21_000_000,
            fport=2,
            payload=b"a",
            fctrl=FCTRL_ADR,
            meta=meta(sf=12, snr=-2.0, t=21_000_000),
        )[0]
        is None
    )
    ans = maccmd.encode(maccmd.LINK_ADR, (True, True, True), True)
    _up(ns, dev, 22_000_000, fopts=ans, fctrl=FCTRL_ADR, meta=meta(sf=10, snr=-2.0, t=22_000_000))
    assert ns.session(dev.dev_eui).dr == 2
    assert any(e.kind == "adr" and e.detail["dr"] == 2 for e in ns.events)
    # Fresh history needed before the next decision (19 more uplinks: still nothing).
    for i in range(19):
        m = meta(sf=10, snr=-2.0, t=(23 + i) * 1_000_000)
        assert _up(ns, dev, 0, fport=2, payload=b"a", fctrl=FCTRL_ADR, meta=m)[0] is None
    frame, _ = _up(
        ns, dev, 0, fport=2, payload=b"a", fctrl=FCTRL_ADR, meta=meta(sf=10, snr=-2.0, t=50_000_000)
    )
    # SF10 floor -15: -2 + 15 - 10 = 3 dB -> one more step, DR3.
    assert _cmds(frame) == [(maccmd.LINK_ADR, (3, 0, 0b111, 0, 1))]


def test_adr_strong_link_reaches_dr5_then_lowers_power(joined):
    dev, ns = joined
    frame = None
    for i in range(20):
        frame, _ = _up(
            ns,
            dev,
            i,
            fport=2,
            payload=b"a",
            fctrl=FCTRL_ADR,
            meta=meta(sf=12, snr=9.0, t=i * 1_000_000),
        )
    # margin 9 + 20 - 10 = 19 dB -> 6 steps: 5 to DR5, 1 to TXPower 1 (14 dBm).
    assert _cmds(frame) == [(maccmd.LINK_ADR, (5, 1, 0b111, 0, 1))]


def test_adr_rejection_reported(joined):
    dev, ns = joined
    ns.request_mac(dev.dev_eui, maccmd.LINK_ADR, (5, 3, 0b111, 0, 1))
    _up(ns, dev, 1, fport=2, payload=b"a")
    ans = maccmd.encode(maccmd.LINK_ADR, (True, False, True), True)
    _up(ns, dev, 2_000_000, fopts=ans)
    (ev,) = [e for e in ns.events if e.kind == "mac_rejected"]
    assert (ev.reason, ev.detail) == ("LinkADR", {"acks": "101"})
    assert not any(e.kind == "adr" for e in ns.events)
    assert ns.session(dev.dev_eui).tx_power == 0


def test_failed_tx_puts_mac_request_and_payload_back(joined):
    dev, ns = joined
    ns.request_dev_status(dev.dev_eui)
    ns.enqueue(dev.dev_eui, 5, b"q")
    out = ns.handle_uplink(dev.uplink(fport=2, payload=b"a"), meta(t=1_000_000))
    ns.handle_tx_ack(TxAck(out[0].downlink_id, "TOO_LATE"), meta(t=1_000_000).time_us)
    assert ns.events[-1].kind == "downlink_failed" and ns.events[-1].reason == "TOO_LATE"
    frame, _ = _up(ns, dev, 2_000_000, fport=2, payload=b"b")
    assert _cmds(frame) == [(maccmd.DEV_STATUS, ())] and frame.payload == b"q"


def _answer(ns, dev, t, cid, acks, m=None):
    fopts = maccmd.encode(cid, acks, True)
    return _up(ns, dev, t, fopts=fopts, meta=m or meta(t=t))


def test_new_channel_dl_channel_and_rx_timing_change_later_downlinks(joined):
    dev, ns = joined
    ns.request_mac(dev.dev_eui, maccmd.NEW_CHANNEL, (3, 867_100_000, 0, 5))
    ns.request_mac(dev.dev_eui, maccmd.RX_TIMING_SETUP, (3,))
    frame, _ = _up(ns, dev, 1_000_000, fport=2, payload=b"a")
    assert [c for c, _ in _cmds(frame)] == [maccmd.NEW_CHANNEL, maccmd.RX_TIMING_SETUP]
    fopts = maccmd.encode(maccmd.NEW_CHANNEL, (True, True), True) + maccmd.encode(
        maccmd.RX_TIMING_SETUP, (), True
    )
    frame, dl = _up(ns, dev, 2_000_000, fopts=fopts)  # sticky RXTimingSetupAns: a reply
    assert frame is not None
    rx1, rx2 = dl.items
    assert (rx1.delay_us, rx2.delay_us) == (3_000_000, 4_000_000)
    session = ns.session(dev.dev_eui)
    assert session.channels_hz[:4] == [868_100_000, 868_300_000, 868_500_000, 867_100_000]
    assert session.ch_mask() == 0b1111

    ns.request_mac(dev.dev_eui, maccmd.DL_CHANNEL, (3, 869_100_000))
    _up(ns, dev, 3_000_000, fport=2, payload=b"b")
    m = meta(freq=867_100_000, t=4_000_000)
    frame, dl = _answer(ns, dev, 4_000_000, maccmd.DL_CHANNEL, (True, True), m)
    assert dl.items[0].frequency_hz == 869_100_000  # RX1 for channel 3 moved
    frame, dl = _up(ns, dev, 5_000_000, fport=2, payload=b"c", confirmed=True)
    assert dl.items[0].frequency_hz == 868_100_000  # other channels unchanged


def test_rejected_new_channel_leaves_the_table_alone(joined):
    dev, ns = joined
    ns.request_mac(dev.dev_eui, maccmd.NEW_CHANNEL, (4, 867_300_000, 0, 5))
    _up(ns, dev, 1_000_000, fport=2, payload=b"a")
    _answer(ns, dev, 2_000_000, maccmd.NEW_CHANNEL, (True, False))
    assert ns.session(dev.dev_eui).channels_hz[4] == 0
    assert ns.events[-2].kind == "mac_rejected" and ns.events[-2].detail == {"acks": "10"}


def test_unsolicited_answer_is_reported(joined):
    dev, ns = joined
    _answer(ns, dev, 1_000_000, maccmd.LINK_ADR, (True, True, True))
    assert any(e.kind == "mac_unsolicited" and e.reason == "LinkADR" for e in ns.events)


def test_cflist_channels_and_join_settings_reach_the_device():
    dev = ScriptedDevice()
    extra = (867_100_000, 867_300_000, 0, 867_700_000, 867_900_000)
    ns = NetworkServer(
        registry(dev), dedup_window_us=0, extra_channels_hz=extra, rx1_dr_offset=1, rx2_dr=3
    )
    acc = dev.take_accept(ns.handle_uplink(dev.join_request(), meta())[0].phy)
    assert acc.channels == extra
    assert (acc.rx1_dr_offset, acc.rx2_dr, acc.rx1_delay) == (1, 3, 1)
    session = ns.session(dev.dev_eui)
    assert session.ch_mask() == 0b11011111  # slot 5 (the 0 entry) stays undefined
    frame, dl = _up(ns, dev, 1_000_000, fport=2, payload=b"a", confirmed=True)
    assert (dl.items[0].dr, dl.items[1].dr) == (4, 3)  # RX1 DR5 - 1, RX2 DR3


def test_payload_too_long_for_rx2_goes_in_rx1_alone(joined):
    dev, ns = joined
    with pytest.raises(LnsError, match="222"):
        ns.enqueue(dev.dev_eui, 5, bytes(223))
    ns.enqueue(dev.dev_eui, 5, bytes(60))  # RX2 at DR0 carries 51 bytes, RX1 at DR5 222
    frame, dl = _up(ns, dev, 1_000_000, fport=2, payload=b"a")
    assert (frame.fport, len(frame.payload)) == (5, 60)
    assert [i.window for i in dl.items] == ["RX1"]


def test_payload_too_long_for_every_window_waits_unannounced(joined):
    """At SF12 both windows carry 51 bytes: a 60-byte head waits for a faster data rate, and
    no downlink is sent just to announce it (FPending would only make the device uplink
    again, to no avail); an ACK still goes, without FPending."""
    dev, ns = joined
    ref = ns.enqueue(dev.dev_eui, 5, bytes(60))
    assert ns.handle_uplink(dev.uplink(fport=2, payload=b"a"), meta(t=1_000_000, sf=12)) == []
    ev = [e for e in ns.events if e.kind == "downlink_deferred"][-1]
    assert ev.detail == {"ref": ref, "room": 51}
    frame, _ = _up(
        ns, dev, 2_000_000, meta=meta(t=2_000_000, sf=12), fport=2, payload=b"a", confirmed=True
    )
    assert frame.ack and frame.fport is None and not frame.fpending


def test_rx1_only_server_sends_long_payload_at_a_fast_rate():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, windows=("RX1",))
    (accept,) = ns.handle_uplink(dev.join_request(), meta())
    assert [i.window for i in accept.items] == ["RX1"]
    dev.take_accept(accept.phy)
    ns.enqueue(dev.dev_eui, 5, bytes(60))
    frame, dl = _up(ns, dev, 1_000_000, fport=2, payload=b"a")  # SF7: DR5, 222 bytes room
    assert (frame.fport, len(frame.payload)) == (5, 60)
