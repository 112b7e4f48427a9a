"""Arbitrary bytes and mutated frames never crash the server: every one ends as an event."""

import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lns_helpers import ScriptedDevice, meta, registry
from lorafield_gateway.lns import LnsError, NetworkServer
from lorafield_gateway.lns.sqlite_store import SqliteStore, StoredNetworkServer


def _joined():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    dev.take_accept(ns.handle_uplink(dev.join_request(), meta())[0].phy)
    return dev, ns


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_are_rejected_with_a_reason(phy):
    dev, ns = _joined()
    before = len(ns.events)
    assert ns.handle_uplink(phy, meta(t=5_000_000)) == []
    new = ns.events[before:]
    assert len(new) == 1 and new[0].kind in ("uplink_rejected", "join_rejected")
    assert new[0].reason


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_frames_never_accepted_unless_unchanged(data):
    dev, ns = _joined()
    good = bytearray(dev.uplink(fport=12, payload=b"\x19\x08\x66", confirmed=True))
    i = data.draw(st.integers(0, len(good) - 1))
    bit = data.draw(st.integers(0, 7))
    good[i] ^= 1 << bit
    before = len(ns.events)
    ns.handle_uplink(bytes(good), meta(t=5_000_000))
    (event,) = ns.events[before:]
    assert event.kind in ("uplink_rejected", "join_rejected")
    assert ns.readings == []


def test_wrong_argument_types_raise_typed_errors():
    dev, ns = _joined()
    with pytest.raises(LnsError):
        ns.handle_uplink("not bytes", meta())
    with pytest.raises(LnsError):
        ns.handle_uplink(b"\x40" * 20, {"rssi": -80})


# What a frame may end as: accepted (with its events) or refused with a reason.
ACCEPTED = {"uplink", "uplink_retransmission", "join"}
REJECTED = {"uplink_rejected", "join_rejected", "uplink_late_copy"}


def _check_one_outcome(ns, phy, t):
    """handle_uplink never raises; the frame ends as an accept or a rejection with a reason."""
    before = len(ns.events)
    ns.handle_uplink(phy, meta(t=t))
    new = list(ns.events)[before:]
    kinds = {e.kind for e in new}
    rejected = [e for e in new if e.kind in REJECTED]
    assert (kinds & ACCEPTED) or rejected, [e.kind for e in new]
    assert all(e.reason for e in rejected)


def test_frame_longer_than_lora_carries_with_a_known_devaddr_is_rejected():
    dev, ns = _joined()
    good = dev.uplink(fport=12, payload=b"\x19\x08\x66")
    for length in (256, 259, 260, 300, 1000):
        phy = good[:8] + bytes(length - 12) + good[-4:]
        assert ns.handle_uplink(phy, meta(t=5_000_000 + length)) == []
        event = ns.events[-1]
        assert event.kind == "uplink_rejected"
        assert event.reason.startswith("malformed frame: ")
        assert str(length) in event.reason


def _known_addr_frames():
    """Frames that reach the session lookup: a data MHDR and the joined device's DevAddr
    (0x00000001), then anything, of any length up to well past what LoRa carries."""
    mhdr = st.sampled_from([0x40, 0x80, 0x41, 0x60, 0xA0, 0xE0, 0x00, 0x20])
    tail = st.integers(0, 600).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    return st.builds(lambda m, rest: bytes([m]) + b"\x01\x00\x00\x00" + rest, mhdr, tail)


@settings(max_examples=400, deadline=None)
@given(_known_addr_frames())
def test_any_bytes_with_a_known_devaddr_end_as_one_outcome(phy):
    dev, ns = _joined()
    _check_one_outcome(ns, phy, 5_000_000)


def _sized(low, high):
    """Binary strings whose length is uniform in low..high (plain st.binary stays short)."""
    return st.integers(low, high).flatmap(lambda n: st.binary(min_size=n, max_size=n))


def _edit(data, good):
    """A valid frame cut, extended, or with bytes replaced, inserted or deleted."""
    frame = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "extend"]))
        i = data.draw(st.integers(0, max(0, len(frame) - 1)))
        if op == "flip" and frame:
            frame[i] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            frame[i:i] = data.draw(_sized(1, 300))
        elif op == "delete" and frame:
            del frame[i : i + data.draw(st.integers(1, 8))]
        elif op == "truncate":
            del frame[i:]
        elif op == "extend":
            frame += data.draw(_sized(1, 400))
    return bytes(frame)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_frames_of_any_length_end_as_one_outcome(data):
    dev, ns = _joined()
    good = dev.uplink(fport=12, payload=b"\x19\x08\x66", confirmed=data.draw(st.booleans()))
    _check_one_outcome(ns, _edit(data, good), 5_000_000)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_frames_on_the_sqlite_server_end_as_one_outcome(data):
    with tempfile.TemporaryDirectory() as directory:
        dev = ScriptedDevice()
        store = SqliteStore(os.path.join(directory, "lns.sqlite3"))
        ns = StoredNetworkServer(registry(dev), store, dedup_window_us=0)
        try:
            dev.take_accept(ns.handle_uplink(dev.join_request(), meta())[0].phy)
            good = dev.uplink(fport=12, payload=b"\x19\x08\x66")
            for t in range(1, 4):
                _check_one_outcome(ns, _edit(data, good), t * 5_000_000)
        finally:
            store.close()
