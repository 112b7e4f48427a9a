"""Data frames, Join-request/-accept and session keys: round trips (build -> parse), a reference
implementation written with `cryptography` for the crypto, and malformed input."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given
from hypothesis import strategies as st
from lorafield_node import join, phy
from lorafield_node.aes import new_aes

NWK = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
APP = bytes.fromhex("100f0e0d0c0b0a090807060504030201")
DATA_MTYPES = [phy.UNCONFIRMED_UP, phy.UNCONFIRMED_DOWN, phy.CONFIRMED_UP, phy.CONFIRMED_DOWN]


# -- reference implementation (independent of the firmware code, straight from the spec) ----


def ref_aes(key: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def ref_cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def ref_data_frame(mtype, dev_addr, fcnt, fctrl, fopts, fport, payload, nwk, app):
    direction = 0 if mtype in (phy.UNCONFIRMED_UP, phy.CONFIRMED_UP) else 1
    msg = struct.pack("<BIBH", mtype << 5, dev_addr, (fctrl & 0xF0) | len(fopts), fcnt & 0xFFFF)
    msg += fopts
    if fport is not None:
        key = nwk if fport == 0 else app
        stream = b"".join(
            ref_aes(key, struct.pack("<B4xBIIxB", 1, direction, dev_addr, fcnt, i))
            for i in range(1, len(payload) // 16 + 2)
        )
        msg += bytes([fport]) + bytes(a ^ b for a, b in zip(payload, stream, strict=False))
    b0 = struct.pack("<B4xBIIxB", 0x49, direction, dev_addr, fcnt, len(msg))
    return msg + ref_cmac(nwk, b0 + msg)[:4]


def host_encrypt_join_accept(app_key: bytes, plaintext: bytes) -> bytes:
    """The network side: MHDR kept, the rest AES-*decrypted* with the AppKey."""
    dec = Cipher(algorithms.AES(app_key), modes.ECB()).decryptor()
    return plaintext[:1] + dec.update(plaintext[1:]) + dec.finalize()


# -- data frames -----------------------------------------------------------------------------


@st.composite
def data_frames(draw):
    mtype = draw(st.sampled_from(DATA_MTYPES))
    fport = draw(st.one_of(st.none(), st.integers(0, 255)))
    fopts = b"" if fport == 0 else draw(st.binary(max_size=15))
    payload = b"" if fport is None else draw(st.binary(max_size=222))
    return dict(
        mtype=mtype,
        dev_addr=draw(st.integers(0, 0xFFFFFFFF)),
        fcnt32=draw(st.integers(0, 0xFFFFFFFF)),
        fctrl=draw(st.sampled_from([0, 0x80, 0x40, 0x20, 0x10, 0xF0])),
        fopts=fopts,
        fport=fport,
        payload=payload,
    )


@given(data_frames())
def test_data_frame_matches_reference_and_round_trips(f):
    crypto = phy.SessionCrypto(NWK, APP, "cryptography")
    built = phy.build_data(crypto, **f)
    assert built == ref_data_frame(
        f["mtype"], f["dev_addr"], f["fcnt32"], f["fctrl"], f["fopts"], f["fport"],
        f["payload"], NWK, APP,
    )  # fmt: skip
    got = phy.open_data(built, crypto, f["fcnt32"])
    assert (got.mtype, got.dev_addr, got.fcnt, got.fopts, got.fport, got.payload) == (
        f["mtype"], f["dev_addr"], f["fcnt32"] & 0xFFFF, f["fopts"], f["fport"], f["payload"],
    )  # fmt: skip
    assert got.fctrl & 0xF0 == f["fctrl"] and got.decrypted
    uplink = f["mtype"] in (phy.UNCONFIRMED_UP, phy.CONFIRMED_UP)
    assert got.direction == (phy.UPLINK if uplink else phy.DOWNLINK)
    assert got.adr == bool(f["fctrl"] & 0x80)
    assert got.ack == bool(f["fctrl"] & 0x20)
    assert got.adr_ack_req == (uplink and bool(f["fctrl"] & 0x40))
    assert got.fpending == (not uplink and bool(f["fctrl"] & 0x10))
    assert got.class_b == (uplink and bool(f["fctrl"] & 0x10))
    assert got.confirmed == (f["mtype"] in (phy.CONFIRMED_UP, phy.CONFIRMED_DOWN))


@given(data_frames(), st.data())
def test_any_bit_flip_is_rejected(f, data):
    crypto = phy.SessionCrypto(NWK, APP, "cryptography")
    built = bytearray(phy.build_data(crypto, **f))
    bit = data.draw(st.integers(0, len(built) * 8 - 1))
    built[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(phy.FrameError):
        phy.open_data(bytes(built), crypto, f["fcnt32"])


def test_pure_python_backend_builds_the_same_frames():
    fast = phy.SessionCrypto(NWK, APP, "cryptography")
    slow = phy.SessionCrypto(NWK, APP, "python")
    for n in (0, 1, 15, 16, 17, 33, 222):
        args = (phy.CONFIRMED_DOWN, 0x26011234, 70000 + n, phy.FCTRL_ACK, b"\x02\x05\x01", 7)
        assert phy.build_data(fast, *args, bytes(range(n))) == phy.build_data(
            slow, *args, bytes(range(n))
        )


def test_build_into_preallocated_buffer_and_wrong_counter():
    crypto = phy.SessionCrypto(NWK, APP, "python")
    buf = bytearray(64)
    n = phy.build_data_into(buf, crypto, phy.UNCONFIRMED_UP, 1, 0x12345, 0, b"", 3, b"abc")
    assert n == 13 + 3 and buf[6:8] == b"\x45\x23"
    frame = bytes(buf[:n])
    assert phy.check_mic(frame, crypto, 0x12345)
    assert not phy.check_mic(frame, crypto, 0x02345)  # same 16 bits, other upper half
    with pytest.raises(phy.FrameError, match="MIC mismatch"):
        phy.open_data(frame, crypto, 0x22345)
    with pytest.raises(phy.FrameError, match="FCnt does not match"):
        phy.open_data(frame, crypto, 0x12346)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (dict(fopts=bytes(16)), "FOpts longer"),
        (dict(payload=b"x"), "without FPort"),
        (dict(fport=0, fopts=b"\x02"), "FPort 0"),
        (dict(fport=256), "FPort out of range"),
        (dict(fport=1, payload=bytes(60)), "larger than buffer"),
        (dict(mtype=phy.JOIN_REQUEST), "not a data MType"),
        (dict(fcnt32=1 << 32), "FCnt out of range"),
        (dict(dev_addr=-1), "DevAddr out of range"),
    ],
)
def test_build_rejects_bad_arguments(kwargs, reason):
    crypto = phy.SessionCrypto(NWK, APP, "python")
    args = dict(mtype=phy.UNCONFIRMED_UP, dev_addr=1, fcnt32=0) | kwargs
    with pytest.raises(phy.FrameError, match=reason):
        phy.build_data_into(bytearray(64), crypto, **args)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("", "empty frame"),
        ("41f17dbe4900020001954378762b11ff0d", "Major"),
        ("00f17dbe4900020001954378762b11ff0d", "not a data frame"),
        ("40f17dbe49000200012b11ff", "too short"),  # 12 bytes is fine ...
        ("40f17dbe4900020001", "too short"),
        ("40f17dbe4903020001020b", "too short"),
        ("40f17dbe4903020001022b11ff0d", "FOptsLen beyond frame"),
        ("40f17dbe49010200020000aabbccdd", "FOpts present with FPort 0"),
    ],
)
def test_parse_rejects_malformed(frame, reason):
    raw = bytes.fromhex(frame)
    if reason == "too short" and len(raw) == 12:
        # The minimal frame (no FOpts, no FPort) parses.
        f = phy.parse_data(raw)
        assert f.fport is None and f.payload == b"" and f.fopts == b""
        return
    with pytest.raises(phy.FrameError, match=reason) as err:
        phy.parse_data(raw)
    assert err.value.reason


@given(st.binary(max_size=80))
def test_random_bytes_raise_only_frame_error(raw):
    crypto = phy.SessionCrypto(NWK, APP, "cryptography")
    app = new_aes(APP, "cryptography")
    for call in (
        lambda: phy.open_data(raw, crypto, 0),
        lambda: join.open_join_accept(raw, app),
        lambda: join.parse_join_request(raw, app),
    ):
        try:
            call()
        except phy.FrameError:
            pass


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF))
def test_fcnt_reconstruction(next_expected, fcnt16):
    try:
        c = phy.fcnt32_from16(next_expected, fcnt16)
    except phy.FrameError as e:
        assert e.reason == "frame counter exhausted"
        assert (next_expected & ~0xFFFF | fcnt16) + 0x10000 > 0xFFFFFFFF
        return
    assert c & 0xFFFF == fcnt16
    assert next_expected <= c < next_expected + 0x10000


def test_fcnt_reconstruction_examples():
    assert phy.fcnt32_from16(0, 0) == 0
    assert phy.fcnt32_from16(0xFFFF, 0) == 0x10000  # roll-over of the 16 bits
    assert phy.fcnt32_from16(0x10005, 0x0004) == 0x20004  # a replay maps a full lap ahead
    with pytest.raises(phy.FrameError):
        phy.fcnt32_from16(0, 0x10000)


# -- join ------------------------------------------------------------------------------------

eui = st.binary(min_size=8, max_size=8)


@given(eui, eui, st.integers(0, 0xFFFF), st.binary(min_size=16, max_size=16))
def test_join_request_round_trip_and_reference(join_eui, dev_eui, nonce, key):
    app = new_aes(key, "cryptography")
    raw = join.build_join_request(app, join_eui, dev_eui, nonce)
    body = b"\x00" + join_eui[::-1] + dev_eui[::-1] + struct.pack("<H", nonce)
    assert raw == body + ref_cmac(key, body)[:4]
    jr = join.parse_join_request(raw, app)
    assert (jr.join_eui, jr.dev_eui, jr.dev_nonce) == (join_eui, dev_eui, nonce)
    other = new_aes(bytes(b ^ 1 for b in key), "cryptography")
    with pytest.raises(phy.FrameError, match="MIC mismatch"):
        join.parse_join_request(raw, other)


def test_join_request_argument_errors():
    app = new_aes(NWK, "python")
    with pytest.raises(phy.FrameError, match="JoinEUI"):
        join.build_join_request(app, bytes(7), bytes(8), 0)
    with pytest.raises(phy.FrameError, match="DevNonce"):
        join.build_join_request(app, bytes(8), bytes(8), 0x10000)


freq_hz = st.integers(8_630_000, 8_700_000).map(lambda f: f * 100)


@given(
    key=st.binary(min_size=16, max_size=16),
    join_nonce=st.integers(0, 0xFFFFFF),
    net_id=st.integers(0, 0xFFFFFF),
    dev_addr=st.integers(0, 0xFFFFFFFF),
    rx1_offset=st.integers(0, 7),
    rx2_dr=st.integers(0, 15),
    rx_delay=st.integers(0, 15),
    channels=st.one_of(st.none(), st.lists(freq_hz, min_size=0, max_size=5)),
)
def test_join_accept_round_trip(
    key, join_nonce, net_id, dev_addr, rx1_offset, rx2_dr, rx_delay, channels
):
    app = new_aes(key, "cryptography")
    cflist = None if channels is None else join.cflist_frequencies(channels)
    dl = join.dl_settings(rx1_offset, rx2_dr)
    plain = join.join_accept_plaintext(app, join_nonce, net_id, dev_addr, dl, rx_delay, cflist)
    assert len(plain) == (17 if cflist is None else 33)
    assert plain[-4:] == ref_cmac(key, plain[:-4])[:4]
    air = host_encrypt_join_accept(key, plain)
    ja = join.open_join_accept(air, app)
    assert (ja.join_nonce, ja.net_id, ja.dev_addr) == (join_nonce, net_id, dev_addr)
    assert (ja.rx1_dr_offset, ja.rx2_dr, ja.rx_delay) == (rx1_offset, rx2_dr, rx_delay)
    assert ja.rx1_delay == (rx_delay or 1)
    if channels is None:
        assert ja.cflist is None and ja.channels == ()
    else:
        assert ja.cflist_type == join.CFLIST_FREQUENCIES
        assert ja.channels == tuple(channels) + (0,) * (5 - len(channels))
    tampered = bytearray(air)
    tampered[5] ^= 0x40
    with pytest.raises(phy.FrameError, match="MIC mismatch"):
        join.open_join_accept(bytes(tampered), app)


def test_join_accept_cflist_example_and_errors():
    cflist = join.cflist_frequencies([867100000, 867300000, 867500000, 867700000, 867900000])
    # 867.1 MHz = 8671000 * 100 Hz = 0x844f18, little-endian on air.
    assert cflist[:3] == bytes.fromhex("184f84") and cflist[15] == 0
    assert join.parse_cflist(cflist) == (0, (867100000, 867300000, 867500000, 867700000, 867900000))
    masks = bytes.fromhex("ff000100000000000000") + bytes(5) + b"\x01"
    assert join.parse_cflist(masks) == (join.CFLIST_CHMASK, (0x00FF, 0x0001, 0, 0, 0))
    with pytest.raises(phy.FrameError, match="CFListType"):
        join.parse_cflist(bytes(15) + b"\x07")
    with pytest.raises(phy.FrameError, match="100 Hz"):
        join.cflist_frequencies([868100050])
    app = new_aes(NWK, "python")
    with pytest.raises(phy.FrameError, match="17 or 33"):
        join.open_join_accept(b"\x20" + bytes(20), app)
    with pytest.raises(phy.FrameError, match="not a Join-accept"):
        join.open_join_accept(b"\x00" + bytes(16), app)


@given(
    st.binary(min_size=16, max_size=16),
    st.integers(0, 0xFFFFFF),
    st.integers(0, 0xFFFFFF),
    st.integers(0, 0xFFFF),
)
def test_session_keys_match_reference(key, join_nonce, net_id, dev_nonce):
    tail = join_nonce.to_bytes(3, "little") + net_id.to_bytes(3, "little")
    tail += dev_nonce.to_bytes(2, "little") + bytes(7)
    want = (ref_aes(key, b"\x01" + tail), ref_aes(key, b"\x02" + tail))
    assert join.derive_session_keys(new_aes(key), join_nonce, net_id, dev_nonce) == want
