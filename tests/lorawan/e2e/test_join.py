"""OTAA join and rejoin, and DevNonce across resets, over the emulated air against the local
network server (which rejects a DevNonce it has seen)."""

from field import Field, S, join, send


def join_and_send(mac, field):
    field.note("join", join(mac, field.view))
    r = send(mac, field.view, 1, b"\x01\x02")
    field.note("sent", r.fcnt)


def test_otaa_join_then_uplink_reaches_the_server():
    f = Field()
    f.run(join_and_send, seconds=30)
    assert f.notes("join") == [1]
    assert f.notes("sent") == [0]
    joins = f.events("join")
    assert [e.detail["dev_nonce"] for e in joins] == [0]
    ups = f.events("uplink")
    assert [e.detail["fcnt"] for e in ups] == [0]
    assert f.server.session(bytes.fromhex("70b3d57ed0001001")).dev_addr == f.mac.dev_addr


def test_rejoin_starts_a_new_session_with_a_new_nonce():
    def app(mac, field):
        join(mac, field.view)
        send(mac, field.view, 1, b"a")
        send(mac, field.view, 1, b"b")
        first = (mac.dev_addr, bytes(mac.session.nwk_skey))
        field.note("rejoin", join(mac, field.view))
        field.note("new keys", (mac.dev_addr, bytes(mac.session.nwk_skey)) != first)
        field.note("sent", send(mac, field.view, 1, b"c").fcnt)

    f = Field()
    f.run(app, seconds=60)
    assert f.notes("rejoin") == [1] and f.notes("new keys") == [True]
    assert f.notes("sent") == [0]  # the new session's counters start again
    assert [e.detail["dev_nonce"] for e in f.events("join")] == [0, 1]
    assert [e.detail["fcnt"] for e in f.events("uplink")] == [0, 1, 0]
    assert f.events("uplink_rejected") == []


def test_session_survives_reset_without_rejoining():
    f = Field()
    f.run(join_and_send, seconds=30)

    def after_reset(mac, field):
        field.note("joined at boot", mac.joined)
        field.note("sent", send(mac, field.view, 1, b"again").fcnt)

    f.run(after_reset, seconds=30)
    assert f.notes("joined at boot") == [True]
    assert f.notes("sent")[-1] == 16  # resumes at the FCntUp reservation (N = 16)
    assert [e.detail["fcnt"] for e in f.events("uplink")] == [0, 16]
    assert len(f.events("join")) == 1


def test_devnonce_strictly_increases_across_resets_including_mid_join():
    f = Field()
    f.run(join_and_send, seconds=30)

    def rejoin_cut(mac, field):
        # The last boot's Join-request still silences the join channels (the duty-cycle
        # state survives the reset): wait that out first.
        field.view.lightsleep(mac.time_until_join_ms())
        # Reset 2 s after the Join-request left, while waiting for the 5 s window.
        field.scheduler.after(2 * S + 200_000, field.board.reset)
        field.note("attempt", mac.session.dev_nonce)
        mac.join()
        field.note("unreachable", True)

    def rejoin_flash_cut(mac, field):
        # Power cut in the middle of writing the next DevNonce, before anything is sent.
        field.view.lightsleep(mac.time_until_join_ms())
        field.app = rejoin
        field.board.cut_at_flash_operation(0, "during")
        field.scheduler.after(S, field.board.power_on)
        mac.join()

    def rejoin(mac, field):
        field.note("rejoin", join(mac, field.view))
        field.note("sent", send(mac, field.view, 1, b"z").fcnt)

    f.app = rejoin_cut
    f.board.reset()
    f.scheduler.run_until(f.scheduler.now_us + 3 * S)
    assert f.notes("unreachable") == []
    f.run(rejoin_flash_cut, seconds=40)
    nonces = [e.detail["dev_nonce"] for e in f.events("join")]
    assert f.notes("rejoin") == [1]
    assert nonces[0] == 0 and len(nonces) == 3  # the mid-join request was heard too
    assert all(b > a for a, b in zip(nonces, nonces[1:], strict=False))
    assert f.events("join_rejected") == []
    assert f.notes("sent") == [0, 0]


def test_abp_uplinks_accepted_and_counter_resumes_after_reset():
    addr, nwk, app = 0x26011234, bytes(range(16)), bytes(range(16, 32))

    def abp_app(mac, field):
        mac.activate_abp(addr, nwk, app)
        for _ in range(2):
            field.note("sent", send(mac, field.view, 1, b"abp").fcnt)

    f = Field()
    f.registry.add_abp(bytes.fromhex("70b3d57ed0002002"), addr, nwk, app, kind="temperature")
    f.run(abp_app, seconds=30)
    f.run(abp_app, seconds=30)  # reset: the stored ABP session continues past its reservation
    assert f.notes("sent") == [0, 1, 16, 17]
    assert [e.detail["fcnt"] for e in f.events("uplink")] == [0, 1, 16, 17]
    assert f.events("uplink_rejected") == [] and f.events("join") == []


def test_far_node_joins_by_alternating_data_rates():
    """300 m out, SF7-SF9 do not reach the gateway: the alternating join data rates (DR5 DR4
    DR5 DR3 DR5 DR2 ...) find SF10 on the sixth attempt, and the session starts there."""

    def app(mac, field):
        field.note("join", join(mac, field.view, limit=12))
        field.note("dr", mac.session.dr)
        field.note("sent", send(mac, field.view, 1, b"far").fcnt)

    f = Field(distance_m=300)
    f.run(app, seconds=900)
    assert f.notes("join") == [6]
    assert f.notes("dr") == [2]
    heard = [m.sf for _, m in f.gateway.uplinks]
    assert heard == [10, 10]  # the Join-request at DR2, then the first uplink
    assert [e.detail["dev_nonce"] for e in f.events("join")] == [5]
    assert [e.detail["fcnt"] for e in f.events("uplink")] == [0]
