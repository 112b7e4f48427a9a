"""The network server in every region of RP002-1.0.4: Join-accept and CFList, receive windows,
payload sizes, the US915/AU915 channel mask as LinkADRReq blocks, DeviceTimeAns.

Expected values are written here from RP002-1.0.4 and LoRaWAN 1.0.4 (cited where used), not
taken from the region tables the server uses. RP002 numbers each region's subsections alike
(.2 channel frequencies, .3 data rates, .4 CFList, .5 LinkAdrReq, .6 maximum payload size,
.7 receive windows): "US915 2.5.7" below is the US902-928 section's "Receive Windows" (2.5.7).
Join-accepts are opened twice: with the firmware's parser, and with a reference written here
from LoRaWAN 1.0.4 6.2.5 on `cryptography` alone.
"""

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from lns_helpers import EPOCH_US, ScriptedDevice, registry
from lorafield_gateway.lns import LnsError, NetworkServer, RxMetadata, TxAck
from lorafield_gateway.lns.channelplan import (
    apply_ch_mask_cntl,
    channel_index,
    link_adr_block,
    server_plan,
)
from lorafield_gateway.lns.downlink import _drop_last
from lorafield_node import maccmd
from lorafield_node.phy import FCTRL_ADR
from lorafield_node.region import region

MHZ = 1_000_000
W125, W500 = 125_000, 500_000
# US915 FSB2: channels 8..15 (903.9..905.3 MHz) and 500 kHz channel 65 (904.6 MHz), RP002
# US915 2.5.2: 125 kHz channel n at 902.3 MHz + 200 kHz * n, channel 64 + n at 903.0 + 1.6n MHz.
FSB2 = (0xFF << 8) | (1 << 65)


def rx(freq, sf, bw=W125, t=0, tmst=1_000_000, snr=5.0, gateway="gw0"):
    return RxMetadata(gateway, tmst, freq, sf, bw, -80.0, snr, EPOCH_US + t)


def ref_open_join_accept(app_key, phy):
    """LoRaWAN 1.0.4 6.2.5 on `cryptography` alone: the device recovers the accept with AES
    *encrypt* (ECB) of everything after the MHDR, then checks MIC = CMAC(AppKey, MHDR ..
    CFList)[0:4]. Returns the fields, little-endian as on air."""
    enc = Cipher(algorithms.AES(app_key), modes.ECB()).encryptor()
    plain = phy[:1] + enc.update(phy[1:]) + enc.finalize()
    mac = CMAC(algorithms.AES(app_key))
    mac.update(plain[:-4])
    assert mac.finalize()[:4] == plain[-4:], "MIC"
    assert plain[0] == 0x20  # MType 001 Join-accept, Major 0
    join_nonce = int.from_bytes(plain[1:4], "little")
    net_id = int.from_bytes(plain[4:7], "little")
    dev_addr = int.from_bytes(plain[7:11], "little")
    dl_settings, rx_delay = plain[11], plain[12]
    cflist = plain[13:29] if len(plain) == 33 else None
    return join_nonce, net_id, dev_addr, dl_settings, rx_delay, cflist


def join(ns, dev, meta):
    (accept,) = ns.handle_uplink(dev.join_request(), meta)
    dev.take_accept(accept.phy)
    ns.handle_tx_ack(TxAck(accept.downlink_id, "OK", "RX1"), meta.time_us)
    return accept


def up(ns, dev, meta, **kw):
    """An uplink; (opened downlink frame, DownlinkFrame) or (None, None)."""
    out = ns.handle_uplink(dev.uplink(**kw), meta)
    if not out:
        return None, None
    (down,) = out
    ns.handle_tx_ack(TxAck(down.downlink_id, "OK", down.items[0].window), meta.time_us)
    return dev.open_downlink(down.phy), down


def cmds(frame):
    return maccmd.parse_commands(frame.payload if frame.fport == 0 else frame.fopts, False)


# -- receive windows -----------------------------------------------------------------------
# (region, join uplink: frequency, SF, bandwidth, its DR; RX1: frequency, DR, SF, bandwidth;
#  RX2: frequency, DR, SF, bandwidth), each from RP002-1.0.4:
WINDOWS = [
    # EU868 2.4.2 default channel 868.3 MHz; 2.4.3 DR5 = SF7/125; 2.4.7 RX1 on the uplink
    # channel, DR = DR - RX1DROffset (0); RX2 869.525 MHz DR0 (SF12/125).
    ("EU868", (868_300_000, 7, W125, 5), (868_300_000, 5, 7, W125), (869_525_000, 0, 12, W125)),
    # US915 2.5.2: channel 12 = 902.3 + 2.4 = 904.7 MHz; 2.5.3 DR0 = SF10/125; 2.5.7 RX1 on
    # downlink channel 12 mod 8 = 4: 923.3 + 4 * 0.6 = 925.7 MHz, DR0 -> DR10 (SF10/500);
    # RX2 923.3 MHz DR8 (SF12/500).
    ("US915", (904_700_000, 10, W125, 0), (925_700_000, 10, 10, W500), (923_300_000, 8, 12, W500)),
    # US915 2.5.2: 500 kHz channel 65 = 903.0 + 1.6 = 904.6 MHz at DR4 (SF8/500); 2.5.7: RX1
    # on downlink channel 65 mod 8 = 1 (923.9 MHz) at DR13 (SF7/500).
    ("US915", (904_600_000, 8, W500, 4), (923_900_000, 13, 7, W500), (923_300_000, 8, 12, W500)),
    # AU915 2.8.2: channel 8 = 915.2 + 1.6 = 916.8 MHz; 2.8.3 DR2 = SF10/125 (the slowest join
    # rate with the default uplink dwell time); 2.8.7 RX1 on downlink channel 0 (923.3 MHz),
    # DR2 -> DR10 (SF10/500); RX2 923.3 MHz DR8 (SF12/500).
    ("AU915", (916_800_000, 10, W125, 2), (923_300_000, 10, 10, W500), (923_300_000, 8, 12, W500)),
    # AS923 2.10.2: AS923-1 default channel 923.4 MHz, group 2 -1.8 MHz, group 3 -6.6 MHz,
    # group 4 -5.9 MHz; 2.10.3 DR5 = SF7/125; 2.10.7 RX1 on the uplink channel, DR =
    # max(2, DR - 0) with the default downlink dwell time (min DR 2); RX2 923.2 MHz (moved
    # with the group) DR2 (SF10/125).
    ("AS923-1", (923_400_000, 7, W125, 5), (923_400_000, 5, 7, W125), (923_200_000, 2, 10, W125)),
    ("AS923-2", (921_600_000, 7, W125, 5), (921_600_000, 5, 7, W125), (921_400_000, 2, 10, W125)),
    ("AS923-3", (916_800_000, 7, W125, 5), (916_800_000, 5, 7, W125), (916_600_000, 2, 10, W125)),
    ("AS923-4", (917_500_000, 7, W125, 5), (917_500_000, 5, 7, W125), (917_300_000, 2, 10, W125)),
    # IN865 2.12.2 default channel 865.4025 MHz; 2.12.3 DR3 = SF9/125; 2.12.7 RX1 DR3 - 0;
    # RX2 866.55 MHz DR2 (SF10/125).
    ("IN865", (865_402_500, 9, W125, 3), (865_402_500, 3, 9, W125), (866_550_000, 2, 10, W125)),
    # KR920 2.11.2 default channel 922.5 MHz; 2.11.3 DR0 = SF12/125; 2.11.7 RX1 DR0; RX2
    # 921.9 MHz DR0.
    ("KR920", (922_500_000, 12, W125, 0), (922_500_000, 0, 12, W125), (921_900_000, 0, 12, W125)),
]


@pytest.mark.parametrize("name, uplink, rx1, rx2", WINDOWS)
def test_join_accept_and_data_downlink_windows(name, uplink, rx1, rx2):
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region=name)
    freq, sf, bw, dr = uplink
    accept = join(ns, dev, rx(freq, sf, bw, tmst=4_000_000_000))
    # LoRaWAN 1.0.4 6.2.6: JOIN_ACCEPT_DELAY1 5 s, JOIN_ACCEPT_DELAY2 6 s (RP002-1.0.4's
    # default settings, the same in every region), on the gateway's counter (wrapping).
    w1, w2 = accept.items
    assert (w1.window, w1.delay_us, w2.window, w2.delay_us) == ("RX1", 5 * MHZ, "RX2", 6 * MHZ)
    assert w1.tmst_us == (4_000_000_000 + 5 * MHZ) & 0xFFFFFFFF
    assert (w1.frequency_hz, w1.dr, w1.sf, w1.bw_hz) == rx1
    assert (w2.frequency_hz, w2.dr, w2.sf, w2.bw_hz) == rx2
    assert w1.iq_inverted and w2.iq_inverted and not w1.crc
    # A confirmed uplink's ACK: RECEIVE_DELAY1 1 s, RECEIVE_DELAY2 2 s (1.0.4 3.3.1/3.3.2).
    frame, down = up(ns, dev, rx(freq, sf, bw, t=10 * MHZ, tmst=7 * MHZ), fport=2, confirmed=True)
    assert frame.ack
    w1, w2 = down.items
    assert (w1.delay_us, w1.tmst_us, w2.delay_us, w2.tmst_us) == (MHZ, 8 * MHZ, 2 * MHZ, 9 * MHZ)
    assert (w1.frequency_hz, w1.dr, w1.sf, w1.bw_hz) == rx1
    assert (w2.frequency_hz, w2.dr, w2.sf, w2.bw_hz) == rx2
    assert ns.frames[-1]["dr"] == dr  # the uplink's DR from its SF and bandwidth
    assert [e.kind for e in ns.events if e.kind.endswith("rejected")] == []


@pytest.mark.parametrize(
    "name, offset, up_dr, sf, rx1_dr",
    [
        ("EU868", 3, 5, 7, 2),  # EU868 2.4.7: max(0, 5 - 3)
        ("US915", 2, 3, 7, 11),  # US915 2.5.7 table: DR3, offset 2 -> DR11
        ("US915", 3, 0, 10, 8),  # DR0, offset 3 -> DR8
        ("AU915", 5, 5, 7, 8),  # AU915 2.8.7 table: DR5, offset 5 -> DR8
        ("AS923-1", 4, 5, 7, 2),  # AS923 2.10.7: max(2 with downlink dwell time, 5 - 4)
        ("AS923-1", 6, 3, 9, 4),  # offset 6 means +1: 3 + 1
        ("IN865", 6, 3, 9, 4),  # IN865 2.12.7: offset 6 means +1
        ("KR920", 5, 5, 7, 0),  # KR920 2.11.7: max(0, 5 - 5)
    ],
)
def test_rx1_data_rate_follows_the_rx1_dr_offset(name, offset, up_dr, sf, rx1_dr):
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region=name, rx1_dr_offset=offset)
    plan = region(name)
    freq = plan.channel(8)[0] if plan.fixed else plan.default_channels[0]
    acc = join(ns, dev, rx(freq, 10 if plan.fixed else 7))
    assert acc.items[0].dr >= 0 and dev.accept.rx1_dr_offset == offset
    _, down = up(ns, dev, rx(freq, sf, t=MHZ), fport=2, confirmed=True)
    assert down.items[0].dr == rx1_dr and ns.frames[-1]["dr"] == up_dr


def test_rx1_dr_offset_a_region_does_not_define_is_refused():
    with pytest.raises(LnsError, match="RX1DROffset 6 is not defined in EU868"):
        NetworkServer(registry(), rx1_dr_offset=6)  # EU868 2.4.7: offsets 0..5
    with pytest.raises(LnsError, match="US915"):
        NetworkServer(registry(), region="US915", rx1_dr_offset=4)  # US915 2.5.7: 0..3


def test_us915_uplink_off_the_grid_gets_rx2_only_and_downlink_rates_are_not_uplinks():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region="US915", sub_bands=(2,))
    join(ns, dev, rx(903_900_000, 10))
    _, down = up(ns, dev, rx(903_950_000, 10, t=MHZ), fport=2, confirmed=True)
    assert [i.window for i in down.items] == ["RX2"]  # 903.95 MHz is no channel: no RX1
    # US915 2.5.3: SF12/125 is no US915 rate; SF7/500 is DR13, a downlink-only rate.
    for sf, bw in ((12, W125), (7, W500)):
        assert ns.handle_uplink(dev.uplink(fport=2), rx(904_600_000, sf, bw, t=2 * MHZ)) == []
        assert ns.events[-1].kind == "uplink_rejected"
        assert ns.events[-1].reason == "uplink data rate unknown"


def test_channel_index_of_the_fixed_grids():
    us, au = region("US915"), region("AU915")
    assert channel_index(us, 902_300_000, W125) == 0  # US915 2.5.2: 902.3 MHz + 200 kHz * n
    assert channel_index(us, 914_900_000, W125) == 63
    assert channel_index(us, 903_900_061, W125) == 8  # an SX127x's synthesiser step off
    assert channel_index(us, 903_000_000, W500) == 64  # 903.0 MHz + 1.6 MHz * n
    assert channel_index(us, 914_200_000, W500) == 71
    assert channel_index(us, 904_000_000, W125) == -1
    assert channel_index(us, 903_900_000, W500) == -1
    assert channel_index(au, 915_200_000, W125) == 0  # AU915 2.8.2: 915.2 MHz + 200 kHz * n
    assert channel_index(au, 915_900_000, W500) == 64  # 915.9 MHz + 1.6 MHz * n


# -- Join-accept and CFList -----------------------------------------------------------------
# CFList (16 bytes) as RP002-1.0.4 2.x.4 lays it out, written by hand:
# type 0 (dynamic plans): five frequencies, 24 bits LE in 100 Hz, then CFListType 0;
# type 1 (US915 2.5.4, AU915 2.8.4): ChMask0..ChMask3 (channels 0..63), ChMask4 (64..71), RFU,
# CFListType 1. FSB2: ChMask0 = 0xFF00 (channels 8..15), ChMask4 = 0x0002 (channel 65).
CFLIST_FSB2 = bytes.fromhex("00ff0000000000000200000000000001")
EU_EXTRA = (867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000)
CFLIST_EU = b"".join((f // 100).to_bytes(3, "little") for f in EU_EXTRA) + b"\x00"


@pytest.mark.parametrize(
    "name, options, freq, sf, dl_settings, cflist",
    [
        # DLSettings = RX1DROffset << 4 | RX2DataRate (1.0.4 5.4), the region's RX2 DR (.7).
        ("EU868", {}, 868_100_000, 7, 0x00, None),
        ("EU868", {"extra_channels_hz": EU_EXTRA}, 868_100_000, 7, 0x00, CFLIST_EU),
        ("US915", {}, 903_900_000, 10, 0x08, None),  # all 72 channels: nothing to say
        ("US915", {"sub_bands": (2,)}, 903_900_000, 10, 0x08, CFLIST_FSB2),
        ("AU915", {"sub_bands": (2,)}, 916_800_000, 10, 0x08, CFLIST_FSB2),
        ("AS923-1", {}, 923_200_000, 7, 0x02, None),
        ("AS923-4", {}, 917_300_000, 7, 0x02, None),
        ("IN865", {}, 865_062_500, 7, 0x02, None),
        ("KR920", {}, 922_100_000, 7, 0x00, None),
    ],
)
def test_join_accept_cflist_per_region(name, options, freq, sf, dl_settings, cflist):
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region=name, net_id=0x13, **options)
    (accept,) = ns.handle_uplink(dev.join_request(), rx(freq, sf))
    assert len(accept.phy) == (17 if cflist is None else 33)
    join_nonce, net_id, dev_addr, settings, rx_delay, ref_cflist = ref_open_join_accept(
        dev.app_key, accept.phy
    )
    assert (join_nonce, net_id, settings, rx_delay) == (0, 0x13, dl_settings, 1)
    assert ref_cflist == cflist
    ours = dev.take_accept(accept.phy)  # the firmware's parser agrees
    assert (ours.dev_addr, ours.dl_settings) == (dev_addr, dl_settings)
    assert ours.cflist == cflist
    if cflist == CFLIST_FSB2:
        assert ours.cflist_type == 1 and ours.channels == (0xFF00, 0, 0, 0, 0x0002)
    elif cflist is not None:
        assert ours.cflist_type == 0 and ours.channels == EU_EXTRA


def test_cflist_and_channel_options_the_region_cannot_take_are_refused():
    with pytest.raises(LnsError, match="US915 has a fixed channel grid"):
        NetworkServer(registry(), region="US915", extra_channels_hz=(904_000_000,))
    with pytest.raises(LnsError, match="not a new channel in KR920"):
        NetworkServer(registry(), region="KR920", extra_channels_hz=(868_100_000,))
    with pytest.raises(LnsError, match="EU868 has no sub-bands"):
        NetworkServer(registry(), sub_bands=(2,))
    with pytest.raises(LnsError, match="sub-bands are 1..8, got 9"):
        NetworkServer(registry(), region="US915", sub_bands=(9,))
    with pytest.raises(LnsError, match="at least 2 channels of 125 kHz"):
        NetworkServer(registry(), region="US915", channels=(8,))  # FCC 15.247 hopping
    with pytest.raises(LnsError, match="unknown region 'US902': one of EU868, US915, AU915"):
        NetworkServer(registry(), region="US902")
    # AU915 allows one 125 kHz channel: a single-channel gateway's whole plan.
    assert server_plan("AU915", channels=(8,))[1] == 1 << 8
    # A region object restricted as the device is (region(name, sub_bands)) says the same.
    assert server_plan(region("US915", sub_bands=(2,)))[1] == FSB2


# -- payload sizes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, freq, sf, room",
    [
        ("EU868", 868_100_000, 7, 51),  # EU868 2.4.6: RX2 DR0 N = 51 (RX1 DR5: 222)
        ("US915", 903_900_000, 10, 53),  # US915 2.5.6: RX2 DR8 N = 53 (RX1 DR10: 242)
        ("AU915", 916_800_000, 10, 53),  # AU915 2.8.6: the same downlink rates
        ("AS923-1", 923_200_000, 7, 11),  # AS923 2.10.6, dwell time on: RX2 DR2 M = 19, N = 11
        ("IN865", 865_062_500, 7, 51),  # IN865 2.12.6: RX2 DR2 N = 51
        ("KR920", 922_100_000, 7, 51),  # KR920 2.11.6: RX2 DR0 N = 51
    ],
)
def test_downlink_payload_fits_the_slowest_window(name, freq, sf, room):
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region=name)
    join(ns, dev, rx(freq, sf))
    ns.enqueue(dev.dev_eui, 5, bytes(room + 1))
    ns.enqueue(dev.dev_eui, 6, bytes(room))
    # RX1 at the uplink's fast rate carries the longer one: it goes in RX1 alone.
    frame, dl = up(ns, dev, rx(freq, sf, t=MHZ), fport=2)
    assert (frame.fport, len(frame.payload)) == (5, room + 1) and frame.fpending
    assert [i.window for i in dl.items] == ["RX1"]
    frame, dl = up(ns, dev, rx(freq, sf, t=2 * MHZ), fport=2)
    assert (frame.fport, len(frame.payload)) == (6, room)
    assert [i.window for i in dl.items] == ["RX1", "RX2"]


# -- US915/AU915 channel mask: LinkADRReq blocks -----------------------------------------------
def fsb2_server(name="US915", **kw):
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region=name, sub_bands=(2,), **kw)
    join(ns, dev, rx(903_900_000, 10))
    return dev, ns


def test_first_uplink_after_a_join_moves_the_device_to_fsb2_with_a_block():
    dev, ns = fsb2_server()
    frame, _ = up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    # By hand from LoRaWAN 1.0.4 5.3 and RP002 US915 2.5.5: CID 0x03, DataRate_TXPower 0x00
    # (DR0 as heard, TXPower 0), ChMask LE, Redundancy = ChMaskCntl << 4 | NbTrans.
    # 1st: ChMaskCntl 7 (every 125 kHz channel off), ChMask 0x0002: channel 65 on -> 71.
    # 2nd: ChMaskCntl 0 (channels 0..15), ChMask 0xFF00: channels 8..15 on -> 01.
    assert frame.fopts == bytes.fromhex("0300020071030000ff01")
    assert ns.session(dev.dev_eui).enabled_mask is None  # not known before the answers
    ans = maccmd.encode(maccmd.LINK_ADR, (True, True, True), True)
    frame, _ = up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2, fopts=ans + ans)
    assert frame is None  # in step: nothing more to say
    session = ns.session(dev.dev_eui)
    assert session.enabled_mask == FSB2
    assert [e.kind for e in ns.events if e.kind in ("adr", "mac_rejected")] == ["adr"]


def test_the_device_accepts_the_block_as_the_spec_defines_it():
    # The device's side, written here from RP002 US915 2.5.5 table (ChMaskCntl meanings), applied
    # from "all 72 channels" (US915 2.5.2: the state after a join without a CFList).
    mask = (1 << 72) - 1
    for _dr, _power, ch_mask, cntl, _nb in link_adr_block(region("US915"), None, FSB2, 0, 0, 1):
        if cntl == 7:
            mask = (ch_mask & 0xFF) << 64  # all 125 kHz off, ChMask for 64..71
        elif cntl <= 3:
            mask = (mask & ~(0xFFFF << (16 * cntl))) | (ch_mask << (16 * cntl))
    assert mask == FSB2


@pytest.mark.parametrize(
    "current, wanted, block",
    [
        # FSB2 from anything else: ChMaskCntl 7 + 64..71, then the one block with channels.
        (None, FSB2, [(0x0002, 7), (0xFF00, 0)]),
        # FSB1 + FSB2: channels 0..15 and 64, 65.
        (None, 0xFFFF | (0b11 << 64), [(0x0003, 7), (0xFFFF, 0)]),
        # Everything but sub-band 8: ChMaskCntl 6 (all on) + 64..70, then block 3 as 0x00FF
        # is shorter (2 commands) than ChMaskCntl 7 + four blocks (5).
        (None, ((1 << 56) - 1) | (0x7F << 64), [(0x007F, 6), (0x00FF, 3)]),
        # All 72 channels: ChMaskCntl 6 with 0xFF alone.
        (FSB2, (1 << 72) - 1, [(0x00FF, 6)]),
        # In step: one command rewriting block 0 with the bits it has (no change).
        (FSB2, FSB2, [(0xFF00, 0)]),
        # In step on sub-band 3 only (channels 16..23, 66): block 1.
        (0xFF << 16 | 1 << 66, 0xFF << 16 | 1 << 66, [(0x00FF, 1)]),
    ],
)
def test_link_adr_block_forms(current, wanted, block):
    got = link_adr_block(region("US915"), current, wanted, 3, 2, 1)
    assert [(c[2], c[3]) for c in got] == block
    assert all((c[0], c[1], c[4]) == (3, 2, 1) for c in got)
    start = current if current is not None else (1 << 72) - 1
    for c in got:
        start = apply_ch_mask_cntl(start, c[2], c[3])
    assert start == wanted


def test_apply_ch_mask_cntl_sub_band_form_and_rfu():
    # RP002 US915 2.5.5: ChMaskCntl 5, bit k of the low byte = sub-band k+1 with channel 64+k.
    assert apply_ch_mask_cntl(0, 0b10, 5) == FSB2
    assert apply_ch_mask_cntl(0, 0x0100, 5) is None  # the high byte is RFU
    assert apply_ch_mask_cntl(None, 0xFF00, 0) is None  # a block of an unknown mask


def test_adr_in_us915_sends_the_new_rate_as_one_command_once_in_step():
    dev, ns = fsb2_server(adr=True)
    ans = maccmd.encode(maccmd.LINK_ADR, (True, True, True), True)
    up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2, fopts=ans + ans)
    frame = None
    for i in range(20):
        frame, _ = up(
            ns, dev, rx(903_900_000, 10, snr=0.0, t=(3 + i) * MHZ), fport=2, fctrl=FCTRL_ADR
        )
    # SF10 floor -15 dB: 0 + 15 - 10 = 5 dB -> one step, DR0 -> DR1; the mask is in step,
    # so one LinkADRReq: 0x10 (DR1, TXPower 0), ChMask 0xFF00, ChMaskCntl 0, NbTrans 1.
    assert frame.fopts == bytes.fromhex("031000ff01")
    up(ns, dev, rx(903_900_000, 9, t=30 * MHZ), fport=2, fopts=ans)
    assert ns.session(dev.dev_eui).dr == 1


def test_adr_stops_at_the_fastest_125_khz_rate_or_the_servers_limit():
    # US915 2.5.3: DR3 (SF7/125) is the fastest 125 kHz rate; DR4 is 500 kHz.
    dev, ns = fsb2_server(adr=True)
    ans = maccmd.encode(maccmd.LINK_ADR, (True, True, True), True)
    up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2, fopts=ans + ans)
    for i in range(20):
        frame, _ = up(
            ns, dev, rx(903_900_000, 10, snr=10.0, t=(3 + i) * MHZ), fport=2, fctrl=FCTRL_ADR
        )
    # 10 + 15 - 10 = 15 dB: 5 steps, 3 of them to DR3, 2 to TXPower 2.
    assert cmds(frame) == [(maccmd.LINK_ADR, (3, 2, 0xFF00, 0, 1))]
    # A single-channel gateway at SF10 (DR0) hears nothing faster: adr_max_dr=0.
    dev, ns = fsb2_server(adr=True, adr_max_dr=0)
    up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2, fopts=ans + ans)
    for i in range(20):
        frame, _ = up(
            ns, dev, rx(903_900_000, 10, snr=10.0, t=(3 + i) * MHZ), fport=2, fctrl=FCTRL_ADR
        )
    assert cmds(frame) == [(maccmd.LINK_ADR, (0, 5, 0xFF00, 0, 1))]  # power only
    with pytest.raises(LnsError, match="adr_max_dr 5 is not an uplink data rate of US915"):
        NetworkServer(registry(), region="US915", adr_max_dr=5)


def test_a_refused_mask_is_reported_and_not_asked_again():
    dev, ns = fsb2_server()
    up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    nack = maccmd.encode(maccmd.LINK_ADR, (True, True, False), True)
    frame, _ = up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2, fopts=nack + nack)
    assert frame is None
    (ev,) = [e for e in ns.events if e.kind == "mac_rejected"]
    assert (ev.reason, ev.detail) == ("LinkADR", {"acks": "110"})
    assert ns.session(dev.dev_eui).enabled_mask is None
    assert up(ns, dev, rx(904_300_000, 10, t=3 * MHZ), fport=2)[0] is None


def test_answers_counted_against_the_block():
    dev, ns = fsb2_server()
    up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    ans = maccmd.encode(maccmd.LINK_ADR, (True, True, True), True)
    up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2, fopts=ans)  # one answer for two
    assert any(
        e.kind == "mac_error" and e.reason == "LinkADR: 1 answer(s) to a block of 2"
        for e in ns.events
    )
    assert ns.session(dev.dev_eui).enabled_mask == FSB2  # all it said was yes


def test_a_block_that_did_not_go_out_goes_again_whole():
    dev, ns = fsb2_server()
    out = ns.handle_uplink(dev.uplink(fport=2), rx(904_100_000, 10, t=MHZ))
    ns.handle_tx_ack(TxAck(out[0].downlink_id, "TOO_LATE"), EPOCH_US + MHZ)
    frame, _ = up(ns, dev, rx(904_300_000, 10, t=2 * MHZ), fport=2)
    assert frame.fopts == bytes.fromhex("0300020071030000ff01")


def test_a_block_the_device_never_answered_is_sent_again():
    dev, ns = fsb2_server()
    frame, _ = up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    assert len(cmds(frame)) == 2  # the block went out (and was lost on the way)
    assert up(ns, dev, rx(904_100_000, 10, t=2 * MHZ), fport=2)[0] is None
    assert up(ns, dev, rx(904_100_000, 10, t=3 * MHZ), fport=2)[0] is None
    # the device answers in its next uplink (1.0.4 5.3): three without an answer, it is lost
    frame, _ = up(ns, dev, rx(904_100_000, 10, t=4 * MHZ), fport=2)
    assert frame.fopts == bytes.fromhex("0300020071030000ff01")
    assert any(e.reason == "LinkADR: no answer in 3 uplinks" for e in ns.events)


def test_a_block_is_never_split_when_the_commands_leave_fopts():
    dev, ns = fsb2_server()
    mask = 0x0F0F | 0x00F0 << 16 | 0x0F00 << 32  # three blocks with some channels on
    sent = ns.request_link_adr(dev.dev_eui, 0, 0, mask=mask)
    assert [(f[2], f[3]) for f in sent] == [(0, 7), (0x0F0F, 0), (0x00F0, 1), (0x0F00, 2)]
    ns.request_dev_status(dev.dev_eui)
    frame, _ = up(ns, dev, rx(904_100_000, 10, t=MHZ), fport=2)
    assert frame.fport == 0  # 4 * 5 + 1 bytes > 15: on FPort 0, the block whole
    assert cmds(frame) == [(maccmd.LINK_ADR, f) for f in sent] + [(maccmd.DEV_STATUS, ())]
    # When FPort 0 is too small too, commands are dropped from the end: a block as one.
    mac = [(maccmd.LINK_CHECK, (1, 1))] + [(maccmd.LINK_ADR, f) for f in sent]
    _drop_last(mac)
    assert mac == [(maccmd.LINK_CHECK, (1, 1))]


def test_mac_requests_the_region_does_not_define_are_refused():
    dev, ns = fsb2_server()
    with pytest.raises(LnsError, match="no TxParamSetupReq"):
        ns.request_mac(dev.dev_eui, maccmd.TX_PARAM_SETUP, (False, False, 5))
    with pytest.raises(LnsError, match="fixed channel grid"):
        ns.request_mac(dev.dev_eui, maccmd.NEW_CHANNEL, (3, 905_000_000, 0, 3))
    with pytest.raises(LnsError, match="not a receive frequency of US915"):
        ns.request_mac(dev.dev_eui, maccmd.RX_PARAM_SETUP, (0, 8, 923_400_000))
    with pytest.raises(LnsError, match="at least 2 channels"):
        ns.request_link_adr(dev.dev_eui, 0, 0, mask=1 << 8)
    # US915 2.5.7: RX2 on one of the eight downlink channels.
    ns.request_mac(dev.dev_eui, maccmd.RX_PARAM_SETUP, (0, 10, 923_900_000))


def test_as923_tx_param_setup_turns_downlink_dwell_time_off():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region="AS923-1")
    join(ns, dev, rx(923_200_000, 10))  # DR2
    ns.request_mac(dev.dev_eui, maccmd.TX_PARAM_SETUP, (False, False, 5))
    frame, down = up(ns, dev, rx(923_200_000, 10, t=MHZ), fport=2)
    assert cmds(frame) == [(maccmd.TX_PARAM_SETUP, (False, False, 5))]
    assert (down.items[0].dr, down.items[1].dr) == (2, 2)
    frame, down = up(
        ns,
        dev,
        rx(923_200_000, 12, t=2 * MHZ),
        fport=2,
        confirmed=True,
        fopts=maccmd.encode(maccmd.TX_PARAM_SETUP, (), True),
    )
    session = ns.session(dev.dev_eui)
    assert (session.downlink_dwell, session.uplink_dwell, session.max_eirp) == (False, False, 16)
    # AS923 2.10.7 without downlink dwell time: RX1 DR = max(0, DR0 - 0) = DR0 (was 2 at least).
    assert down.items[0].dr == 0


# -- MAC commands every region answers ------------------------------------------------------
def test_device_time_answer_is_gps_time_at_the_end_of_the_uplink():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region="US915", sub_bands=(2,))
    join(ns, dev, rx(903_900_000, 10))
    # 2017-01-01T00:00:00.5Z: GPS time 1167264018.5 s (Unix 1483228800 - 315964800 from the
    # GPS epoch 1980-01-06 + 18 leap seconds since 2017-01-01); DeviceTimeAns (1.0.4 5.9):
    # seconds LE, then the fraction in 1/256 s: 0.5 s -> 128.
    t = int(datetime(2017, 1, 1, tzinfo=UTC).timestamp()) * MHZ + 500_000 - EPOCH_US
    frame, _ = up(
        ns,
        dev,
        rx(904_100_000, 10, t=t),
        fport=2,
        fopts=maccmd.encode(maccmd.DEVICE_TIME, (), True),
    )
    assert (maccmd.DEVICE_TIME, (1_167_264_018, 128)) in cmds(frame)
    data = frame.payload if frame.fport == 0 else frame.fopts  # FPort 0 beside the FSB2 block
    assert bytes.fromhex("0d") + (1_167_264_018).to_bytes(4, "little") + b"\x80" in data


def test_an_unknown_cid_stops_parsing_the_rest():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, region="KR920")
    join(ns, dev, rx(922_100_000, 7))
    # LinkCheckReq, then 0x0B (no LoRaWAN 1.0.4 uplink command), then DeviceTimeReq: the
    # first is answered; parsing stops at 0x0B (1.0.4 section 5), DeviceTimeReq is not seen.
    frame, _ = up(ns, dev, rx(922_100_000, 7, t=MHZ), fport=2, fopts=bytes((0x02, 0x0B, 0x0D)))
    assert [c for c, _ in cmds(frame)] == [maccmd.LINK_CHECK]
    assert any(e.kind == "mac_error" and "0x0b" in e.reason for e in ns.events)
