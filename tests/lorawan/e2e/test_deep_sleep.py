"""A node that deep-sleeps after every uplink (as every app does): a new boot, a new Mac from
the store, one uplink, deep sleep. What it owes the network must survive the sleeps."""

from field import DEV_EUI, Field, join, send
from lorafield_node import maccmd as mc
from lorafield_node.airtime import airtime_us
from lorafield_node.mac import DutyCycleWait
from lorafield_node.phy import FCTRL_ACK, parse_data

SLEEP_MS = 60_000


def sleeper(plan):
    """An app: join if needed, run plan[boot] (before the uplink), send, deep sleep until
    the last boot of the plan."""

    def app(mac, field):
        boot = len(field.board.boots)
        if not mac.joined:
            join(mac, field.view)
        before = plan.get(boot)
        if before is not None:
            before(field)
        r = send(mac, field.view, 1, bytes([boot]))
        field.note("dl", None if r.downlink is None else r.downlink.window)
        if boot < max(plan):  # the last boot stays awake
            field.view.deepsleep(SLEEP_MS)

    return app


def uplinks(field):
    """(payload byte = boot number, FCtrl, uplink MAC commands) of every data uplink heard."""
    out = []
    for phy, _ in field.gateway.uplinks:
        if phy[0] >> 5 in (2, 4):
            frame = parse_data(phy)
            out.append((frame.fctrl, mc.parse_commands(frame.fopts, True)))
    return out


def mute(field, on):
    # A gateway that cannot schedule anything: the server's downlinks never go out.
    field.gateway.min_lead_us = 10**15 if on else 0


def test_sticky_answer_survives_deep_sleep_until_a_downlink():
    ans = [(mc.RX_TIMING_SETUP, ())]
    plan = {
        1: lambda f: f.server.request_mac(DEV_EUI, mc.RX_TIMING_SETUP, (2,)),
        2: lambda f: mute(f, True),  # the answer goes up, the network's downlink is lost
        3: lambda f: mute(f, False),
        4: None,
    }
    f = Field()
    f.run(sleeper(plan), seconds=6 * SLEEP_MS / 1000)
    assert f.board.reset_causes[1:] == [4, 4, 4]  # DEEPSLEEP_RESET
    cmds = [c for _, c in uplinks(f)]
    # boot 1: the request arrives; boots 2 and 3 (new boots, RAM lost) answer it; the
    # downlink after boot 3 stops the repetition.
    assert cmds == [[], ans, ans, []]
    assert f.notes("dl") == [1, None, 1, None]
    assert f.mac.session.rx1_delay == 2
    assert f.server.session(DEV_EUI).rx1_delay_s == 2
    requests = [
        it
        for _, it, fr in f.gateway.transmitted
        if fr.payload[0] >> 5 in (3, 5)
        and any(
            c == mc.RX_TIMING_SETUP
            for c, _ in mc.parse_commands(parse_data(fr.payload).fopts, False)
        )
    ]
    assert len(requests) == 1  # the network asked once


def test_ack_of_confirmed_downlink_survives_deep_sleep():
    plan = {
        1: lambda f: f.server.enqueue(DEV_EUI, 9, b"\x01", confirmed=True),
        2: None,
        3: None,
    }
    f = Field()
    f.run(sleeper(plan), seconds=5 * SLEEP_MS / 1000)
    acks = [bool(fctrl & FCTRL_ACK) for fctrl, _ in uplinks(f)]
    assert acks == [False, True, False]
    assert [e.kind for e in f.server.events if e.kind.startswith("downlink_")][-1:] == [
        "downlink_acked"
    ]


def test_duty_cycle_still_refused_after_deep_sleep_until_the_off_time_passed():
    """An SF12 uplink silences its 1 % sub-band (868.0-868.6 MHz: all three default
    channels) for 99 x its airtime; a node that deep-sleeps 5 s and wakes is still refused
    with DutyCycleWait, deep-sleeps the wait it was told and then sends."""

    def app(mac, field):
        boot = len(field.board.boots)
        if boot == 1:
            join(mac, field.view)
            mac.set_dr(0)
            send(mac, field.view, 1, bytes(20))
            field.view.deepsleep(5_000)
        try:
            mac.send(1, b"again")
        except DutyCycleWait as e:
            field.note("refused", e.wait_ms)
            field.view.deepsleep(e.wait_ms)
        field.note("sent", boot)

    f = Field()
    f.run(app, seconds=300)
    assert f.board.reset_causes == [1, 4, 4]  # PWRON, then two deep-sleep wakes
    assert f.notes("sent") == [3]
    (wait,) = f.notes("refused")
    (p1, m1), (p2, m2) = [(p, m) for p, m in f.gateway.uplinks if p[0] >> 5 == 2]
    air1_ms = (airtime_us(len(p1), 12, 125_000, 5, True, 8) + 999) // 1000
    off_ms = 99 * air1_ms  # the sub-band's off-time after the first frame
    start2 = m2.tmst_us - airtime_us(len(p2), 12, 125_000, 5, True, 8)
    assert start2 - m1.tmst_us >= off_ms * 1000  # legal on air, across two deep sleeps
    # Told what was left of it: the off-time minus RX2 (2 s), the 5 s asleep and the boot.
    assert off_ms - 10_000 < wait <= off_ms - 7_000


def test_flush_acks_at_once_and_fetches_the_pending_downlink_on_air():
    """A confirmed downlink followed by another queued one (FPending): mac.flush() before
    sleeping sends the ACK in an empty frame, whose windows bring the second downlink."""

    def app(mac, field):
        join(mac, field.view)
        field.server.enqueue(DEV_EUI, 9, b"\x01", confirmed=True)
        field.server.enqueue(DEV_EUI, 9, b"\x02")
        r = send(mac, field.view, 1, b"data")
        field.note("first", (r.downlink.payload, r.downlink.confirmed, r.fpending))
        while mac.owes_uplink:
            field.view.lightsleep(mac.time_until_send_ms())
            r = mac.flush()
            field.note("flushed", r.downlink.payload if r.downlink else None)
        field.view.deepsleep(3_600_000)

    f = Field()
    f.run(app, seconds=120)
    assert f.notes("first") == [(b"\x01", True, True)]
    assert f.notes("flushed") == [b"\x02"]
    frames = [parse_data(p) for p, _ in f.gateway.uplinks if p[0] >> 5 == 2]
    assert [(fr.fport, bool(fr.fctrl & FCTRL_ACK)) for fr in frames] == [(1, False), (None, True)]
    kinds = [e.kind for e in f.server.events if e.kind.startswith("downlink_")]
    assert "downlink_acked" in kinds and "downlink_nacked" not in kinds
    assert f.events("uplink_rejected") == []  # the empty frame is a valid uplink
