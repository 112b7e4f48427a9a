"""Uplink path: known-answer frames, FCnt reconstruction, replay/reset, de-duplication,
decoding with the shared codec."""

import lorafield_codec
from lns_helpers import ScriptedDevice, meta, registry
from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_node.phy import FCTRL_ACK, SessionCrypto, parse_data

KAT_DEV = "0000000000000abc"


def _abp(dev_addr, nwk, app, **kw):
    reg = DeviceRegistry()
    reg.add_abp(KAT_DEV, dev_addr, nwk, app, kind="parking", name="kat")
    return NetworkServer(reg, dedup_window_us=0, **kw)


def _abp_device(ns_kind="temperature"):
    dev = ScriptedDevice()
    nwk, app = bytes(range(16)), bytes(range(16, 32))
    dev.crypto = SessionCrypto(nwk, app, "cryptography")
    dev.dev_addr = 0x26011234
    reg = DeviceRegistry()
    reg.add_abp(dev.dev_eui, dev.dev_addr, nwk, app, kind=ns_kind)
    return dev, reg


def test_lora_packet_data_uplink_vector_decrypts_to_test():
    # lorawan-facts.md "Data uplink (source: lora-packet test suite)".
    ns = _abp(
        0x49BE7DF1,
        "44024241ed4ce9a68c6a8bc055233fd3",
        "ec925802ae430ca77fd3dd73cb2cc588",
    )
    phy = bytes.fromhex("40F17DBE4900020001954378762B11FF0D")
    assert ns.handle_uplink(phy, meta()) == []  # unconfirmed, nothing queued: no downlink
    reading = ns.readings[-1]
    assert (reading["fcnt"], reading["fport"], reading["raw"]) == (2, 1, b"test")
    assert reading["kind"] is None and reading["data"] is None  # FPort 1: not a codec port
    assert ns.session(KAT_DEV).fcnt_up_next == 3


def test_chirpstack_confirmed_uplink_vector_acked_and_devstatus_stored():
    # lorawan-facts.md "Confirmed uplink with FOpts (source: ChirpStack lrwn crate)".
    nwk = "0102030405060708090a0b0c0d0e0f10"
    ns = _abp(0x01020304, nwk, "100f0e0d0c0b0a090807060504030201")
    phy = bytes.fromhex("80040302010300000673070ae264d4f7e117d2c0")
    out = ns.handle_uplink(phy, meta())
    assert ns.session(KAT_DEV).dev_status == (115, 7)
    reading = ns.readings[-1]
    # FPort 10 is the parking codec port; 01020304 is not a parking payload: kept raw.
    assert reading["kind"] == "parking" and reading["data"] is None
    assert reading["raw"] == bytes.fromhex("01020304") and reading["error"]
    (dl,) = out
    frame = parse_data(dl.phy)
    assert frame.fctrl & FCTRL_ACK and frame.fcnt == 0 and frame.dev_addr == 0x01020304


def test_codec_port_uplink_is_decoded():
    dev, reg = _abp_device()
    ns = NetworkServer(reg, dedup_window_us=0)
    payload = lorafield_codec.encode("temperature", {"temperature_c": -3.25})
    ns.handle_uplink(dev.uplink(fport=12, payload=payload), meta())
    assert ns.readings[-1]["kind"] == "temperature"
    assert ns.readings[-1]["data"] == {"temperature_c": -3.25}
    assert ns.readings[-1]["device_kind"] == "temperature"


def test_fcnt_follows_across_the_16_bit_rollover():
    dev, reg = _abp_device()
    ns = NetworkServer(reg, dedup_window_us=0)
    seen = []
    for i, fcnt in enumerate((65533, 65534, 65535, 65536, 65537, 131073)):
        phy = dev.uplink(fport=2, payload=b"x", fcnt=fcnt)
        assert phy[6:8] == (fcnt & 0xFFFF).to_bytes(2, "little")  # 16 bits on air
        ns.handle_uplink(phy, meta(t=i * 1_000_000))
        seen.append(ns.readings[-1]["fcnt"])
    assert seen == [65533, 65534, 65535, 65536, 65537, 131073]
    assert not [e for e in ns.events if e.kind == "uplink_rejected"]


def test_bad_mic_rejected_with_reason_and_counter_unchanged():
    dev, reg = _abp_device()
    ns = NetworkServer(reg, dedup_window_us=0)
    good = dev.uplink(fport=2, payload=b"abc")
    forged = bytearray(good)
    forged[9] ^= 0x01  # one payload bit: MIC no longer matches
    ns.handle_uplink(bytes(forged), meta())
    (event,) = ns.events
    assert (event.kind, event.reason) == ("uplink_rejected", "MIC mismatch")
    assert ns.session(dev.dev_eui).fcnt_up_next == 0
    ns.handle_uplink(good, meta(t=1_000_000))
    assert ns.readings[-1]["raw"] == b"abc"


def test_replay_reset_and_retransmission_are_told_apart():
    dev, reg = _abp_device()
    ns = NetworkServer(reg, dedup_window_us=0)
    frames = [dev.uplink(fport=2, payload=bytes([i])) for i in range(40)]
    for i, phy in enumerate(frames[:30]):
        ns.handle_uplink(phy, meta(t=i * 1_000_000))
    ns.handle_uplink(frames[29], meta(t=31_000_000))  # the last one again: a retransmission
    ns.handle_uplink(frames[20], meta(t=32_000_000))  # an old one: replay
    dev.fcnt_up = 0
    restarted = dev.uplink(fport=2, payload=b"new")  # a device that lost its counter
    ns.handle_uplink(restarted, meta(t=33_000_000))
    kinds = [(e.kind, e.reason) for e in ns.events if e.kind != "uplink"]
    assert kinds == [
        ("uplink_retransmission", None),
        ("uplink_rejected", "FCnt replay"),
        ("uplink_rejected", "FCnt reset"),
    ]
    assert len(ns.readings) == 30  # nothing delivered twice
    ns.handle_uplink(frames[30], meta(t=34_000_000))
    assert ns.readings[-1]["fcnt"] == 30


def test_dedup_keeps_the_best_copy_and_delivers_once():
    dev, reg = _abp_device()
    ns = NetworkServer(reg, dedup_window_us=200_000)
    dev.fcnt_up = 7
    phy = dev.uplink(fport=2, payload=b"z", confirmed=True)
    copies = [
        meta("gw-a", rssi=-110, snr=-2.0, t=0),
        meta("gw-b", rssi=-70, snr=9.5, t=40_000),
        meta("gw-c", rssi=-60, snr=9.5, t=150_000),  # same SNR, stronger: the best
        meta("gw-d", rssi=-50, snr=-5.0, t=199_999),
    ]
    for m in copies:
        assert ns.handle_uplink(phy, m) == []  # the window is still open
    assert ns.next_deadline() == copies[0].time_us + 200_000
    (dl,) = ns.flush(copies[0].time_us + 200_000)
    assert dl.gateway_id == "gw-c"
    assert len(ns.readings) == 1 and ns.frames[0]["gateway_id"] == "gw-c"
    assert len(ns.frames[0]["copies"]) == 4
    (up,) = [e for e in ns.events if e.kind == "uplink"]
    assert up.detail["gateways"] == 4
    # A straggler after the window closed is dropped, not taken for a retransmission.
    assert ns.handle_uplink(phy, meta("gw-e", t=260_000)) == []
    assert ns.events[-1].kind == "uplink_late_copy" and len(ns.readings) == 1


def test_unknown_dev_addr_and_malformed_frames_rejected():
    dev, reg = _abp_device()
    ns = NetworkServer(reg, dedup_window_us=0)
    dev.dev_addr ^= 1
    ns.handle_uplink(dev.uplink(fport=2, payload=b"a"), meta())
    ns.handle_uplink(b"\x40\x01\x02", meta(t=1))
    ns.handle_uplink(b"", meta(t=2))
    ns.handle_uplink(b"\xe0" + bytes(11), meta(t=3))  # proprietary
    reasons = [e.reason for e in ns.events]
    assert reasons[0] == "unknown DevAddr"
    assert reasons[1].startswith("malformed frame")
    assert reasons[2].startswith("malformed frame")
    assert reasons[3] == "not an uplink MType"


def test_otaa_session_from_join_then_codec_uplink():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    dev.take_accept(ns.handle_uplink(dev.join_request(), meta())[0].phy)
    payload = lorafield_codec.encode("temperature", {"temperature_c": 21.5})
    ns.handle_uplink(dev.uplink(fport=12, payload=payload), meta(t=10_000_000))
    assert ns.readings[-1]["data"] == {"temperature_c": 21.5}
