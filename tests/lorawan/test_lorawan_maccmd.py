"""MAC commands (LoRaWAN 1.0.4 section 5): known bytes, round trips, framing errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lorafield_node import maccmd as mc

u8 = st.integers(0, 255)
u4 = st.integers(0, 15)
flag = st.booleans()
freq = st.integers(0, 0xFFFFFF).map(lambda f: f * 100)

# (cid, uplink) -> strategy for the fields tuple, per the table in maccmd's docstring.
FIELDS = {
    (mc.LINK_CHECK, True): st.just(()),
    (mc.LINK_CHECK, False): st.tuples(u8, u8),
    (mc.LINK_ADR, True): st.tuples(flag, flag, flag),
    (mc.LINK_ADR, False): st.tuples(u4, u4, st.integers(0, 0xFFFF), st.integers(0, 7), u4),
    (mc.DUTY_CYCLE, True): st.just(()),
    (mc.DUTY_CYCLE, False): st.tuples(u4),
    (mc.RX_PARAM_SETUP, True): st.tuples(flag, flag, flag),
    (mc.RX_PARAM_SETUP, False): st.tuples(st.integers(0, 7), u4, freq),
    (mc.DEV_STATUS, True): st.tuples(u8, st.integers(-32, 31)),
    (mc.DEV_STATUS, False): st.just(()),
    (mc.NEW_CHANNEL, True): st.tuples(flag, flag),
    (mc.NEW_CHANNEL, False): st.tuples(u8, freq, u4, u4),
    (mc.RX_TIMING_SETUP, True): st.just(()),
    (mc.RX_TIMING_SETUP, False): st.tuples(u4),
    (mc.TX_PARAM_SETUP, True): st.just(()),
    (mc.TX_PARAM_SETUP, False): st.tuples(flag, flag, u4),
    (mc.DL_CHANNEL, True): st.tuples(flag, flag),
    (mc.DL_CHANNEL, False): st.tuples(u8, freq),
    (mc.DEVICE_TIME, True): st.just(()),
    (mc.DEVICE_TIME, False): st.tuples(st.integers(0, 0xFFFFFFFF), u8),
}


@st.composite
def command_lists(draw, uplink):
    keys = [k for k in FIELDS if k[1] == uplink]
    picks = draw(st.lists(st.sampled_from(keys), max_size=8))
    return [(cid, draw(FIELDS[(cid, up)])) for cid, up in picks]


@pytest.mark.parametrize("uplink", [True, False])
@given(data=st.data())
def test_round_trip(uplink, data):
    cmds = data.draw(command_lists(uplink))
    raw = b"".join(mc.encode(cid, fields, uplink) for cid, fields in cmds)
    assert mc.parse_commands(raw, uplink) == cmds
    buf = bytearray(len(raw) + 3)
    p = 0
    for cid, fields in cmds:
        p = mc.encode_into(buf, p, cid, fields, uplink)
    assert p == len(raw) and bytes(buf[:p]) == raw


@pytest.mark.parametrize(
    ("cid", "fields", "uplink", "wire"),
    [
        (mc.DEV_STATUS, (115, 7), True, "067307"),  # lorawan-facts.md confirmed-uplink FOpts
        (mc.DEV_STATUS, (255, -1), True, "06ff3f"),  # margin is 6-bit two's complement
        (mc.LINK_CHECK, (), True, "02"),
        (mc.LINK_CHECK, (20, 3), False, "021403"),
        # DR5, TXPower 1, channels 0-2, ChMaskCntl 0, NbTrans 1.
        (mc.LINK_ADR, (5, 1, 0x0007, 0, 1), False, "0351070001"),
        (mc.LINK_ADR, (True, True, False), True, "0306"),
        (mc.DUTY_CYCLE, (7,), False, "0407"),
        # RX1DROffset 1, RX2 DR3, 869.525 MHz = 8695250 (0x84add2) * 100 Hz.
        (mc.RX_PARAM_SETUP, (1, 3, 869525000), False, "0513d2ad84"),
        (mc.RX_PARAM_SETUP, (True, False, True), True, "0505"),
        (mc.NEW_CHANNEL, (3, 867100000, 0, 5), False, "0703184f8450"),
        (mc.NEW_CHANNEL, (True, True), True, "0703"),
        (mc.RX_TIMING_SETUP, (5,), False, "0805"),
        (mc.TX_PARAM_SETUP, (True, False, 13), False, "092d"),
        (mc.DL_CHANNEL, (3, 868900000), False, "0a03689584"),
        (mc.DL_CHANNEL, (False, True), True, "0a01"),
        (mc.DEVICE_TIME, (), True, "0d"),
        (mc.DEVICE_TIME, (1234567890, 128), False, "0dd202964980"),
    ],
)
def test_known_encodings(cid, fields, uplink, wire):
    assert mc.encode(cid, fields, uplink).hex() == wire
    assert mc.parse_commands(bytes.fromhex(wire), uplink) == [(cid, fields)]


def test_unknown_cid_stops_parsing_keeping_the_prefix():
    raw = bytes.fromhex("0673070b0206")  # DevStatusAns, then 0x0B (not in 1.0.4), then more
    with pytest.raises(mc.MacCommandError, match="unknown CID 0x0b") as err:
        mc.parse_commands(raw, True)
    assert err.value.parsed == ((mc.DEV_STATUS, (115, 7)),)
    seen = []
    with pytest.raises(mc.MacCommandError):
        for item in mc.iter_commands(raw, True):
            seen.append(item)
    assert seen == [(mc.DEV_STATUS, (115, 7))]


@pytest.mark.parametrize(
    ("raw", "uplink"),
    [("0351", False), ("06", True), ("0d0102", False), ("0703", False)],
)
def test_truncated_command(raw, uplink):
    with pytest.raises(mc.MacCommandError, match="truncated"):
        mc.parse_commands(bytes.fromhex(raw), uplink)


def test_direction_matters():
    # 0x0D carries 5 bytes down (DeviceTimeAns) and none up (DeviceTimeReq).
    assert mc.parse_commands(b"\x0d\x0d", True) == [(0x0D, ()), (0x0D, ())]
    with pytest.raises(mc.MacCommandError, match="truncated"):
        mc.parse_commands(b"\x0d\x0d", False)


@given(st.binary(max_size=40), st.booleans())
def test_random_bytes_raise_only_mac_command_error(raw, uplink):
    try:
        cmds = mc.parse_commands(raw, uplink)
    except mc.MacCommandError:
        return
    # RFU bits are dropped on parse, so re-encoding may differ from raw only in those bits:
    # it has the same length and parses to the same commands.
    again = b"".join(mc.encode(c, f, uplink) for c, f in cmds)
    assert len(again) == len(raw)
    assert mc.parse_commands(again, uplink) == cmds


@pytest.mark.parametrize(
    ("cid", "fields", "uplink"),
    [
        (mc.DEV_STATUS, (256, 0), True),
        (mc.DEV_STATUS, (1, 32), True),
        (mc.LINK_ADR, (16, 0, 0, 0, 0), False),
        (mc.RX_PARAM_SETUP, (0, 0, 868100050), False),
        (mc.DEV_STATUS, (1,), True),
        (0x0B, (), True),
    ],
)
def test_encode_rejects_bad_fields(cid, fields, uplink):
    with pytest.raises(mc.MacCommandError):
        mc.encode(cid, fields, uplink)


def test_encode_into_checks_room():
    with pytest.raises(mc.MacCommandError, match="buffer too small"):
        mc.encode_into(bytearray(2), 0, mc.DEV_STATUS, (1, 1), True)
