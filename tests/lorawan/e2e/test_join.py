"""OTAA join and rejoin over the emulated air against the local network server."""

from field import Field, join, send


def join_and_send(mac, field):
    field.note("join", join(mac, field.view))
    r = send(mac, field.view, 1, b"\x01\x02")
    field.note("sent", r.fcnt)


def test_otaa_join_then_uplink_reaches_the_server():
    f = Field()
    f.run(join_and_send, seconds=30)
    assert f.notes("join") == [1]
    assert f.notes("sent") == [0]
    for e in f.server.events:
        print(e)
