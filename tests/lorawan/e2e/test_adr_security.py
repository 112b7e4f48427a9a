"""ADR backoff on the air with the network out of reach, then back; replayed and forged
downlinks injected by a rogue transmitter at the exact RX1 instant are dropped and counted."""

from field import DEV_EUI, Field, Injector, S, join, send
from lorafield_node.phy import FCTRL_ADR_ACK_REQ, parse_data


def test_adr_backoff_sequence_and_recovery():
    sniffed = []

    def app(mac, field):
        join(mac, field.view)
        mac.session.tx_power = 2  # as if the network had lowered it
        field.gateway.stop()
        for _ in range(64 + 32 * 3):
            send(mac, field.view, 1, b"a")
            sniffed.append((mac._tx[5], mac.session.dr, mac.session.tx_power))
        field.gateway.start()
        r = send(mac, field.view, 1, b"b")  # ADRACKReq set: the server answers
        field.note("answered", r.downlink is not None)
        send(mac, field.view, 1, b"c")
        field.note("after", bool(mac._tx[5] & FCTRL_ADR_ACK_REQ))

    f = Field()
    f.run(app, seconds=4000)
    req = [bool(fctrl & FCTRL_ADR_ACK_REQ) for fctrl, _, _ in sniffed]
    assert req == [False] * 64 + [True] * 96
    assert [p for _, _, p in sniffed[94:98]] == [2, 2, 0, 0]  # default power at 64 + 32
    drs = [dr for _, dr, _ in sniffed]
    assert drs[127:129] == [5, 4] and drs[159] == 4  # one DR lower per 32 from 64 + 64
    assert f.notes("answered") == [True]
    assert f.notes("after") == [False]
    last = parse_data(f.gateway.uplinks[-2][0])
    assert last.fctrl & FCTRL_ADR_ACK_REQ


def capture_and_inject(tamper):
    """Join, get one real downlink, then make the injector play `tamper(phy)` into the RX1 of
    the next uplink (the network itself stays silent then)."""
    f = Field()
    injector = Injector(f)

    def app(mac, field):
        join(mac, field.view)
        field.server.enqueue(DEV_EUI, 8, b"real")
        r = send(mac, field.view, 1, b"x")
        field.note("first", r.downlink.payload)
        _, item, frame = field.gateway.transmitted[-1]
        phy = tamper(frame.payload)

        def hook(raw, meta, original=field.gateway.on_uplink):
            original(raw, meta)
            injector.send_at(field.scheduler.now_us + S, phy, meta.frequency_hz, meta.sf)

        field.gateway.on_uplink = hook
        r = send(mac, field.view, 1, b"y")
        field.note("second", r.downlink)
        field.note("stats", vars(mac.stats).copy())

    f.run(app, seconds=60)
    return f


def test_replayed_downlink_is_dropped_and_counted():
    f = capture_and_inject(lambda phy: phy)
    assert f.notes("first") == [b"real"]
    assert f.notes("second") == [None]
    stats = f.notes("stats")[0]
    assert stats["dropped_replay"] == 1 and stats["downlinks"] == 1


def test_forged_mic_is_dropped_and_counted():
    def forge(phy):
        out = bytearray(phy)
        out[6] += 1  # next FCntDown, as a fresh frame would have...
        out[-4:] = b"\x00\x11\x22\x33"  # ...without the NwkSKey: a made-up MIC
        return bytes(out)

    f = capture_and_inject(forge)
    assert f.notes("second") == [None]
    stats = f.notes("stats")[0]
    assert stats["dropped_mic"] == 1 and stats["dropped_replay"] == 0
