"""Each region end to end through the emulated field (regionfield.py): the real firmware MAC on
the emulated SX1276, an 8-channel gateway on the region's channels and the embedded network
server of that region. A join, three uplinks, an application downlink, and a LinkADRReq that
puts the device on a smaller channel mask (in US915/AU915 a block of LinkADRReq with
ChMaskCntl), then uplinks on that mask only.

Every frame on the air is checked by the independent decoder (decoder.py: MICs, encryption,
keys, MAC commands, written from the spec) and every downlink's timing, frequency and data
rate against RP002-1.0.4's receive-window rules written down in rp002.py.
"""

import pytest
from decoder import Decoder, link_adr_ans, link_adr_req
from lorafield_node import maccmd as mc
from regionfield import APP_KEY, DEV_EUI, RegionField, join, send
from rp002 import (
    DEFAULT_CHANNELS,
    JOIN_ACCEPT_DELAY1,
    JOIN_ACCEPT_DELAY2,
    K125,
    K500,
    NAMES,
    RECEIVE_DELAY1,
    RECEIVE_DELAY2,
    RX2,
    dr_setting,
    fixed_channel,
    key,
    rx1_dr,
    rx1_frequency,
    sub_band_channels,
    uplink_dr,
)

S = 1_000_000
FIXED = ("US915", "AU915")
APP_PORT, DOWN_PORT = 10, 20
# The channel mask the network moves the device to: the second default channel of a dynamic
# plan (ChMaskCntl 0, bit 1); two 125 kHz channels of FSB2 in US915/AU915 (US915 keeps at least
# two, FCC 15.247), 500 kHz channel 65 off.
MASK = {"dynamic": 0b10, "fixed": (1 << 8) | (1 << 9)}


def hz(frame):
    """A frame's frequency as the channel plan writes it: the SX1276 synthesiser lands within
    a 61 Hz step of the channel (datasheet 4.1.4), so to the nearest 100 Hz (RP002's unit)."""
    return round(frame.frequency_hz / 100) * 100


def mask_of(name):
    return MASK["fixed" if name in FIXED else "dynamic"]


def apply_fixed_block(mask, block):
    """RP002 2.5.5 / 2.8.5 (written again here): the mask after a block of LinkADRReq."""
    for _, _, ch_mask, cntl, _ in block:
        if cntl <= 3:
            mask = (mask & ~(0xFFFF << (16 * cntl))) | (ch_mask << (16 * cntl))
        elif cntl == 4:
            mask = (mask & ((1 << 64) - 1)) | ((ch_mask & 0xFF) << 64)
        elif cntl == 5:
            mask = 0
            for k in range(8):
                if ch_mask >> k & 1:
                    mask |= (0xFF << (8 * k)) | (1 << (64 + k))
        else:  # 6: all 125 kHz on, 7: all off; ChMask then sets 64..71
            mask = (((1 << 64) - 1) if cntl == 6 else 0) | ((ch_mask & 0xFF) << 64)
    return mask


def scenario(mac, field):
    field.note("attempts", join(mac, field.view))
    for i in range(3):
        send(mac, field.view, APP_PORT, bytes([i]) * 4)
    field.server.enqueue(DEV_EUI, DOWN_PORT, b"down")
    r = send(mac, field.view, APP_PORT, b"up-3")
    down = r.downlink
    field.note("downlink", (down.fport, bytes(down.payload), down.window) if down else None)
    field.note("block", field.server.request_link_adr(DEV_EUI, 15, 15, mask=mask_of(field.name)))
    send(mac, field.view, APP_PORT, b"up-4")  # the LinkADRReq comes in its RX1
    field.note("ch_mask", mac.session.ch_mask)
    for i in range(5):
        send(mac, field.view, APP_PORT, b"after" + bytes([i]))  # the first carries the answers


@pytest.fixture(scope="module", params=NAMES)
def field(request):
    f = RegionField(request.param)
    f.run(scenario, seconds=1800)
    return f


def _decoded(field):
    """(air frame, Decoded) of every frame on the air, in order."""
    decoder = Decoder(APP_KEY)
    return [(frame, decoder.frame(frame.payload)) for frame in field.air.log]


def test_join_uplinks_and_downlink(field):
    (attempts,) = field.notes("attempts")
    assert attempts >= 1
    assert field.notes("downlink") == [(DOWN_PORT, b"down", 1)]
    frames = _decoded(field)
    kinds = [d.kind for _, d in frames]
    assert kinds.count("join_accept") == 1
    ups = [d for _, d in frames if d.kind == "uplink"]
    assert [d.fcnt for d in ups] == list(range(len(ups))) and len(ups) == 10
    assert [d.payload for d in ups[:4]] == [b"\x00" * 4, b"\x01" * 4, b"\x02" * 4, b"up-3"]
    downs = [d for _, d in frames if d.kind == "downlink" and d.fport == DOWN_PORT]
    assert [d.payload for d in downs] == [b"down"]
    # the server stored the same frames the decoder read
    assert [e.detail["fcnt"] for e in field.server.events if e.kind == "uplink"] == list(range(10))
    assert not [e for e in field.server.events if e.kind.endswith("_rejected")]


def test_uplinks_on_the_regions_channels_and_data_rates(field):
    name = field.name
    for frame in field.node_frames():
        assert not frame.iq_inverted and frame.crc and frame.sync_word == 0x34
        dr = uplink_dr(name, frame.sf, frame.bw_hz)
        assert dr is not None, (frame.sf, frame.bw_hz)
        if name in FIXED:
            fixed_channel(name, hz(frame), frame.bw_hz)  # on the grid
        else:
            assert hz(frame) in DEFAULT_CHANNELS[name]
            assert frame.bw_hz == K125
    if name in FIXED:
        # after the Join-accept (CFList type 1, FSB2) every uplink is in sub-band 2
        decoded = _decoded(field)
        accepted = next(i for i, (_, d) in enumerate(decoded) if d.kind == "join_accept")
        assert decoded[accepted][1].cflist_mask == (0xFF << 8) | (1 << 65)
        fsb2 = set(sub_band_channels(name, 2))
        for frame, d in decoded[accepted:]:
            if d.kind == "uplink":
                assert (hz(frame), frame.bw_hz) in fsb2


def test_downlinks_in_the_receive_windows_of_rp002(field):
    """Each downlink starts RECEIVE_DELAY1/2 (JOIN_ACCEPT_DELAY1/2) after the end of the
    uplink it answers, on the RX1 frequency and data rate of the region (x.7, offset 0; AS923
    with its default downlink dwell time) or on RX2's, with inverted IQ and no CRC."""
    name = field.name
    ups = field.node_frames()
    dwell = key(name) == "AS923-1"
    seen = 0
    for frame in field.gateway_frames():
        assert frame.iq_inverted and not frame.crc
        up = max((u for u in ups if u.end_us <= frame.start_us), key=lambda u: u.end_us)
        delay = frame.start_us - up.end_us
        join = up.payload[0] >> 5 == 0
        first, second = (
            (JOIN_ACCEPT_DELAY1, JOIN_ACCEPT_DELAY2) if join else (RECEIVE_DELAY1, RECEIVE_DELAY2)
        )
        up_dr = uplink_dr(name, up.sf, up.bw_hz)
        if delay == first * S:
            want_hz = rx1_frequency(name, hz(up), up.bw_hz)
            want_dr = rx1_dr(name, up_dr, 0, dwell)
        else:
            assert delay == second * S
            want_hz, want_dr = RX2[name]
        assert hz(frame) == want_hz
        assert (frame.sf, frame.bw_hz) == dr_setting(name, want_dr)
        seen += 1
    assert seen >= 3  # the Join-accept, the application downlink, the LinkADRReq
    if name in FIXED:
        assert {f.bw_hz for f in field.gateway_frames()} == {K500}  # 923.3 + 0.6 n MHz


def test_link_adr_channel_mask(field):
    """The LinkADRReq (a block of them in US915/AU915: ChMaskCntl 7, then 0) as decoded from the
    air sets the mask the device uses: it answers each with all ACK bits set, and every uplink
    is on the mask of the last block it answered (or of the Join-accept's CFList type 1),
    worked out here from the decoded commands (RP002 x.5). The server may send blocks of its
    own (US915/AU915: towards the sub-bands its gateways listen on); they are followed alike."""
    name = field.name
    wanted = mask_of(name)
    frames = _decoded(field)
    fixed = name in FIXED
    mask = (1 << 72) - 1 if fixed else (1 << len(DEFAULT_CHANNELS[name])) - 1
    pending = None
    blocks = []
    on_wanted = 0
    for frame, d in frames:
        if d.kind == "join_accept" and fixed:
            mask = d.cflist_mask
        elif d.kind == "downlink":
            block = [link_adr_req(p) for cid, p in d.mac if cid == mc.LINK_ADR]
            if block:
                pending = block
                blocks.append(block)
        elif d.kind == "uplink":
            answers = [link_adr_ans(p) for cid, p in d.mac if cid == mc.LINK_ADR]
            if pending is not None:
                assert answers == [(True, True, True)] * len(pending)
                if fixed:
                    mask = apply_fixed_block(mask, pending)
                else:
                    (only,) = pending
                    assert only[3] == 0  # ChMaskCntl 0: ChMask is channels 0..15
                    mask = only[2]
                pending = None
            if fixed:
                channel = fixed_channel(name, hz(frame), frame.bw_hz)
            else:
                channel = DEFAULT_CHANNELS[name].index(hz(frame))
            assert mask >> channel & 1, (hz(frame), bin(mask))
            on_wanted += mask == wanted
    requested = [tuple(f) for f in field.notes("block")[0]]
    assert requested in [[tuple(c) for c in b] for b in blocks]
    if fixed:
        assert len(requested) == 2 and [c[3] for c in requested] == [7, 0]
        assert apply_fixed_block((0xFF << 8) | (1 << 65), requested) == wanted
    else:
        assert [(c[2], c[3]) for c in requested] == [(wanted, 0)]
    assert field.notes("ch_mask") == [wanted]
    assert on_wanted >= 1
