"""The TS009 test app's command handling on fakes, as one program that CPython imports and
the MicroPython VM runs from /lib: ``main()`` prints one line per check, and the two runs
must print the same lines (test_testapp.py holds what they must be).

Plain code both runtimes share: no dataclasses, simple f-strings only, no typing. The fakes
keep to what testapp.py uses of the node (framework.Node) and the Mac (mac.Mac)."""

from lorafield_node.testapp import TestApp, disabled, run
from ts009_fakes import Downlink, Node, TooLarge, Wait, hx


def cmd(app, *data):
    app.command(app.node.mac(), bytes(data))
    return hx(memoryview(app.answer)[: app.answer_len])


def commands():
    out = []
    node = Node()
    app = TestApp(node, "0.1.0")
    mac = node.mac()
    out.append("package_version " + cmd(app, 0x00))
    out.append("package_version_wrong_length " + (cmd(app, 0x00, 0x00) or "-"))
    out.append("dut_version " + cmd(app, 0x7F))
    out.append("echo " + cmd(app, 0x08, 0x00, 0x41, 0xFE, 0xFF))
    out.append("echo_empty " + cmd(app, 0x08))
    mac.session.dr = 0  # 51 bytes: the command byte and 50 echoed
    n = len(cmd(app, 0x08, *range(100)))
    out.append(f"echo_cut_len {n}")
    mac.session.dr = 5
    app.rx_app_cnt = 0x1234
    out.append("rx_app_cnt " + cmd(app, 0x09))
    out.append("rx_app_cnt_reset " + (cmd(app, 0x0A) or "-") + f" {app.rx_app_cnt}")
    for arg in (2, 0, 1, 7):
        cmd(app, 0x07, arg)
        out.append(f"frames_ctrl {arg} confirmed={app.confirmed}")
    for arg in (3, 10, 0, 11):
        cmd(app, 0x06, arg)
        out.append(f"periodicity {arg} {app.period_ms}")
    for arg in (0, 1, 2):
        cmd(app, 0x04, arg)
        out.append(f"adr {arg} {mac.adr}")
    for arg in (0, 1, 0, 9):
        cmd(app, 0x05, arg)
        out.append(f"duty_cycle {arg} regional={mac.duty.regional}")
    cmd(app, 0x20)
    cmd(app, 0x21)
    out.append("mac_requests " + ",".join(mac.requests) + f" {app.mac_request}")
    for arg in (0, 1, 2):
        answer = cmd(app, 0x03, arg) or "-"
        out.append(f"switch_class {arg} answer={answer}")
    answer = cmd(app, 0x7D, 8, 0, 0xD8, 0xB2, 0x83, 14) or "-"
    out.append(f"tx_cw ignored answer={answer}")
    answer = cmd(app, 0x55) or "-"
    out.append(f"unknown answer={answer}")
    cmd(app, 0x00)
    cmd(app, 0x0A)  # a command without an answer drops the one not yet sent
    out.append(f"superseded answer_len={app.answer_len}")
    cmd(app, 0x02)
    out.append(f"dut_join rejoin={app.rejoin}")
    cmd(app, 0x01)
    out.append(f"dut_reset reboot={node.reboot}")
    abp = TestApp(Node({"dev_addr": 0x26011F00}), "1.2.3")
    cmd(abp, 0x02)
    out.append(f"abp_dut_join rejoin={abp.rejoin}")
    out.append("abp_dut_version " + cmd(abp, 0x7F))
    return out


def cycles():
    out = []
    node = Node()
    app = TestApp(node, "0.1.0")
    mac = node._mac
    # The activation: not joined, so the first cycle joins, then sends the idle frame.
    mac.join_results = [False, True]
    ms = app.cycle()
    out.append(f"activation joins={mac.joins} sent={mac.sent[-1]} next={ms} dr={node.fixed_dr}")
    # A PackageVersionReq in RX1 of that frame: counted, answered at once on FPort 224.
    mac.script = [[Downlink(224, b"\x00")], [Downlink(30, b"\xa1")], []]
    ms = app.cycle()
    out.append(f"after_request next={ms} answer_len={app.answer_len} cnt={app.rx_app_cnt}")
    ms = app.cycle()
    out.append(f"answer sent={mac.sent[-1]} next={ms} applied={node.applied}")
    out.append(f"cnt_with_config={app.rx_app_cnt}")
    # Confirmed uplinks: an ACK without FPort counts; a MAC-only frame (FPort 0) does not.
    app.confirmed = True
    mac.script = [[Downlink(None, b"", True)], [Downlink(0, b"\x02", False)]]
    app.cycle()
    app.cycle()
    out.append(f"confirmed sent={mac.sent[-1]} cnt={app.rx_app_cnt}")
    app.confirmed = False
    # RxAppCntReq counts itself before it answers.
    app.rx_app_cnt = 0
    mac.script = [[Downlink(224, b"\x09")]]
    app.cycle()
    app.cycle()
    out.append(f"rx_app_cnt_ans {mac.sent[-1]}")
    # The duty cycle says wait: the app light-sleeps that long, then sends.
    node.slept = []
    mac.refuse = [Wait(1234)]
    app.cycle()
    out.append(f"duty_wait slept={node.slept} sent={mac.sent[-1]}")
    # An echo too long for a data rate that dropped meanwhile is cut; another answer dropped.
    mac.script = [[Downlink(224, bytes([8]) + bytes(60))]]
    app.cycle()
    mac.refuse = [TooLarge(11)]
    app.cycle()
    out.append(f"echo_cut sent={mac.sent[-1]}")
    mac.script = [[Downlink(224, b"\x7f")]]
    app.cycle()
    n = len(mac.sent)
    mac.refuse = [TooLarge(5)]
    app.cycle()
    out.append(f"version_dropped sends={len(mac.sent) - n} answer_len={app.answer_len}")
    # The period: the next cycle starts period_ms after this one started.
    app.period_ms = 10000
    ms = app.cycle()
    out.append(f"period next={ms}")
    # An owed uplink (ACK or FPending) goes at once.
    mac.owes_uplink = True
    out.append(f"owed next={app.cycle()}")
    mac.owes_uplink = False
    # DutJoinReq: a join before the next data frame; no data frame while it fails.
    mac.script = [[Downlink(224, b"\x02")]]
    app.cycle()
    joins, sends = mac.joins, len(mac.sent)
    mac.join_results = [False, False, False]
    ms = app.cycle()
    out.append(f"rejoin_failed joins={mac.joins - joins} sends={len(mac.sent) - sends} next={ms}")
    mac.join_results = [True]
    app.cycle()
    j = mac.joins - joins
    out.append(f"rejoined joins={j} rejoin={app.rejoin} sent={mac.sent[-1]} dr={node.fixed_dr}")
    return out


def runs():
    out = []
    # DutResetReq: run() ends the boot with the framework's reboot (a 100 ms deep sleep).
    node = Node()
    node._mac.joined = True
    node._mac.script = [[Downlink(224, b"\x01")]]
    done = run(node, "0.1.0", 5)
    out.append(f"reset done={done} deep={node.deep} sends={len(node._mac.sent)}")
    # DutFPort224DisableReq: stored for good, then the reset; the next boot's run() declines.
    node = Node()
    node._mac.joined = True
    node._mac.script = [[Downlink(224, b"\x7e")]]
    done = run(node, "0.1.0", 5)
    out.append(f"disable done={done} deep={node.deep} stored={disabled(node.store)}")
    again = Node()
    again.store = node.store
    declined = run(again, "0.1.0", 5)
    out.append(f"after_disable run={declined} sends={len(again._mac.sent)}")
    # cycles bound the loop; it light-sleeps the period between frames.
    node = Node()
    node._mac.joined = True
    done = run(node, "0.1.0", 3)
    out.append(f"three done={done} sends={len(node._mac.sent)} slept={node.slept} fed={node.fed}")
    return out


def main():
    for line in commands() + cycles() + runs():
        print(line)
