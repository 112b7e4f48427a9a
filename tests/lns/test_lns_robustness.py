"""Arbitrary bytes and mutated frames never crash the server: every one ends as an event."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lns_helpers import ScriptedDevice, meta, registry
from lorafield_gateway.lns import LnsError, NetworkServer


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
