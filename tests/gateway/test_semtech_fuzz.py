"""Any datagram, of any shape, is a packet or a SemtechError for every Semtech packet type's
parser; deeply nested or oversized JSON included."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lorafield_gateway.semtech import (
    SemtechError,
    pull_ack,
    pull_data,
    pull_resp,
    push_ack,
    push_data,
    tx_ack,
)

EUI_BYTES = bytes.fromhex("b827ebfffe123456")
DECODERS = (push_data, push_ack, pull_data, pull_ack, pull_resp, tx_ack)
# The header each packet type starts with; the ones carrying the gateway EUI get it too.
HEADERS = {
    push_data: b"\x02\x12\x34\x00" + EUI_BYTES,
    push_ack: b"\x02\x12\x34\x01",
    pull_data: b"\x02\x12\x34\x02" + EUI_BYTES,
    pull_resp: b"\x02\x12\x34\x03",
    pull_ack: b"\x02\x12\x34\x04",
    tx_ack: b"\x02\x12\x34\x05" + EUI_BYTES,
}


def decodes_or_refuses(decoder, data):
    try:
        decoder.decode(data)
    except SemtechError as exc:
        assert str(exc)


def nested(depth, leaf="0"):
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("decoder", [push_data, pull_resp, tx_ack])
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_semtech_error(decoder, depth):
    bodies = [
        "[" * depth + "]" * depth,
        '{"txpk":' + nested(depth) + "}",
        '{"rxpk":' + nested(depth) + "}",
        '{"txpk_ack":' + '{"a":' * depth + "0" + "}" * depth + "}",
    ]
    for body in bodies:
        with pytest.raises(SemtechError, match="JSON"):
            decoder.decode(HEADERS[decoder] + body.encode())


@pytest.mark.parametrize("decoder", [push_data, pull_resp, tx_ack])
def test_huge_numbers_are_semtech_errors(decoder):
    # 10**400 is a valid JSON integer that no float holds.
    txpk = {"imme": True, "freq": 10**400, "modu": "LORA", "datr": "SF7BW125", "data": "AA"}
    rxpk = {
        "tmst": 1,
        "freq": 868.1,
        "modu": "LORA",
        "datr": "SF7BW125",
        "codr": "4/5",
        "rssi": -50,
        "lsnr": 10**400,
        "stat": 1,
        "size": 1,
        "data": "AA==",
    }
    stat = {"time": "x", "rxnb": 1, "rxok": 1, "rxfw": 1, "dwnb": 0, "txnb": 0, "ackr": 10**400}
    for body in ({"txpk": txpk}, {"rxpk": [rxpk]}, {"stat": stat}, {"txpk_ack": txpk}):
        decodes_or_refuses(decoder, HEADERS[decoder] + json.dumps(body).encode())
    with pytest.raises(SemtechError):
        push_data.decode(HEADERS[push_data] + json.dumps({"rxpk": [rxpk]}).encode())
    with pytest.raises(SemtechError):
        push_data.decode(HEADERS[push_data] + json.dumps({"stat": stat}).encode())


@settings(max_examples=500, deadline=None)
@given(
    decoder=st.sampled_from(DECODERS),
    prefix=st.sampled_from(["own", "other", "none"]),
    body=st.integers(0, 2_000).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
)
def test_arbitrary_bytes_are_a_packet_or_a_semtech_error(decoder, prefix, body):
    head = {"own": HEADERS[decoder], "other": HEADERS[pull_resp], "none": b""}[prefix]
    decodes_or_refuses(decoder, head + body)


# JSON values of every kind, nested at most a few levels, with numbers of any size.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**1000)
    | st.floats()
    | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
KEYS = st.sampled_from(
    ["txpk", "rxpk", "stat", "txpk_ack", "imme", "tmst", "freq", "powe", "modu", "datr"]
    + ["codr", "ipol", "prea", "size", "data", "ncrc", "rfch", "rssi", "lsnr", "time"]
    + ["chan", "rxnb", "rxok", "rxfw", "ackr", "dwnb", "txnb", "lati", "long", "alti", "error"]
)


@settings(max_examples=500, deadline=None)
@given(
    decoder=st.sampled_from([push_data, pull_resp, tx_ack]),
    body=st.recursive(
        st.dictionaries(KEYS, JSON_VALUES, max_size=6),
        lambda inner: st.dictionaries(KEYS, inner | JSON_VALUES | st.lists(inner), max_size=4),
        max_leaves=12,
    ),
)
def test_arbitrary_json_bodies_are_a_packet_or_a_semtech_error(decoder, body):
    try:
        text = json.dumps(body)
    except ValueError:  # a float json cannot write
        return
    decodes_or_refuses(decoder, HEADERS[decoder] + text.encode())
