"""The LoRaWAN certification test application on FPort 224 (off unless the fleet enables it).

Spec: LoRaWAN Certification Protocol Specification TS009 (TS009-1.0.0, which the LoRa
Alliance's 1.0.4 end-device certification uses; the commands of later issues are the same),
package identifier 6, package version 1, for a LoRaWAN 1.0.4 Class A end device. Command
identifiers, payloads and behaviour follow the spec text (sections 4.2 and 5) as public
implementations read it (Semtech LoRaMac-node ``LmhpCompliance.c``, LoRa Basics Modem
``lorawan_certification.c``); facts only, no code taken.

Commands (downlink on FPort 224, one command per frame, the first byte its identifier; a
command of the wrong length is ignored):

======  ===========================  ==================================================
0x00    PackageVersionReq            PackageVersionAns 0x00, 6, 1
0x01    DutResetReq                  reset (the framework's reboot: a fresh interpreter;
                                     FCntUp, DevNonce and the session continue)
0x02    DutJoinReq                   a new OTAA join (fresh DevNonce); no data uplink
                                     until it succeeds; ignored by an ABP device
0x03    SwitchClassReq (class)       Class A only: 0 keeps it, 1 (B) and 2 (C) ignored
0x04    ADRBitChangeReq (0/1)        ADR off / on (Mac.set_adr)
0x05    RegionalDutyCycleCtrlReq     the regional sub-band duty cycle off / on
        (0/1)                        (DutyCycle.regional; not persisted: a reset turns it
                                     on again)
0x06    TxPeriodicityChangeReq (i)   uplink period: 0 our default 5 s, 1..10 = 5, 10, 20,
                                     30, 40, 50, 60, 120, 240, 480 s
0x07    TxFramesCtrlReq (t)          0 no change, 1 unconfirmed, 2 confirmed uplinks
0x08    EchoPayloadReq (bytes)       EchoPayloadAns 0x08 and each byte + 1 (mod 256),
                                     cut to what the data rate carries
0x09    RxAppCntReq                  RxAppCntAns 0x09, RxAppCnt (16 bits, little endian)
0x0A    RxAppCntResetReq             RxAppCnt = 0
0x20    LinkCheckReq                 a LinkCheckReq MAC command in the next uplink
0x21    DeviceTimeReq                a DeviceTimeReq MAC command in the next uplink
0x7E    DutFPort224DisableReq        FPort 224 off for good (store record "t9"), then a
                                     reset: the normal app runs, FPort 224 is ignored
0x7F    DutVersionReq                DutVersionAns 0x7F, firmware major.minor.patch.0,
                                     LoRaWAN 1.0.4.0, RP002-1.0.4 as 2.1.0.4
======  ===========================  ==================================================

Not implemented (ignored): TxCwReq 0x7D (continuous wave needs the radio's CW test mode,
which neither our SX127x driver nor the emulated chip has), PingSlotInfoReq 0x22 and the
Class B beacon commands 0x40-0x43 (Class A only).

RxAppCnt (4.2.1) counts every authentic downlink with an FPort above 0 (FPort 224 itself
included, counted before it is handled, so RxAppCntAns includes its own request) and every
downlink that acknowledges a confirmed uplink; MAC-only frames are not counted. It lives in
RAM: a reset starts it at 0.

Test mode. With ``certification`` on (device setting, firmware/README.md) the framework
hands the boot to ``run()`` before the app's first wake: the node joins (the activation)
and is in test mode from then on. The sensor app and its status heartbeats pause; this
module owns the uplink schedule: one frame every period (started period apart), the
pending answer on FPort 224 or else a 1-byte frame on FPort 1, confirmed or not as
TxFramesCtrlReq says; a pending answer, a requested MAC command or an owed uplink (ACK,
FPending) goes out at once, as the duty cycle allows. Config downlinks (FPort 30) are
applied as usual. Frame counters are never touched here: a DutJoinReq's new session
restarts them as every join does, a DutResetReq continues them.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_PORT = const(224)
_IDLE_PORT = const(1)  # the periodic frame when no answer waits
_PACKAGE_ID = const(6)
_PACKAGE_VERSION = const(1)
_KEY = "t9"  # store record: flags
_F_FPORT_OFF = const(1)  # DutFPort224DisableReq received: the test app is off for good
_DEFAULT_PERIOD_MS = const(5000)
_ANSWER_MAX = const(242)  # the largest FRMPayload of any RP002 data rate
_JOIN_TRIES = const(3)  # Join-requests per cycle before the next period

# Command identifiers (TS009 section 5)
_PACKAGE_VERSION_REQ = const(0x00)
_DUT_RESET_REQ = const(0x01)
_DUT_JOIN_REQ = const(0x02)
_SWITCH_CLASS_REQ = const(0x03)
_ADR_BIT_CHANGE_REQ = const(0x04)
_REGIONAL_DUTY_CYCLE_CTRL_REQ = const(0x05)
_TX_PERIODICITY_CHANGE_REQ = const(0x06)
_TX_FRAMES_CTRL_REQ = const(0x07)
_ECHO_PAYLOAD_REQ = const(0x08)
_RX_APP_CNT_REQ = const(0x09)
_RX_APP_CNT_RESET_REQ = const(0x0A)
_LINK_CHECK_REQ = const(0x20)
_DEVICE_TIME_REQ = const(0x21)
_DUT_FPORT224_DISABLE_REQ = const(0x7E)
_DUT_VERSION_REQ = const(0x7F)

# TxPeriodicityChangeReq 1..10 in units of 5 s: 5, 10, 20, 30, 40, 50, 60, 120, 240, 480 s
_PERIODS_5S = b"\x01\x02\x04\x06\x08\x0a\x0c\x18\x30\x60"
# DutVersionAns after the firmware version: LoRaWAN 1.0.4.0, RP002-1.0.4 (major 2 for RP2)
_VERSIONS = b"\x01\x00\x04\x00\x02\x01\x00\x04"
_IDLE = b"\x00"


def disabled(store):
    """True once a DutFPort224DisableReq turned the test app off on this device."""
    raw = store.get(_KEY)
    return bool(raw) and bool(raw[0] & _F_FPORT_OFF)


def run(node, fw_version, cycles=None):
    """Test mode for this boot: returns False at once if FPort 224 was disabled (the app
    runs), else True after a reset it asked for (or ``cycles`` cycles, under test)."""
    if disabled(node.store):
        return False
    app = TestApp(node, fw_version)
    n = 0
    while cycles is None or n < cycles:
        n += 1
        node.feed()
        ms = app.cycle()
        if node.reboot:
            node.deepsleep(100)  # a fresh interpreter (never returns on a device)
            return True
        if ms > 0:
            node.lightsleep(ms)
    return True


class TestApp:
    """The test application's state for one boot. ``command()`` is the protocol (pure but
    for the Mac and node calls it makes); ``cycle()`` is one uplink and its downlinks."""

    def __init__(self, node, fw_version):
        self.node = node
        self.rx_app_cnt = 0
        self.period_ms = _DEFAULT_PERIOD_MS
        self.confirmed = False
        self.answer = bytearray(_ANSWER_MAX)  # preallocated: answers are built in place
        self.answer_len = 0  # > 0: an answer waits for the next uplink
        self.rejoin = False
        self.mac_request = False  # LinkCheckReq / DeviceTimeReq queued in the Mac
        self.uplinks = 0
        v = fw_version.split(".")
        self._fw = bytes(int(v[i]) & 0xFF if i < len(v) else 0 for i in range(3))

    # -- protocol ------------------------------------------------------------------------
    def command(self, mac, data):
        """One downlink payload received on FPort 224."""
        n = len(data)
        if n == 0:
            return
        cid = data[0]
        a = self.answer
        self.answer_len = 0  # a new command supersedes an answer not yet sent
        if cid == _ECHO_PAYLOAD_REQ:
            room = _room(mac)
            if n > room:
                n = room  # the answer is cut to what the data rate carries
            a[0] = _ECHO_PAYLOAD_REQ
            for i in range(1, n):
                a[i] = (data[i] + 1) & 0xFF
            self.answer_len = n
        elif n == 1:
            self._simple(mac, cid, a)
        elif n == 2:
            self._with_arg(mac, cid, data[1])

    def _simple(self, mac, cid, a):
        node = self.node
        if cid == _PACKAGE_VERSION_REQ:
            a[0] = _PACKAGE_VERSION_REQ
            a[1] = _PACKAGE_ID
            a[2] = _PACKAGE_VERSION
            self.answer_len = 3
        elif cid == _RX_APP_CNT_REQ:
            a[0] = _RX_APP_CNT_REQ
            a[1] = self.rx_app_cnt & 0xFF
            a[2] = self.rx_app_cnt >> 8
            self.answer_len = 3
        elif cid == _RX_APP_CNT_RESET_REQ:
            self.rx_app_cnt = 0
        elif cid == _DUT_RESET_REQ:
            node.reboot = True
        elif cid == _DUT_JOIN_REQ:
            if node.settings.get("dev_addr") is None:  # OTAA only: ABP has nothing to join
                self.rejoin = True
        elif cid == _LINK_CHECK_REQ:
            mac.request_link_check()
            self.mac_request = True
        elif cid == _DEVICE_TIME_REQ:
            mac.request_device_time()
            self.mac_request = True
        elif cid == _DUT_VERSION_REQ:
            a[0] = _DUT_VERSION_REQ
            a[1:4] = self._fw
            a[4] = 0  # revision
            a[5:13] = _VERSIONS
            self.answer_len = 13
        elif cid == _DUT_FPORT224_DISABLE_REQ:
            raw = node.store.get(_KEY)
            flags = raw[0] if raw else 0
            node.store.put(_KEY, bytes((flags | _F_FPORT_OFF,)))
            node.reboot = True

    def _with_arg(self, mac, cid, arg):
        if cid == _TX_FRAMES_CTRL_REQ:
            if arg == 1:
                self.confirmed = False
            elif arg == 2:
                self.confirmed = True
        elif cid == _TX_PERIODICITY_CHANGE_REQ:
            if arg == 0:
                self.period_ms = _DEFAULT_PERIOD_MS
            elif arg <= len(_PERIODS_5S):
                self.period_ms = _PERIODS_5S[arg - 1] * 5000
        elif cid == _ADR_BIT_CHANGE_REQ and arg <= 1:
            mac.set_adr(arg == 1)
        elif cid == _REGIONAL_DUTY_CYCLE_CTRL_REQ and arg <= 1:
            mac.duty.regional = arg == 1
        # _SWITCH_CLASS_REQ: class A (0) is the only class; B and C are not implemented

    def downlinks(self, mac, dls):
        """Count the downlinks the Mac delivered (``dls``: FPort 1..255, in order) and act
        on those for FPort 224, removing them; the rest stay for the app framework."""
        i = 0
        while i < len(dls):
            dl = dls[i]
            self.rx_app_cnt = (self.rx_app_cnt + 1) & 0xFFFF
            if dl.fport == _PORT:
                dls.pop(i)
                self.command(mac, dl.payload)
            else:
                i += 1

    def acked(self, result):
        """A downlink that acknowledged our confirmed uplink without an FPort above 0 is
        counted here (those with one arrive through ``downlinks``)."""
        dl = result.downlink
        if dl is not None and not dl.fport and dl.ack:
            self.rx_app_cnt = (self.rx_app_cnt + 1) & 0xFFFF

    # -- one cycle -----------------------------------------------------------------------
    def cycle(self):
        """Join if needed, send one frame, handle its downlinks; ms until the next cycle."""
        node = self.node
        clock = node.clock
        mac = node.mac()
        if not mac.joined or self.rejoin:
            if not self._join(mac):
                return self.period_ms
            self.rejoin = False
            fixed = getattr(node, "_fixed_dr", None)  # the deploy-time "dr", as after any join
            if fixed is not None:
                fixed(mac)
        start = clock.ticks_ms()  # the period runs from this frame (a join is not counted)
        n = self.answer_len
        if n:
            result = self._send(mac, _PORT, memoryview(self.answer)[:n])
            self.answer_len = 0
        else:
            result = self._send(mac, _IDLE_PORT, _IDLE)
        self.mac_request = False
        if result is not None:
            self.acked(result)
        self.downlinks(mac, node._downlinks)
        node.apply_downlinks()  # config commands (FPort 30) as in the app's own wakes
        if self.answer_len or self.mac_request or self.rejoin or node.reboot:
            return 0
        if getattr(mac, "owes_uplink", False):
            return 0
        left = self.period_ms - clock.ticks_diff(clock.ticks_ms(), start)
        return left if left > 0 else 0

    def _join(self, mac):
        node = self.node
        if node.settings.get("dev_addr") is not None:
            return mac.joined  # ABP: activated by its keys
        for _ in range(_JOIN_TRIES):
            try:
                if mac.join():
                    return True
            except Exception as e:  # DutyCycleWait (the join back-off) or radio trouble
                wait = getattr(e, "wait_ms", None)
                if wait is None:
                    return False
                node.lightsleep(wait)
        return False

    def _send(self, mac, fport, payload):
        """One uplink, waiting out the duty cycle; the TxResult, or None if it could not
        go (an answer too long for a slower data rate is cut if it is an echo, else
        dropped, as the spec's implementations do)."""
        while True:
            try:
                if fport == _PORT:  # FPort 224 (LoRaWAN 1.0.4 4.3.2): Mac.send_test()
                    result = mac.send_test(payload, self.confirmed)
                else:
                    result = mac.send(fport, payload, self.confirmed)
                self.uplinks += 1
                return result
            except Exception as e:
                wait = getattr(e, "wait_ms", None)
                if wait is not None:
                    self.node.lightsleep(wait)
                    continue
                room = getattr(e, "max_len", None)
                if room is None or not 0 < room < len(payload) or payload[0] != 0x08:
                    return None
                payload = payload[:room]


def _room(mac):
    """The FRMPayload bytes the next uplink carries at the session's data rate."""
    try:
        room = mac.region.max_payload(mac.session.dr)
    except Exception:  # a region without the table: the largest answer we build
        return _ANSWER_MAX
    return room if 0 < room < _ANSWER_MAX else _ANSWER_MAX
