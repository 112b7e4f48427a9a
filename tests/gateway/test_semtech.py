"""Semtech UDP protocol v2: every packet type byte for byte, both directions, and rejects."""

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lorafield_gateway.semtech import (
    SemtechError,
    identify,
    pull_ack,
    pull_data,
    pull_resp,
    push_ack,
    push_data,
    tx_ack,
)

EUI = "b827ebfffe123456"
EUI_BYTES = bytes.fromhex(EUI)


def test_push_data_rxpk_bytes_and_round_trip():
    rx = push_data.RxPacket(
        tmst=3512348611,
        frequency_hz=866_349_812,
        sf=7,
        bw_hz=125_000,
        coding_rate=6,
        rssi=-35,
        lsnr=5.1,
        data=bytes(range(32)),
        time="2013-03-31T16:21:17.528002Z",
        chan=2,
    )
    packet = push_data.PushData(0xABCD, EUI, (rx,))
    data = push_data.encode(packet)
    assert data[:4] == b"\x02\xab\xcd\x00"
    assert data[4:12] == EUI_BYTES
    body = json.loads(data[12:])
    assert body == {
        "rxpk": [
            {
                "time": "2013-03-31T16:21:17.528002Z",
                "tmst": 3512348611,
                "chan": 2,
                "rfch": 0,
                "freq": 866.349812,
                "stat": 1,
                "modu": "LORA",
                "datr": "SF7BW125",
                "codr": "4/6",
                "rssi": -35,
                "lsnr": 5.1,
                "size": 32,
                "data": base64.b64encode(bytes(range(32))).decode(),
            }
        ]
    }
    assert b" " not in data[12:]  # compact JSON
    assert push_data.decode(data) == packet
    assert push_data.encode(push_data.decode(data)) == data


def test_push_data_stat_round_trip():
    stat = push_data.Stat("2014-01-12 08:59:28 GMT", 2, 2, 2, 100.0, 2, 2, 46.24, 3.2523, 145)
    data = push_data.encode(push_data.PushData(1, EUI, (), stat))
    assert json.loads(data[12:]) == {
        "stat": {
            "time": "2014-01-12 08:59:28 GMT",
            "lati": 46.24,
            "long": 3.2523,
            "alti": 145,
            "rxnb": 2,
            "rxok": 2,
            "rxfw": 2,
            "ackr": 100.0,
            "dwnb": 2,
            "txnb": 2,
        }
    }
    assert push_data.decode(data).stat == stat


def test_acks_and_pull_data_bytes():
    assert push_ack.encode(push_ack.PushAck(0x1234)) == b"\x02\x12\x34\x01"
    assert push_ack.decode(b"\x02\x12\x34\x01").token == 0x1234
    assert pull_ack.encode(pull_ack.PullAck(7)) == b"\x02\x00\x07\x04"
    assert pull_ack.decode(b"\x02\x00\x07\x04").token == 7
    raw = b"\x02\xff\xfe\x02" + EUI_BYTES
    assert pull_data.encode(pull_data.PullData(0xFFFE, EUI)) == raw
    assert pull_data.decode(raw) == pull_data.PullData(0xFFFE, EUI)
    assert identify(raw) == (0xFFFE, 0x02)


def test_pull_resp_protocol_example_unpadded_base64():
    # The txpk example of PROTOCOL.TXT section 6 (its base64 has no padding).
    body = (
        b'{"txpk":{"imme":true,"freq":864.123456,"rfch":0,"powe":14,"modu":"LORA",'
        b'"datr":"SF11BW125","codr":"4/6","ipol":false,"size":32,'
        b'"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v"}}'
    )
    packet = pull_resp.decode(b"\x02\x00\x01\x03" + body)
    tx = packet.txpk
    assert packet.token == 1 and tx.immediate and tx.tmst is None
    assert (tx.frequency_hz, tx.sf, tx.bw_hz, tx.coding_rate) == (864_123_456, 11, 125_000, 6)
    assert tx.power_dbm == 14 and tx.ipol is False and len(tx.data) == 32


def test_pull_resp_round_trip_timed():
    tx = pull_resp.TxPacket(
        data=b"\x60\x01\x02\x03\x04\x00\x01\x00\xaa\xbb\xcc\xdd",
        frequency_hz=868_100_000,
        sf=9,
        bw_hz=125_000,
        power_dbm=14,
        tmst=4_000_000_123,
    )
    data = pull_resp.encode(pull_resp.PullResp(0x0102, tx))
    assert data[:4] == b"\x02\x01\x02\x03"
    obj = json.loads(data[4:])["txpk"]
    assert obj["tmst"] == 4_000_000_123 and "imme" not in obj
    assert obj["ipol"] is True and obj["ncrc"] is True and obj["datr"] == "SF9BW125"
    assert pull_resp.decode(data).txpk == tx


def test_tx_ack_bytes_and_errors():
    data = tx_ack.encode(tx_ack.TxAck(0x0102, EUI, "TOO_LATE"))
    assert data == b"\x02\x01\x02\x05" + EUI_BYTES + b'{"txpk_ack":{"error":"TOO_LATE"}}'
    assert tx_ack.decode(data).error == "TOO_LATE"
    assert tx_ack.decode(b"\x02\x01\x02\x05" + EUI_BYTES).error == "NONE"
    with pytest.raises(SemtechError, match="not a protocol value"):
        tx_ack.encode(tx_ack.TxAck(1, EUI, "OOPS"))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter than the 4-byte header"),
        (b"\x01\x00\x00\x00", "protocol version 1"),
        (b"\x02\x00\x00\x09", "unknown packet identifier"),
        (b"\x02\x00\x00\x01\x00", "PUSH_ACK of 5 bytes"),
        (b"\x02\x00\x00\x03not json", "invalid JSON"),
        (b"\x02\x00\x00\x03[1]", "not an object"),
        (b'\x02\x00\x00\x03{"x":1}', "has no txpk"),
        (b'\x02\x00\x00\x03{"txpk":{"modu":"FSK"}}', "FSK unsupported"),
        (b'\x02\x00\x00\x03{"txpk":{"modu":"LORA","datr":"SF7BW125"}}', "needs tmst"),
        (
            b'\x02\x00\x00\x03{"txpk":{"modu":"LORA","tmst":-1,"datr":"SF7BW125"}}',
            "txpk.tmst -1",
        ),
        (
            b'\x02\x00\x00\x03{"txpk":{"modu":"LORA","imme":true,"datr":"SF13BW125"}}',
            "not a LoRa data rate",
        ),
        (
            b'\x02\x00\x00\x03{"txpk":{"modu":"LORA","imme":true,"datr":"SF7BW125",'
            b'"freq":868.1,"data":"!!"}}',
            "not valid base64",
        ),
        (
            b'\x02\x00\x00\x03{"txpk":{"modu":"LORA","imme":true,"datr":"SF7BW125",'
            b'"freq":"868.1","data":"AA=="}}',
            "txpk.freq must be a number",
        ),
    ],
)
def test_malformed_packets_are_typed_errors(data, reason):
    with pytest.raises(SemtechError, match=reason):
        identifier = data[3] if len(data) >= 4 else 0
        decoder = {1: push_ack, 3: pull_resp}.get(identifier, push_ack)
        decoder.decode(data)


def test_push_data_rejects_wrong_type_and_size_mismatch():
    with pytest.raises(SemtechError, match="expected PUSH_DATA, got PULL_DATA"):
        push_data.decode(b"\x02\x00\x00\x02" + EUI_BYTES)
    rx = push_data.RxPacket(1, 868_100_000, 7, 125_000, 5, -50, 9.0, b"abc").to_json()
    rx["size"] = 4
    data = b"\x02\x00\x00\x00" + EUI_BYTES + json.dumps({"rxpk": [rx]}).encode()
    with pytest.raises(SemtechError, match=r"rxpk\[0\].size 4 does not match 3"):
        push_data.decode(data)


# -- property-based fuzzing: any datagram either decodes or raises SemtechError ------------
DECODERS = (push_data, push_ack, pull_data, pull_ack, pull_resp, tx_ack)
HEADERS = st.sampled_from([b"\x02\x00\x01" + bytes((i,)) for i in range(6)] + [b""])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(head=HEADERS, body=st.binary(max_size=80))
def test_random_datagrams_never_crash_a_decoder(head, body):
    for decoder in DECODERS:
        try:
            decoder.decode(head + body)
        except SemtechError:
            pass


TXPK_KEYS = [
    "imme",
    "tmst",
    "freq",
    "rfch",
    "powe",
    "modu",
    "datr",
    "codr",
    "ipol",
    "prea",
    "size",
    "data",
    "ncrc",
]


@settings(max_examples=200, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(TXPK_KEYS), JSONISH), valid=st.booleans())
def test_random_txpk_json_is_accepted_or_a_typed_error(fields, valid):
    base = {"imme": True, "freq": 868.1, "modu": "LORA", "datr": "SF7BW125", "data": "AAAA"}
    txpk = {**base, **fields} if valid else fields
    try:
        data = b"\x02\x00\x01\x03" + json.dumps({"txpk": txpk}).encode()
    except ValueError:
        return
    try:
        packet = pull_resp.decode(data)
    except SemtechError:
        return
    assert 1 <= len(packet.txpk.data) <= 255 and 6 <= packet.txpk.sf <= 12
