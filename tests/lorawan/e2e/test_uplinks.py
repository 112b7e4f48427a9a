"""Uplinks on the air: confirmed retransmission, duty-cycle wait, max payload, and FCntUp
never reused across power cuts (the server rejects a counter it has seen)."""

import random

import pytest
from field import Field, S, join, send
from lorafield_hw.airtime import time_on_air_us
from lorafield_node.mac import DutyCycleWait, PayloadTooLarge


def test_confirmed_uplink_retransmitted_until_the_network_acks():
    def app(mac, field):
        join(mac, field.view)
        field.view.lightsleep(mac.time_until_send_ms())
        field.gateway.stop()  # the first transmission is not heard
        field.scheduler.after(S, field.gateway.start)
        r = send(mac, field.view, 2, b"alarm", confirmed=True)
        field.note("result", (r.acked, r.transmissions, r.fcnt))

    f = Field()
    f.run(app, seconds=60)
    assert f.notes("result") == [(True, 2, 0)]
    ups = f.events("uplink")
    assert [e.detail["fcnt"] for e in ups] == [0]
    assert f.events("downlink_sent")  # the ACK


def test_confirmed_uplink_gives_up_without_network():
    def app(mac, field):
        join(mac, field.view)
        field.gateway.stop()
        r = send(mac, field.view, 2, b"alarm", confirmed=True)
        field.note("result", (r.acked, r.transmissions))

    f = Field()
    f.mac_options = {"confirmed_tries": 3}
    f.run(app, seconds=120)
    assert f.notes("result") == [(False, 3)]
    assert f.air.frames_sent == 2 + 3  # join-request and accept, then three copies


def test_duty_cycle_wait_keeps_the_sub_band_legal():
    def app(mac, field):
        join(mac, field.view)
        field.view.lightsleep(60_000)
        send(mac, field.view, 1, bytes(30))
        try:
            mac.send(1, bytes(30))
        except DutyCycleWait as e:
            field.note("wait", e.wait_ms)
            field.view.lightsleep(e.wait_ms)
        send(mac, field.view, 1, bytes(30))

    f = Field()
    f.run(app, seconds=200)
    (wait,) = f.notes("wait")
    (_, a), (_, b) = f.gateway.uplinks[-2:]
    airtime = time_on_air_us(13 + 30, 7, 125_000)
    # All default channels are in the 868.0-868.6 MHz sub-band (1 %): 99 x airtime silent.
    gap = (b.tmst_us - round(airtime)) - a.tmst_us
    assert gap >= 99 * airtime - 1000
    assert wait > 0
    # ... and sends as soon as that is over (the MAC rounds airtime up to whole ms).
    assert gap <= 99 * 1000 * -(-airtime // 1000) + 20_000


@pytest.mark.parametrize("dr,limit", [(0, 51), (5, 222)])
def test_max_payload_rejected_with_a_typed_error(dr, limit):
    def app(mac, field):
        join(mac, field.view)
        mac.set_dr(dr)
        try:
            mac.send(1, bytes(limit + 1))
        except PayloadTooLarge as e:
            field.note("too large", e.max_len)
        field.view.lightsleep(mac.time_until_send_ms())
        field.note("sent", send(mac, field.view, 1, bytes(limit)).fcnt)

    f = Field()
    f.run(app, seconds=200)
    assert f.notes("too large") == [limit]
    assert f.notes("sent") == [0]
    assert len(f.gateway.uplinks[-1][0]) == 13 + limit


def test_fcnt_up_never_reused_across_power_cuts_on_air():
    rnd = random.Random(3)

    def app(mac, field):
        if not mac.joined:
            join(mac, field.view)
        while True:
            send(mac, field.view, 1, b"t")
            field.view.lightsleep(rnd.randrange(1_000, 20_000))

    f = Field()
    f.run(app, seconds=40)
    for _ in range(12):
        if rnd.random() < 0.5:
            f.board.cut_at_flash_operation(rnd.randrange(3), rnd.choice(("before", "during")))
            f.scheduler.run_until(f.scheduler.now_us + 120 * S)
            if not f.board.powered:
                f.app = app
                f.board.power_on()
        else:
            f.scheduler.run_until(f.scheduler.now_us + rnd.randrange(5, 60) * S)
            f.cut_and_restart(app)
        f.scheduler.run_until(f.scheduler.now_us + 30 * S)
    fcnts = [e.detail["fcnt"] for e in f.events("uplink")]
    assert len(fcnts) > 40
    assert all(b > a for a, b in zip(fcnts, fcnts[1:], strict=False))
    assert f.events("uplink_rejected") == []
    assert len(f.events("join")) == 1
