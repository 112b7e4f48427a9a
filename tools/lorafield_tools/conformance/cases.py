"""The TS009 Class A test sequences we implement, each a function of the ``TestTool`` that
returns a one-line detail or raises ``CaseFailed`` (``StepTimeout``) saying what went wrong.

They run in this order on one DUT (each starts from where the last left it, as a test
tool's session does); ``production`` runs on a second DUT with ``certification`` off.
Sections: TS009-1.0.0 (the LoRaWAN Certification Protocol; 4.x the DUT's side, 5.x one
command each), TS001-1.0.4 (the LoRaWAN 1.0.4 link layer) and RP002-1.0.4.
"""

from lorafield_node.apps.framework import FW_VERSION

from .world import TEST_PORT, StepTimeout, server_secs

PERIOD_S = 5.0  # the test app's default period (testapp.py)
IDLE_PORT = 1
APP_PORTS = range(10, 31)  # the codec's ports: sensor readings, status, config


class CaseFailed(AssertionError):
    pass


def check(ok, message):
    if not ok:
        raise CaseFailed(message)


def gaps(ups):
    return [round(b.start_s - a.start_s, 2) for a, b in zip(ups, ups[1:], strict=False)]


def _answers(tool):
    """The DUT still answers on FPort 224 (a PackageVersionAns, whatever its content: that
    is package_version's to judge)."""
    answer, _, _ = tool.ask(b"\x00")
    return answer[:1] == b"\x00"


# -- the cases ----------------------------------------------------------------------------
def activation(tool):
    f = tool.field
    f.power_on()
    join = f.run_until(lambda: f.events("join"), 300, "Join-request accepted")[0]
    f.run_for(6 * PERIOD_S + 2)
    ups = tool.uplinks()[:6]
    check(len(ups) == 6, f"{len(ups)} uplink(s) in {6 * PERIOD_S + 2:g} s after the join")
    ports = {u.fport for u in ups}
    check(ports == {IDLE_PORT}, f"uplinks on FPorts {sorted(ports, key=str)}, not the test frame")
    g = gaps(ups)
    check(all(abs(x - PERIOD_S) < 0.3 for x in g), f"uplinks {g} s apart, not {PERIOD_S:g} s")
    check(not [u for u in tool.uplinks() if u.fport in APP_PORTS], "the sensor app sent")
    return (
        f"OTAA join (DevNonce {join.detail['dev_nonce']}), then test mode: "
        f"{len(ups)} uplinks on FPort {IDLE_PORT} {PERIOD_S:g} s apart, the sensor app paused"
    )


def package_version(tool):
    answer, up, _ = tool.ask(b"\x00")
    check(answer == bytes([0x00, 6, 1]), f"PackageVersionAns {answer.hex()}")
    return f"PackageVersionAns {answer.hex()}: package 6 version 1 (FCnt {up.fcnt})"


def dut_version(tool):
    answer, _, _ = tool.ask(b"\x7f")
    fw = [int(x) for x in FW_VERSION.split(".")]
    want = bytes([0x7F, *fw, 0, 1, 0, 4, 0, 2, 1, 0, 4])
    check(answer == want, f"DutVersionAns {answer.hex()}, want {want.hex()}")
    return f"DutVersionAns: firmware {FW_VERSION}, LoRaWAN 1.0.4, RP002-1.0.4"


def echo(tool):
    data = bytes([0x00, 0x01, 0x7F, 0xFE, 0xFF]) + bytes(range(0x30, 0x3A))
    data = data[: tool.downlink_room() - 1]  # what both receive windows carry
    answer, _, _ = tool.ask(bytes([0x08]) + data)
    want = bytes([0x08]) + bytes((b + 1) & 0xFF for b in data)
    check(answer == want, f"EchoPayloadAns {answer.hex()}, want {want.hex()}")
    return f"{len(data)} bytes echoed +1 each (0xff -> 0x00)"


def rx_app_cnt(tool):
    tool.silent(b"\x0a", 1)
    first, _, _ = tool.ask(b"\x09")
    tool.ask(b"\x08\x10")
    tool.ask(b"\x08\x20")
    second, _, _ = tool.ask(b"\x09")
    counts = [int.from_bytes(a[1:3], "little") for a in (first, second)]
    # The reset, then: RxAppCntReq (counted before it is answered), two echoes, RxAppCntReq.
    check(first[0] == 0x09 and second[0] == 0x09, "not RxAppCntAns")
    check(counts == [1, 4], f"RxAppCnt {counts} after the reset, want [1, 4]")
    return "reset to 0; then 1 and 4 downlinks counted (RxAppCntReq counts itself)"


def frames_ctrl(tool):
    at, _ = tool.send(b"\x07\x02")
    ups = tool.next_uplinks(3, at)
    check(all(u.confirmed for u in ups), "uplinks after TxFramesCtrlReq(2) not confirmed")
    acks = [e for e in tool.field.events("downlink", at) if e.detail.get("ack")]
    check(len(acks) >= 3, f"{len(acks)} ACKs from the server for 3 confirmed uplinks")
    retries = tool.field.events("uplink_retransmission", at)
    check(not retries, f"{len(retries)} retransmissions: the ACKs were not taken")
    at, _ = tool.send(b"\x07\x01")
    back = tool.next_uplinks(3, at)
    check(not any(u.confirmed for u in back), "uplinks after TxFramesCtrlReq(1) confirmed")
    at, _ = tool.send(b"\x07\x00")
    same = tool.next_uplinks(2, at)
    check(not any(u.confirmed for u in same), "TxFramesCtrlReq(0) changed the frame type")
    return "confirmed (each ACKed once), unconfirmed again, 0 = no change"


def periodicity(tool):
    at, _ = tool.send(b"\x06\x02")
    ups = tool.next_uplinks(4, at, port=IDLE_PORT)
    g = gaps(ups)
    check(all(abs(x - 10) < 0.3 for x in g), f"uplinks {g} s apart after index 2, not 10 s")
    at, _ = tool.send(b"\x06\x00")
    back = gaps(tool.next_uplinks(4, at, port=IDLE_PORT))
    check(all(abs(x - PERIOD_S) < 0.3 for x in back), f"{back} s apart after index 0")
    return f"index 2: {g[0]:g} s apart; index 0: back to the default {PERIOD_S:g} s"


def adr_bit(tool):
    at, _ = tool.send(b"\x04\x00")
    off = tool.next_uplinks(2, at)
    check(not any(u.adr for u in off), "FCtrl.ADR set after ADRBitChangeReq(0)")
    at, _ = tool.send(b"\x04\x01")
    on = tool.next_uplinks(2, at)
    check(all(u.adr for u in on), "FCtrl.ADR clear after ADRBitChangeReq(1)")
    return "FCtrl.ADR cleared by 0, set by 1"


def switch_class(tool):
    for cls in (0, 2):
        at, ups = tool.silent(bytes([0x03, cls]))
        check(not [u for u in ups if u.fport == TEST_PORT], f"an answer to class {cls}")
        g = gaps(ups)
        check(all(abs(x - PERIOD_S) < 0.3 for x in g), f"schedule {g} after class {cls}")
    # Still a Class A device that answers: a command after them is answered.
    check(_answers(tool), "no answer after SwitchClassReq")
    return "class A (0) kept, class C (2) ignored: no answer, schedule unchanged"


def _rx1_only(tool, command):
    """ask() with the server offering RX1 only: a downlink longer than RX2's DR0 carries
    (51 bytes in EU868) is otherwise held back for a window where both would fit."""
    server = tool.field.server
    saved = server.windows
    server.windows = ("RX1",)
    try:
        return tool.ask(command)
    finally:
        server.windows = saved


def _silence_s(region, up):
    """The sub-band silence ``up`` starts (RP002-1.0.4, EU868 2.4.3 and the other regions'
    duty-cycle rules as the region tables hold them: 1/duty - 1 times its airtime; 0 in a
    region without duty-cycle limits)."""
    return up.airtime_s * max(region.off_time_factor(up.frequency_hz), 0)


def _too_early(region, ups):
    """The first frame that started inside the silence of the last frame before it in the
    same sub-band, or None."""
    last = {}
    for u in ups:
        band = region.subband(u.frequency_hz)
        a = last.get(band)
        if a is not None and u.start_s - a.start_s < _silence_s(region, a) - 0.01:
            return u
        last[band] = u
    return None


def duty_cycle(tool):
    f = tool.field
    r = f.region
    up = tool.uplinks()[-1]
    room = min(r.max_payload(up.dr), r.max_payload(r.rx1_dr(up.dr, 0)))
    big = bytes([0x08]) + bytes(min(200, room - 1))  # a long answer: a long silence
    off_at, _ = tool.silent(b"\x05\x00", 1)
    _, off_up, _ = _rx1_only(tool, big)
    (after_off,) = tool.next_uplinks(1, off_up.start_s)
    gap_off = after_off.start_s - off_up.start_s
    tool.send(b"\x05\x01")
    _, on_up, _ = _rx1_only(tool, big)
    (after_on,) = tool.next_uplinks(1, on_up.start_s)
    gap_on = after_on.start_s - on_up.start_s
    silence = _silence_s(r, on_up)
    if silence == 0:  # nothing to switch off: frames go at the period either way
        check(gap_off < PERIOD_S + 0.5 and gap_on < PERIOD_S + 0.5, "held back without limits")
        return f"{r.name} has no duty-cycle limit: {gap_off:.1f} s / {gap_on:.1f} s, either way"
    check(gap_off < _silence_s(r, off_up), f"{gap_off:.1f} s after a frame with the limits off")
    check(gap_on >= silence - 0.01, f"{gap_on:.1f} s after a frame with limits on")
    # Everywhere else (limits on), no frame started inside another's silence.
    ups = f.uplinks()
    for run in (
        [u for u in ups if u.start_s < off_at],
        [u for u in ups if u.start_s >= on_up.start_s],
    ):
        early = _too_early(r, run)
        check(early is None, f"FCnt {early and early.fcnt} inside a sub-band's silence")
    return (
        f"off: next frame {gap_off:.1f} s after a {off_up.airtime_s * 1000:.0f} ms frame; "
        f"on: {gap_on:.1f} s (>= {silence:.1f} s silence)"
    )


def link_check(tool):
    at, ups = tool.silent(b"\x20", 1)
    check(ups[0].fopts[:1] == b"\x02", f"FOpts {ups[0].fopts.hex()} without LinkCheckReq")
    answered = [e for e in tool.field.events("downlink", at) if "0x02" in e.detail.get("mac")]
    check(answered, "the server sent no LinkCheckAns")
    return "LinkCheckReq (0x02) in the next uplink's FOpts; LinkCheckAns came back"


def device_time(tool):
    at, ups = tool.silent(b"\x21", 1)
    check(ups[0].fopts[:1] == b"\x0d", f"FOpts {ups[0].fopts.hex()} without DeviceTimeReq")
    answered = [e for e in tool.field.events("downlink", at) if "0x0d" in e.detail.get("mac")]
    check(answered, "the server sent no DeviceTimeAns")
    return "DeviceTimeReq (0x0d) in the next uplink's FOpts; DeviceTimeAns came back"


def _window(tool, window):
    server = tool.field.server
    saved = server.windows
    server.windows = (window,)  # the server offers that window only
    try:
        answer, _, sent_in = tool.ask(b"\x08\xa5\x5a")
    finally:
        server.windows = saved
    check(sent_in == window, f"sent in {sent_in}")
    check(answer == b"\x08\xa6\x5b", f"EchoPayloadAns {answer.hex()} to a downlink in {window}")
    return f"EchoPayloadReq in {window} (only), answered"


def rx1(tool):
    return _window(tool, "RX1")


def rx2(tool):
    return _window(tool, "RX2")


def dut_reset(tool):
    f = tool.field
    boots = len(f.board.boots)
    at, _ = tool.send(b"\x01")
    f.run_until(lambda: len(f.board.boots) > boots, 60, "reset")
    (up,) = tool.next_uplinks(1, at)
    last = f.uplinks()[up.index - 1]  # the uplink whose RX window brought DutResetReq
    check(not f.events("join", at), "the DUT joined again after DutResetReq")
    check(up.fport == IDLE_PORT, f"after the reset: FPort {up.fport}, not test mode")
    check(up.fcnt == last.fcnt + 1, f"FCntUp {last.fcnt} -> {up.fcnt} across the reset")
    check(_answers(tool), "no answer after the reset")
    return f"rebooted; FCntUp {last.fcnt} -> {up.fcnt}, same session, test mode again"


def dut_join(tool):
    f = tool.field
    before = f.events("join")[-1]
    at, _ = tool.send(b"\x02")
    join = f.run_until(lambda: f.events("join", at), 300, "Join-request")[0]
    nonces = (before.detail["dev_nonce"], join.detail["dev_nonce"])
    check(nonces[1] > nonces[0], f"DevNonce {nonces[0]} -> {nonces[1]}")
    (up,) = tool.next_uplinks(1, server_secs(join.time_us))
    check(up.fcnt == 0, f"first FCntUp of the new session {up.fcnt}")
    check(up.dev_addr == join.detail["dev_addr"], "uplink not in the new session")
    check(_answers(tool), "no answer in the new session")
    return f"rejoined: DevNonce {nonces[0]} -> {nonces[1]}, FCntUp from 0, answers again"


def deactivation(tool):
    f = tool.field
    boots = len(f.board.boots)
    at, _ = tool.send(b"\x7e")
    f.run_until(lambda: len(f.board.boots) > boots, 60, "reset")
    ups = tool.next_uplinks(2, at, 300)
    check(all(u.fport in APP_PORTS for u in ups), f"after it: FPorts {[u.fport for u in ups]}")
    at2, later = tool.silent(b"\x00", 2)
    check(not [u for u in later if u.fport == TEST_PORT], "FPort 224 answered after disable")
    check(any(u.fport == 12 for u in tool.uplinks(at2)), "no temperature reading")
    return "DutFPort224DisableReq: reset, sensor app back, FPort 224 ignored for good"


def production(tool):
    f = tool.field
    f.power_on()
    f.run_until(lambda: f.events("join"), 300, "Join-request accepted")
    _, ups = tool.silent(b"\x00", 3)
    check(not [u for u in tool.uplinks() if u.fport == TEST_PORT], "a 224 answer")
    check(all(u.fport in APP_PORTS for u in ups), f"FPorts {[u.fport for u in ups]}")
    return "certification off: FPort 224 downlink delivered, ignored; readings go on"


# (name, spec section, function): in the order they run on the DUT.
CASES = (
    ("activation and test mode", "TS009 4.1.1", activation),
    ("PackageVersionReq", "TS009 5.1", package_version),
    ("DutVersionReq", "TS009 5.16", dut_version),
    ("EchoPayloadReq (+1 per byte)", "TS009 5.9", echo),
    ("RxAppCntReq and RxAppCntResetReq", "TS009 4.2.1, 5.10", rx_app_cnt),
    ("TxFramesCtrlReq (confirmed / unconfirmed)", "TS009 5.8", frames_ctrl),
    ("TxPeriodicityChangeReq", "TS009 5.7", periodicity),
    ("ADRBitChangeReq", "TS009 5.5", adr_bit),
    ("SwitchClassReq (Class A)", "TS009 5.4", switch_class),
    ("RegionalDutyCycleCtrlReq off / on", "TS009 5.6, RP002 duty cycle", duty_cycle),
    ("LinkCheckReq trigger", "TS009 5.11, TS001 5.1", link_check),
    ("DeviceTimeReq trigger", "TS009 5.12, TS001 5.9", device_time),
    ("downlink in RX1 answered", "TS001 3.3.1", rx1),
    ("downlink in RX2 answered", "TS001 3.3.2", rx2),
    ("DutResetReq (FCntUp continues)", "TS009 5.2", dut_reset),
    ("DutJoinReq (fresh DevNonce)", "TS009 5.3, TS001 6.2.5", dut_join),
    ("DutFPort224DisableReq (deactivation)", "TS009 5.15", deactivation),
)
# On a second DUT with certification off.
PRODUCTION = ("FPort 224 ignored in production", "TS001 4.3.2", production)

# The TS009 Class A commands we leave out, and why.
LEFT_OUT = (
    (
        "TxCwReq",
        "TS009 5.14",
        "continuous wave needs the radio's CW test mode and an RF measurement: our SX127x "
        "driver and the emulated chip have neither (the firmware ignores the command)",
    ),
    (
        "PingSlotInfoReq, BeaconRxStatusInd, BeaconCntReq, BeaconCntRstReq",
        "TS009 5.13; TS009-1.1.0",
        "Class B: lorafield is a Class A stack (ignored)",
    ),
    (
        "SwitchClassReq to Class B or C",
        "TS009 5.4",
        "Class B and C are out of scope: the request is ignored, Class A stays",
    ),
)

__all__ = ["CASES", "LEFT_OUT", "PRODUCTION", "CaseFailed", "StepTimeout"]
