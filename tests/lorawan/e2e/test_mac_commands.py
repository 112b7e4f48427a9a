"""Each MAC command end to end: the local network server asks (or answers), the request
travels in a downlink, the firmware applies it and answers in its next uplink, and the next
exchanges use the new settings on the air."""

from field import DEV_EUI, Field, join, send
from lorafield_gateway.lns.macanswers import gps_time
from lorafield_node import maccmd as mc
from lorafield_node import macrx
from lorafield_node.phy import parse_data

EXTRA = 867_100_000


def joined_field(app, seconds=200, **options):
    f = Field(**options)

    def main(mac, field):
        join(mac, field.view)
        app(mac, field)

    f.run(main, seconds=seconds)
    return f


def request(field, cid, fields=()):
    field.server.request_mac(DEV_EUI, cid, fields)


def sent_frames(field):
    """(frequency, SF, window) of the downlinks on air after the join-accept."""
    return [(fr.frequency_hz, fr.sf, it.window) for _, it, fr in field.gateway.transmitted[1:]]


def test_link_check():
    def app(mac, field):
        mac.request_link_check()
        r = send(mac, field.view, 1, b"x")
        field.note("lc", r.link_check)

    f = joined_field(app)
    ((margin, gateways),) = f.notes("lc")
    assert gateways == 1 and 0 < margin < 60


def test_device_time():
    def app(mac, field):
        mac.request_device_time()
        r = send(mac, field.view, 1, b"x")
        field.note("dt", r.device_time)

    f = joined_field(app)
    (dt,) = f.notes("dt")
    uplink_end = f.gateway.uplinks[-1][1].time_us
    assert dt == gps_time(uplink_end)


def test_link_adr_changes_dr_power_channels():
    def app(mac, field):
        request(field, mc.LINK_ADR, (3, 2, 0b010, 0, 1))
        send(mac, field.view, 1, b"x")
        field.note("s", (mac.session.dr, mac.session.tx_power, mac.session.ch_mask))
        for _ in range(3):
            send(mac, field.view, 1, b"y")

    f = joined_field(app)
    assert f.notes("s") == [(3, 2, 0b010)]
    metas = [m for _, m in f.gateway.uplinks[-3:]]
    assert {(round(m.frequency_hz, -3), m.sf) for m in metas} == {(868_300_000, 9)}
    assert not [e for e in f.server.events if e.kind == "mac_rejected"]


def test_duty_cycle():
    def app(mac, field):
        request(field, mc.DUTY_CYCLE, (3,))
        send(mac, field.view, 1, b"x")
        send(mac, field.view, 1, b"y")  # carries DutyCycleAns

    f = joined_field(app)
    assert f.mac.session.max_dcycle == 3
    assert f.server.session(DEV_EUI).max_duty_cycle == 3


def test_rx_param_setup_moves_rx2():
    def app(mac, field):
        request(field, mc.RX_PARAM_SETUP, (1, 3, 869_525_000))
        send(mac, field.view, 1, b"x")
        send(mac, field.view, 1, b"y")  # RXParamSetupAns (sticky; the server answers)
        field.server.enqueue(DEV_EUI, 9, b"\x01")
        r = send(mac, field.view, 1, b"z")
        field.note("dl", (r.downlink.window, r.downlink.payload))

    f = joined_field(app, server_options={"windows": ("RX2",)})
    s = f.mac.session
    assert (s.rx1_dr_offset, s.rx2_dr) == (1, 3)
    assert f.notes("dl") == [(2, b"\x01")]
    assert sent_frames(f)[-1] == (869_525_000, 9, "RX2")


def test_dev_status():
    def app(mac, field):
        request(field, mc.DEV_STATUS)
        r = send(mac, field.view, 1, b"x")
        field.note("snr", r.downlink.snr)
        field.note("battery", macrx.battery_level(mac))
        send(mac, field.view, 1, b"y")

    f = joined_field(app)
    (status,) = [e for e in f.server.events if e.kind == "dev_status"]
    assert status.detail["battery"] == f.notes("battery")[0]
    assert 1 <= status.detail["battery"] <= 254
    assert status.detail["margin"] == min(31, int(f.notes("snr")[0]))


def test_new_channel_then_used():
    def app(mac, field):
        request(field, mc.NEW_CHANNEL, (3, EXTRA, 0, 5))
        send(mac, field.view, 1, b"x")
        request(field, mc.LINK_ADR, (5, 0, 0b1000, 0, 1))
        send(mac, field.view, 1, b"y")  # NewChannelAns; LinkADRReq comes back
        send(mac, field.view, 1, b"z")  # LinkADRAns
        field.note("freq", round(field.gateway.uplinks[-1][1].frequency_hz, -3))

    channels = (868_100_000, 868_300_000, 868_500_000, EXTRA)
    f = joined_field(app, gateway_options={"channels_hz": channels})
    assert f.mac.session.ch_freq[3] == EXTRA
    assert f.notes("freq") == [EXTRA]
    assert f.server.session(DEV_EUI).channels_hz[3] == EXTRA


def test_rx_timing_setup_moves_rx1():
    def app(mac, field):
        request(field, mc.RX_TIMING_SETUP, (3,))
        send(mac, field.view, 1, b"x")
        send(mac, field.view, 1, b"y")
        field.server.enqueue(DEV_EUI, 9, b"\x02")
        r = send(mac, field.view, 1, b"z")
        field.note("dl", r.downlink.window)
        field.note("up_end", field.gateway.uplinks[-1][1].tmst_us)

    f = joined_field(app)
    assert f.mac.session.rx1_delay == 3
    assert f.notes("dl") == [1]
    _, item, frame = f.gateway.transmitted[-1]
    assert frame.start_us - f.notes("up_end")[0] == 3_000_000


def test_dl_channel_moves_rx1_frequency():
    """Checked on the chip: the local server still transmits RX1 on the uplink channel (its
    RX1 lookup compares the gateway's reported frequency, quantised by the chip's 61 Hz
    synthesizer step, for equality), so the downlink itself is not part of this test."""

    def app(mac, field):
        request(field, mc.LINK_ADR, (5, 0, 0b001, 0, 1))
        send(mac, field.view, 1, b"x")
        request(field, mc.DL_CHANNEL, (0, 869_100_000))
        send(mac, field.view, 1, b"y")  # LinkADRAns; DlChannelReq comes back
        field.note("windows from", len(field.rx_log))
        send(mac, field.view, 1, b"z")  # DlChannelAns

    f = joined_field(app)
    assert f.mac.session.ch_dl[0] == 869_100_000
    rx1 = f.rx_log[f.notes("windows from")[0]]
    assert rx1[1:] == (869_100_000, 7)
    fopts = parse_data(f.gateway.uplinks[-1][0]).fopts
    assert mc.parse_commands(fopts, True) == [(mc.DL_CHANNEL, (True, True))]
    assert not [e for e in f.server.events if e.kind == "mac_rejected"]
