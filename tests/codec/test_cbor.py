"""The codec's own CBOR layer against RFC 8949 Appendix A and against cbor2."""

import math

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lorafield_codec import CodecError
from lorafield_codec.cbor import MAX_DEPTH, dumps, loads

# RFC 8949 Appendix A examples whose encoding is the deterministic one.
RFC_EXAMPLES = [
    (0, "00"),
    (1, "01"),
    (10, "0a"),
    (23, "17"),
    (24, "1818"),
    (25, "1819"),
    (100, "1864"),
    (1000, "1903e8"),
    (1000000, "1a000f4240"),
    (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"),
    (-18446744073709551616, "3bffffffffffffffff"),
    (-1, "20"),
    (-10, "29"),
    (-100, "3863"),
    (-1000, "3903e7"),
    (0.0, "f90000"),
    (-0.0, "f98000"),
    (1.0, "f93c00"),
    (1.1, "fb3ff199999999999a"),
    (1.5, "f93e00"),
    (65504.0, "f97bff"),
    (100000.0, "fa47c35000"),
    (3.4028234663852886e38, "fa7f7fffff"),
    (1.0e300, "fb7e37e43c8800759c"),
    (5.960464477539063e-8, "f90001"),
    (0.00006103515625, "f90400"),
    (-4.0, "f9c400"),
    (-4.1, "fbc010666666666666"),
    (float("inf"), "f97c00"),
    (float("-inf"), "f9fc00"),
    (False, "f4"),
    (True, "f5"),
    (None, "f6"),
    (b"", "40"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"),
    ("a", "6161"),
    ("IETF", "6449455446"),
    ('"\\', "62225c"),
    ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"),
    ([], "80"),
    ([1, 2, 3], "83010203"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"),
    ({1: 2, 3: 4}, "a201020304"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
    (
        {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"},
        "a56161614161626142616361436164614461656145",
    ),
]


@pytest.mark.parametrize(("value", "hexa"), RFC_EXAMPLES, ids=[h for _, h in RFC_EXAMPLES])
def test_rfc8949_examples(value, hexa):
    assert dumps(value).hex() == hexa
    back = loads(bytes.fromhex(hexa))
    assert back == value and type(back) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_is_the_canonical_half_nan():
    assert dumps(float("nan")).hex() == "f97e00"
    assert math.isnan(loads(bytes.fromhex("f97e00")))


def test_integers_beyond_64_bits_are_refused():
    with pytest.raises(CodecError) as err:
        dumps(2**64)
    assert err.value.reason == "out of range"
    with pytest.raises(CodecError):
        dumps(-(2**64) - 1)


def test_map_keys_sort_length_first_like_cbor2():
    value = {"bb": 1, "a": 2, 100: 3, -1: 4, "c": 5, 0: 6}
    assert dumps(value) == cbor2.dumps(value, canonical=True)
    assert list(loads(dumps(value))) == [0, -1, 100, "a", "c", "bb"]  # 1864 < 6161


def _nested(depth):
    value = 0
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_limit_both_ways():
    assert loads(dumps(_nested(MAX_DEPTH))) == _nested(MAX_DEPTH)
    with pytest.raises(CodecError) as err:
        dumps(_nested(MAX_DEPTH + 1))
    assert err.value.reason == "nesting too deep"
    with pytest.raises(CodecError) as err:
        loads(b"\x81" * (MAX_DEPTH + 1) + b"\x00")
    assert err.value.reason == "nesting too deep"
    # Far deeper than Python's recursion limit: still CodecError, not RecursionError.
    with pytest.raises(CodecError):
        loads(b"\x81" * 100000 + b"\x00")


@pytest.mark.parametrize(
    ("hexa", "reason"),
    [
        ("1817", "not canonical"),  # 23 in two bytes
        ("190017", "not canonical"),
        ("1a0000ffff", "not canonical"),
        ("1b00000000ffffffff", "not canonical"),
        ("3800", "not canonical"),
        ("5800", "not canonical"),  # length in a non-shortest head
        ("f93c01f6", "trailing bytes"),
        ("fa3f800000", "not canonical"),  # 1.0 fits float16
        ("fb3ff0000000000000", "not canonical"),
        ("fb3fb99999a0000000", "not canonical"),  # 0.10000000149 fits float32
        ("f97c01", "not canonical"),  # a NaN other than 7e00
        ("a2616201616101", "not canonical"),  # keys "b", "a": unsorted
        ("a2616101616102", "not canonical"),  # duplicate key
        ("a1810000", "unsupported"),  # array as key
        ("5f4100ff", "unsupported"),  # indefinite byte string
        ("c074", "unsupported"),  # tag 0
        ("f820", "unsupported"),  # simple value 32
        ("1e", "malformed"),
        ("fc", "malformed"),
        ("62c328", "malformed"),  # invalid UTF-8
        ("5affffffff", "truncated"),  # huge length, no data
        ("bbffffffffffffffff", "truncated"),
        ("", "truncated"),
    ],
)
def test_strict_decoder_rejects(hexa, reason):
    with pytest.raises(CodecError) as err:
        loads(bytes.fromhex(hexa))
    assert err.value.reason == reason


def test_payload_must_be_bytes_like():
    assert loads(bytearray(b"\x01")) == 1
    assert loads(memoryview(b"\x01")) == 1
    with pytest.raises(CodecError) as err:
        loads("01")
    assert err.value.reason == "wrong type"


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.floats(width=16, allow_nan=False)
    | st.floats(width=32, allow_nan=False)
    | st.binary(max_size=40)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-1000, 1000) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=20,
)


def _depth(v):
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    return 0


@given(values)
def test_encoding_equals_cbor2_canonical_and_round_trips(value):
    if _depth(value) > MAX_DEPTH:
        return
    ours = dumps(value)
    assert ours == cbor2.dumps(value, canonical=True)
    assert cbor2.dumps(cbor2.loads(ours), canonical=True) == ours
    back = loads(ours)
    assert back == value
    assert dumps(back) == ours


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_codec_error_and_reencode_exactly(raw):
    try:
        value = loads(raw)
    except CodecError:
        return
    assert dumps(value) == raw  # the decoder only accepts deterministic encodings
