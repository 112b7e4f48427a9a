"""Join server: the join flow end to end with the firmware's frame builders, and rejections."""

import pytest
from lns_helpers import APP_KEY, DEV_EUI, JOIN_EUI, ScriptedDevice, meta, registry
from lorafield_gateway.lns import NetworkServer, RegistryError
from lorafield_gateway.lns.joinserver import encrypt_join_accept
from lorafield_node.aes import new_aes
from lorafield_node.join import join_accept_plaintext


def test_join_accept_encryption_matches_chirpstack_vector():
    # lorawan-facts.md "Join-accept, LoRaWAN 1.0 (source: ChirpStack lrwn crate)".
    key = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
    plain = join_accept_plaintext(new_aes(key, "cryptography"), 65793, 0x020202, 0x01020304)
    assert plain.hex() == "200101010202020403020100003449f212"
    assert encrypt_join_accept(key, plain).hex() == "2023cf335489aae3183c0be0baa8dee5f3"


def test_join_flow_gives_matching_session_keys_and_rx1_rx2_items():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0, net_id=0x000013)
    out = ns.handle_uplink(dev.join_request(), meta(tmst=4_000_000_000, freq=868_300_000, sf=9))
    assert len(out) == 1
    dl = out[0]
    acc = dev.take_accept(dl.phy)
    session = ns.session(DEV_EUI)
    assert session.dev_addr == acc.dev_addr
    assert acc.dev_addr >> 25 == 0x13  # NwkID of NetID 0x000013 (type 0)
    assert session.keys() == dev.keys
    # Both sides derived the same keys: a frame built by the device verifies at the server.
    ns.handle_uplink(dev.uplink(fport=1, payload=b"hi"), meta(t=10_000_000))
    assert [e.kind for e in ns.events] == ["join", "uplink"]
    rx1, rx2 = dl.items
    assert (rx1.window, rx1.delay_us, rx1.frequency_hz, rx1.sf) == (
        "RX1",
        5_000_000,
        868_300_000,
        9,
    )
    assert rx1.tmst_us == (4_000_000_000 + 5_000_000) & 0xFFFFFFFF  # wraps like a concentrator
    assert (rx2.window, rx2.delay_us, rx2.frequency_hz, rx2.sf) == (
        "RX2",
        6_000_000,
        869_525_000,
        12,
    )
    assert rx1.iq_inverted and rx2.iq_inverted


def test_join_nonce_counts_up_and_new_dev_addr_on_rejoin():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    a1 = dev.take_accept(ns.handle_uplink(dev.join_request(), meta())[0].phy)
    a2 = dev.take_accept(ns.handle_uplink(dev.join_request(), meta(t=20_000_000))[0].phy)
    assert (a1.join_nonce, a2.join_nonce) == (0, 1)
    assert a1.dev_addr != a2.dev_addr
    assert ns.session(DEV_EUI).dev_addr == a2.dev_addr


def test_dev_nonce_must_grow_replay_and_lower_rejected():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    first = dev.join_request(dev_nonce=5)
    assert ns.handle_uplink(first, meta())
    assert ns.handle_uplink(first, meta(t=30_000_000)) == []  # exact replay
    assert ns.handle_uplink(dev.join_request(dev_nonce=3), meta(t=40_000_000)) == []  # lower
    rejected = [e for e in ns.events if e.kind == "join_rejected"]
    assert [e.reason for e in rejected] == ["DevNonce not greater than last"] * 2
    assert rejected[0].detail == {"dev_nonce": 5, "last_dev_nonce": 5}
    assert ns.handle_uplink(dev.join_request(dev_nonce=6), meta(t=50_000_000))


def test_join_rejections_have_reasons():
    dev = ScriptedDevice()
    stranger = ScriptedDevice(dev_eui=bytes(8))
    wrong_key = ScriptedDevice(app_key=bytes(16))
    wrong_join_eui = ScriptedDevice(join_eui=bytes(8))
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    for i, d in enumerate((stranger, wrong_key, wrong_join_eui)):
        assert ns.handle_uplink(d.join_request(), meta(t=i * 1_000_000)) == []
    reasons = [e.reason for e in ns.events]
    assert reasons == ["unknown DevEUI", "MIC mismatch", "JoinEUI mismatch"]
    # A rejected request does not consume the DevNonce: the real device may still join.
    assert ns.handle_uplink(dev.join_request(), meta(t=9_000_000))
    assert ns.store.join_state[DEV_EUI.hex()]["dev_nonce"] == 0


def test_no_secret_in_events_reprs_or_errors():
    dev = ScriptedDevice()
    ns = NetworkServer(registry(dev), dedup_window_us=0)
    dev.take_accept(ns.handle_uplink(dev.join_request(), meta())[0].phy)
    ns.handle_uplink(ScriptedDevice(app_key=bytes(16)).join_request(), meta(t=1))
    ns.handle_uplink(dev.uplink(fport=1, payload=b"x") + b"", meta(t=2))
    bad = bytearray(dev.uplink(fport=1, payload=b"y"))
    bad[-1] ^= 1
    ns.handle_uplink(bytes(bad), meta(t=3))
    nwk, app = ns.session(DEV_EUI).keys()
    texts = [str(e) for e in ns.events] + [repr(e) for e in ns.events]
    texts += [repr(ns.session(DEV_EUI)), repr(ns.registry.get(DEV_EUI))]
    texts += [repr(f) for f in ns.frames] + [repr(r) for r in ns.readings]
    try:
        ns.registry.add_otaa(DEV_EUI, JOIN_EUI, APP_KEY)
    except ValueError as e:
        texts.append(str(e))
    try:
        ns.registry.add_otaa("7000000000000001", JOIN_EUI, APP_KEY.hex()[:-2] + "zz")
    except ValueError as e:
        texts.append(str(e))
    blob = "\n".join(texts).lower()
    for secret in (APP_KEY, nwk, app):
        assert secret.hex() not in blob
        assert repr(secret)[2:-1].lower() not in blob
    assert "mic mismatch" in blob  # the bad frame was reported, without keys


def test_dev_addr_allocation_skips_abp_addresses_and_live_sessions():
    a, b = ScriptedDevice(), ScriptedDevice(dev_eui=bytes.fromhex("70b3d57ed0000002"))
    reg = registry(a, b)
    reg.add_abp("70b3d57ed0000003", 0x00000001, bytes(16), bytes(range(16)))
    ns = NetworkServer(reg, dedup_window_us=0)
    acc_a = a.take_accept(ns.handle_uplink(a.join_request(), meta())[0].phy)
    acc_b = b.take_accept(ns.handle_uplink(b.join_request(), meta(t=1))[0].phy)
    assert (acc_a.dev_addr, acc_b.dev_addr) == (2, 3)  # 1 belongs to the ABP device


def test_registry_refuses_bad_entries_with_typed_errors():
    reg = registry()
    reg.add_abp("0000000000000009", 0x01020304, bytes(16), bytes(16))
    bad = [
        lambda: reg.add_otaa(DEV_EUI, JOIN_EUI, APP_KEY),  # duplicate DevEUI
        lambda: reg.add_otaa("00", JOIN_EUI, APP_KEY),
        lambda: reg.add_otaa("000000000000000g", JOIN_EUI, APP_KEY),
        lambda: reg.add_otaa("0000000000000001", JOIN_EUI, APP_KEY[:15]),
        lambda: reg.add_abp("000000000000000a", 0x01020304, bytes(16), bytes(16)),
        lambda: reg.add_abp("000000000000000b", -1, bytes(16), bytes(16)),
    ]
    for make in bad:
        with pytest.raises(RegistryError):
            make()
    assert len(reg) == 2
    assert reg.get("70:b3:d5:7e:d0:00:00:01").name == "t1"
    assert reg.get("nonsense") is None
