"""LoRaWAN 1.0.4 Class A end-device MAC (the tables of RP002-1.0.4 from ``region``).

One ``Mac`` per boot, built from the board: it mounts the persistent ``Session`` (DevNonce,
session keys and settings, FCntUp reservation), builds the SX127x driver unless handed a radio,
and keeps every buffer it needs. Nothing lives in module globals.

    mac = Mac(board, dev_eui=..., join_eui=..., app_key=...)
    if not mac.joined:
        mac.join()                      # one attempt; False when no Join-accept came
    result = mac.send(1, b"...")        # TxResult: fcnt, acked, downlink, fpending, ...

Timing (section 3.3 and 6): RX1 opens RECEIVE_DELAY1 (JOIN_ACCEPT_DELAY1 for a join) after the
end of the uplink, measured from the TxDone interrupt instant, RX2 one second later. Each window
opens ``margin`` early and its symbol timeout keeps it open until a downlink starting
``margin`` late has been detected; margin = delay * clock error (ppm) + a fixed wake-up latency.

Errors are typed: ``NotJoined``, ``PayloadTooLarge`` (with ``max_len``), ``DutyCycleWait`` (with
``wait_ms``: the stack never sends illegally, it says how long until it may), ``NoChannel``;
session exhaustion raises ``SessionError`` from ``session``. No key ever appears in a message.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .aes import new_aes
from .airtime import symbol_us
from .dutycycle import DutyCycle
from .phy import SessionCrypto, build_data_into
from .session import Session

# Constants of phy, region and session, folded into the bytecode here (a name imported from
# another module is a global looked up at run time); tests/lorawan/mac/test_mac_persist.py
# checks they are the same.
_UNCONFIRMED_UP = const(2)  # phy.UNCONFIRMED_UP
_CONFIRMED_UP = const(4)  # phy.CONFIRMED_UP
_FCTRL_ADR = const(0x80)  # phy.FCTRL_ADR
_FCTRL_ADR_ACK_REQ = const(0x40)  # phy.FCTRL_ADR_ACK_REQ
_FCTRL_ACK = const(0x20)  # phy.FCTRL_ACK
_ABP = const(2)  # session.ABP
_FPORT_MAC = const(0)  # FPort of a frame whose FRMPayload is MAC commands (1.0.4 4.3.2)
_FOPTS_MAX = const(15)
_FPORT_TEST = const(224)  # the TS009 test protocol's FPort (1.0.4 4.3.2)

_MIN_RX_SYMBOLS = const(6)  # symbols a window must last to detect a preamble (Semtech AN1200.24)
_RX_CR = const(5)
_PREAMBLE = const(8)
_ACK_TIMEOUT_MS = const(2000)  # 1.0.4 section 6 table 17: ACK_TIMEOUT 2 s +- 1 s (random)
_DUTY_KEY = "dc"  # store record of the duty-cycle silences (dutycycle.py)
_OWED_KEY = "ma"  # owed.KEY: MAC answers and ACK still owed; empty when nothing is
# ADR_ACK_LIMIT (adr.py): below it no uplink sets ADRACKReq or takes a backoff step, so only
# a node that has heard nothing for that many uplinks loads adr.py.
_ADR_ACK_LIMIT = const(64)


def _mc():
    """maccmd, imported when first needed: most boots carry no MAC command, and a module
    loaded from flash costs heap on the device (firmware/boards/README.md, Heap)."""
    from . import maccmd

    return maccmd


def _uplink_len(cid):
    return _mc().payload_len(cid, True)


class MacError(Exception):
    """Base of the MAC's typed errors."""


class NotJoined(MacError):
    """No session: join (OTAA) or activate_abp() first."""


class PayloadTooLarge(MacError):
    """The application payload exceeds the maximum of the current data rate."""

    def __init__(self, length, max_len, dr):
        super().__init__("payload of %d bytes exceeds %d at DR%d" % (length, max_len, dr))
        self.length = length
        self.max_len = max_len
        self.dr = dr


class DutyCycleWait(MacError):
    """Every usable channel is silenced by the duty-cycle limits for ``wait_ms`` more ms."""

    def __init__(self, wait_ms):
        super().__init__("duty cycle: may send in %d ms" % wait_ms)
        self.wait_ms = wait_ms


class NoChannel(MacError):
    """No enabled channel supports the data rate."""


class Stats:
    """Counters of one Mac object (one boot)."""

    def __init__(self):
        self.join_attempts = 0
        self.uplinks = 0  # new frames (new FCntUp)
        self.transmissions = 0  # frames put on air, retransmissions included
        self.downlinks = 0  # authentic downlinks accepted
        self.dropped_mic = 0
        self.dropped_replay = 0
        self.dropped_addr = 0
        self.dropped_malformed = 0


class Downlink:
    """An authentic downlink: ``fport`` None (no FRMPayload) or 0 (MAC only) or 1..255.
    Defined here, not in macrx: an app keeps downlinks after the receive path is unloaded,
    and an instance of a class of macrx would keep all of macrx in the heap."""

    def __init__(self, fport, payload, fcnt, window, rssi, snr, confirmed, ack, fpending):
        self.fport = fport
        self.payload = payload
        self.fcnt = fcnt
        self.window = window
        self.rssi = rssi
        self.snr = snr
        self.confirmed = confirmed
        self.ack = ack
        self.fpending = fpending


class TxResult:
    """What one send() achieved."""

    def __init__(self, fcnt):
        self.fcnt = fcnt
        self.transmissions = 0
        self.acked = False
        self.downlink = None
        self.fpending = False
        self.link_check = None  # (margin dB, gateway count) from LinkCheckAns
        self.device_time = None  # (GPS seconds, fraction/256) from DeviceTimeAns


class Mac:
    def __init__(
        self,
        board,
        region=None,
        radio=None,
        store=None,
        dev_eui=None,
        join_eui=None,
        app_key=None,
        fcnt_reserve=16,
        clock_ppm=30,
        wakeup_us=1000,
        antenna_gain_db=2,
        confirmed_tries=8,
        battery=None,
        on_downlink=None,
        aes_backend=None,
    ):
        self._board = board
        self._clock = board.clock()
        if region is None:
            from .region import region as by_name

            region = by_name("EU868")
        self.region = region
        if radio is None:
            from .sx127x import SX127x

            spi, cs, reset, dio0 = board.radio()
            radio = SX127x(spi, cs, reset, dio0, self._clock, getattr(board, "lightsleep", None))
            radio.init()
        self.radio = radio
        self.session = Session(
            store if store is not None else board.store(), self.region, fcnt_reserve
        )
        self.duty = DutyCycle(self._clock, self.region)
        self.duty.max_dcycle = self.session.max_dcycle
        # The silences of earlier boots (deep sleep loses RAM, not the regulations), resumed
        # minus the time the board's sleep-surviving clock has seen pass.
        self.duty.restore(self.session._store.get(_DUTY_KEY), self._rtc_ms())
        self.stats = Stats()
        self.clock_ppm = clock_ppm
        self.wakeup_us = wakeup_us
        self.antenna_gain_db = antenna_gain_db
        self.confirmed_tries = confirmed_tries
        self.battery = battery  # callable -> DevStatusAns battery 0..255, else from battery_mv
        self.on_downlink = on_downlink  # callable(Downlink) for application downlinks
        self._backend = aes_backend
        self._dev_eui = dev_eui
        self._join_eui = join_eui
        self._app_aes = new_aes(app_key, aes_backend) if app_key is not None else None
        self._crypto = None
        if self.session.active:
            self._crypto = SessionCrypto(self.session.nwk_skey, self.session.app_skey, aes_backend)
        # Preallocated: the uplink frame, FOpts, the candidate channel list.
        self._tx = bytearray(256)
        self._fopts = bytearray(15)
        self._cands = [0] * self.region.max_channels
        self._once = []  # encoded MAC answers/requests sent in the next uplink only
        self._sticky = []  # encoded sticky answers, repeated until a downlink arrives
        self._once_sent = 0
        self._adr_step_cnt = -1  # ADR_ACK_CNT whose backoff step was last taken
        self._ack_pending = False  # a confirmed downlink waits for our ACK bit
        self._fpending = False  # the last downlink announced more (FPending)
        self._answers_dirty = False  # the three above differ from the stored "ma" record
        self._tx_end_us = 0
        if self.session.active and self.session._store.get(_OWED_KEY):
            # What a previous boot (deep sleep, reset) still owed the network; owed.py is
            # loaded only when something is owed (owed.save stores nothing as b"").
            from . import owed

            self._once, self._sticky, self._ack_pending = owed.load(self.session, _uplink_len)

    # -- state --------------------------------------------------------------------------------
    @property
    def joined(self):
        return self.session.active

    @property
    def dev_addr(self):
        return self.session.dev_addr

    def set_dr(self, dr):
        """Data rate for the next uplinks (ADR may change it again)."""
        if not self.region.uplink_dr(dr, self.session.uplink_dwell):
            raise MacError("data rate not usable for LoRa uplinks in this region")
        self.session.dr = dr
        self.session.save()

    def set_adr(self, enabled):
        self.session.adr = bool(enabled)
        self.session.save()

    def request_link_check(self):
        """Ask for a LinkCheckAns in the next uplink (result.link_check)."""
        mc = _mc()
        self._once.append(mc.encode(mc.LINK_CHECK, (), True))
        self._answers_dirty = True

    def request_device_time(self):
        """Ask for a DeviceTimeAns in the next uplink (result.device_time)."""
        mc = _mc()
        self._once.append(mc.encode(mc.DEVICE_TIME, (), True))
        self._answers_dirty = True

    def time_until_send_ms(self, dr=None):
        """ms until an uplink at ``dr`` (default: the session's) may start; 0 = now."""
        try:
            self._pick_channel(self.session.dr if dr is None else dr)
        except DutyCycleWait as e:
            return e.wait_ms
        return 0

    def time_until_join_ms(self):
        """ms until a Join-request may start (duty cycle and join back-off); 0 = now."""
        from .macjoin import pick_channel

        try:
            pick_channel(self)
        except DutyCycleWait as e:
            return e.wait_ms
        return 0

    # -- activation ---------------------------------------------------------------------------
    def activate_abp(self, dev_addr, nwk_skey, app_skey):
        """Use a provisioned ABP session. If the store already holds this very session, its
        counters continue (an ABP device must never restart FCntUp at 0)."""
        s = self.session
        same = s.nwk_skey == bytes(nwk_skey) and s.app_skey == bytes(app_skey)
        if not (s.mode == _ABP and s.dev_addr == dev_addr and same):
            s.reset_settings()
            s.start(_ABP, dev_addr, nwk_skey, app_skey)
            self._new_session()
        self._crypto = SessionCrypto(nwk_skey, app_skey, self._backend)
        self.duty.max_dcycle = s.max_dcycle

    def join_dr(self):
        """The data rate join() uses when given none (``macjoin.join_channels``: EU868 the
        fastest default one and, in turn, each slower one, alternately; US915 DR0 in each
        sub-band in turn, then DR4), indexed by the persisted DevNonce."""
        from .macjoin import join_dr  # only a joining boot loads macjoin.py and join.py

        return join_dr(self)

    def join(self, dr=None):
        """Send one Join-request and listen in both join windows; True when joined.
        ``dr`` None: ``join_dr()`` (alternating data rates).

        Raises DutyCycleWait when no default channel may send yet (nothing is sent then).
        """
        from . import unload
        from .macjoin import join

        joined = join(self, dr)
        if joined:  # a boot joins once at most: room for what the uplink needs
            unload("lorafield_node.macjoin")
            unload("lorafield_node.join")
        return joined

    def _new_session(self):
        # A new session has a new generation: the stored answers of the old one are void.
        self._once = []
        self._sticky = []
        self._ack_pending = False
        self._fpending = False
        self._answers_dirty = False
        self.duty.max_dcycle = self.session.max_dcycle

    def _save_answers(self):
        """Persist the MAC answers still owed and the pending ACK, if they changed (a node
        that deep-sleeps after the uplink must still send them next boot)."""
        if self._answers_dirty:
            from . import owed

            owed.save(self.session, self._once, self._sticky, self._ack_pending)
            self._answers_dirty = False

    # -- uplink -------------------------------------------------------------------------------
    def send(self, fport, payload, confirmed=False):
        """Send ``payload`` on ``fport`` (1..223) and run its receive windows; TxResult.

        Unconfirmed frames go out NbTrans times (fewer if a downlink arrives); confirmed ones
        until ACKed, at most max(NbTrans, confirmed_tries) times, waiting ACK_TIMEOUT and the
        duty cycle between them. Raises DutyCycleWait before sending anything when no channel
        may send yet; PayloadTooLarge when ``payload`` exceeds the data rate's maximum.
        """
        if fport is None or not 1 <= fport <= 223:
            raise MacError("FPort must be 1..223")
        return self._send(fport, payload, confirmed)

    def send_test(self, payload, confirmed=False):
        """Send on FPort 224, the certification test protocol's port (LoRaWAN 1.0.4 4.3.2;
        TS009): only the test application (testapp.py) does. Raises like send()."""
        return self._send(_FPORT_TEST, payload, confirmed)

    @property
    def owes_uplink(self):
        """True when the network waits for an uplink: the ACK of a confirmed downlink, or
        more downlinks announced with FPending (1.0.4 4.3.1.2 and 4.3.1.7)."""
        return self._ack_pending or self._fpending

    def flush(self):
        """Send an empty uplink (no FPort; FOpts with any MAC answers) when ``owes_uplink``
        (an FPort 0 frame of MAC answers when they are longer than FOpts holds),
        so a confirmed downlink is acknowledged, or pending downlinks fetched, now rather than
        with the next application uplink; TxResult, or None when nothing is owed.

        Class A leaves the moment of the ACK to the device (1.0.4 4.3.1.2: the next uplink
        carries it); the MAC cannot know whether the application will send again soon, so
        it does not do this by itself: an application that may sleep for long calls it
        before sleeping (the app framework does). Raises like send()."""
        if self._owed_len() > _FOPTS_MAX:
            return self._send(_FPORT_MAC, b"", False)
        if not self.owes_uplink:
            return None
        return self._send(None, b"", False)

    def _send(self, fport, payload, confirmed):
        s = self.session
        if not s.active or self._crypto is None:
            raise NotJoined("no session: join or activate_abp first")
        r = self.region
        self._adr_backoff()
        dr = s.dr
        dwell = s.uplink_dwell
        app_max = r.max_payload(dr, 0, dwell)
        if len(payload) > app_max:
            raise PayloadTooLarge(len(payload), app_max, dr)
        if fport and self._owed_len() > _FOPTS_MAX:
            # 1.0.4 section 5: answers that do not fit FOpts go in a frame of their own
            # (FPort 0) first; then the application's frame, when a channel is free.
            self._send(_FPORT_MAC, b"", False)
            result = self._send(fport, payload, confirmed)
            return result
        if fport == _FPORT_MAC:  # rare: a buffer of its own, the answers as FRMPayload
            buf = bytearray(r.max_payload(dr, 0, dwell))
            payload = bytes(memoryview(buf)[: self._pack_answers(buf)])
            nfo = 0
            took = len(payload)
        else:
            nfo = self._pack_answers(self._fopts)
            if len(payload) > r.max_payload(dr, nfo, dwell):
                nfo = 0  # MAC answers wait for a smaller uplink rather than lose the payload
            took = nfo
        ch = self._pick_channel(dr)
        fctrl = 0
        if s.adr:
            fctrl |= _FCTRL_ADR
            # ADR_ACK_CNT before this uplink: the uplinks already sent since the last downlink.
            cnt = s.adr_ack_cnt()
            if cnt >= _ADR_ACK_LIMIT:
                from .adr import ack_req

                if ack_req(cnt, dr, s.tx_power, r.default_dr_min, r.default_tx_power):
                    fctrl |= _FCTRL_ADR_ACK_REQ
        fcnt = s.take_fcnt_up()
        self._fpending = False  # this uplink opens the windows the network asked for
        if self._ack_pending:
            fctrl |= _FCTRL_ACK
            self._ack_pending = False
            self._answers_dirty = True
        mtype = _CONFIRMED_UP if confirmed else _UNCONFIRMED_UP
        fopts = bytes(self._fopts[:nfo]) if nfo else b""  # allocates only with MAC answers
        n = build_data_into(
            self._tx, self._crypto, mtype, s.dev_addr, fcnt, fctrl, fopts, fport, payload
        )
        if took and self._once_sent:  # only now: a DutyCycleWait above keeps them owed
            self._once = self._once[self._once_sent :]
            self._answers_dirty = True
        self.stats.uplinks += 1
        result = TxResult(fcnt)
        tries = s.nb_trans
        if confirmed and self.confirmed_tries > tries:
            tries = self.confirmed_tries
        while True:
            result.transmissions += 1
            got_downlink = self._exchange(n, ch, dr, result)
            if confirmed and result.acked:
                break
            if not confirmed and got_downlink:
                break
            if result.transmissions >= tries:
                break
            if confirmed:
                self._sleep_ms(_ACK_TIMEOUT_MS - 1000 + self._random(2001))
            ch = self._channel_when_free(dr)
        self._save_answers()
        return result

    def _exchange(self, n, ch, dr, result):
        """One transmission and its two windows; True if an authentic downlink came."""
        s = self.session
        r = self.region
        tx_end = self._send_frame(n, s.ch_freq[ch], dr, s.tx_power)
        d1 = s.rx1_delay * 1000000
        rx1_dr = r.rx1_dr(dr, s.rx1_dr_offset, s.downlink_dwell)
        rx1_freq = r.rx1_frequency(ch, s.ch_dl[ch])
        got = self._window(tx_end, d1, rx1_freq, rx1_dr)
        if got and self._receive(got, 1, result):
            return True
        got = self._window(tx_end, d1 + 1000000, s.rx2_freq, s.rx2_dr)
        return bool(got) and self._receive(got, 2, result)

    def _receive(self, length, window, result):
        """A frame was received: authenticate it and act on it (``macrx.receive``); True if
        it was ours and authentic. Only a boot that hears a frame loads macrx.py."""
        from . import unload
        from .macrx import receive

        ok = receive(self, length, window, result)
        # done with it for this frame: room for what the app does with the downlink (the
        # codec for a config command); a second frame in this boot loads them again
        for name in ("macrx", "phyrx", "maccmd"):
            unload("lorafield_node." + name)
        return ok

    def _owed_len(self):
        """Bytes of MAC answers owed (one-time and sticky)."""
        n = 0
        for cmd in self._once:
            n += len(cmd)
        for cmd in self._sticky:
            n += len(cmd)
        return n

    def _pack_answers(self, buf):
        """Copy the queued MAC answers that fit into ``buf`` (the FOpts buffer, or an FPort 0
        payload's); returns their length. ``_once_sent`` counts the one-time ones copied (they
        leave the queue once the frame is built; sticky ones stay until a downlink comes)."""
        p = 0
        room = len(buf)
        self._once_sent = 0
        for cmd in self._once:
            if p + len(cmd) > room:
                break
            buf[p : p + len(cmd)] = cmd
            p += len(cmd)
            self._once_sent += 1
        for cmd in self._sticky:
            if p + len(cmd) > room:
                break
            buf[p : p + len(cmd)] = cmd
            p += len(cmd)
        return p

    def _adr_backoff(self):
        s = self.session
        cnt = s.adr_ack_cnt()
        if not s.adr or cnt < _ADR_ACK_LIMIT:
            return  # no step before ADR_ACK_LIMIT + ADR_ACK_DELAY (adr.backoff_step)
        if cnt == self._adr_step_cnt:
            return  # this count's step is done (an attempt refused by the duty cycle retries)
        from .adr import STEP_CHANNELS, STEP_DR, STEP_POWER, backoff_step

        r = self.region
        step = backoff_step(cnt, s.dr, s.tx_power, r.default_dr_min, r.default_tx_power)
        self._adr_step_cnt = cnt
        if step == STEP_POWER:
            s.tx_power = r.default_tx_power
        elif step == STEP_DR:
            s.dr -= 1
        elif step == STEP_CHANNELS:
            s.default_channels()
        else:
            return
        s.save()

    # -- channels and duty cycle --------------------------------------------------------------
    def _pick_channel(self, dr):
        """A random enabled channel for ``dr`` that may send now (board randomness); raises
        DutyCycleWait with the shortest wait, or NoChannel."""
        s = self.session
        count = 0
        best = -1
        mask = s.ch_mask
        for i in range(len(s.ch_freq)):
            if not (mask >> i) & 1 or not s.ch_freq[i]:
                continue
            rng = s.ch_drange[i]
            if not (rng & 0x0F) <= dr <= (rng >> 4):
                continue
            wait = self.duty.wait_ms(s.ch_freq[i])
            if wait == 0:
                self._cands[count] = i
                count += 1
            elif wait > 0 and (best < 0 or wait < best):
                best = wait
        if count:
            return self._cands[self._random(count)]
        if best < 0:
            raise NoChannel("no enabled channel for DR%d" % dr)
        raise DutyCycleWait(best)

    def _channel_when_free(self, dr):
        while True:
            try:
                return self._pick_channel(dr)
            except DutyCycleWait as e:
                self._sleep_ms(e.wait_ms)

    def _random(self, n):
        """Uniform-enough 0..n-1 from the board's random source (n <= 65536)."""
        b = self._board.random_bytes(2)
        return (b[0] | (b[1] << 8)) % n

    # -- radio --------------------------------------------------------------------------------
    def _send_frame(self, n, freq, dr, tx_power, join=False):
        r = self.region
        sf, bw = r.dr_params(dr)
        radio = self.radio
        radio.set_frequency(freq)
        radio.set_modulation(sf, bw, _RX_CR, True, _PREAMBLE)
        radio.set_tx_power(r.tx_power_dbm(tx_power, self.session.max_eirp) - self.antenna_gain_db)
        tx_end = radio.transmit(memoryview(self._tx)[:n])
        self._tx_end_us = tx_end
        radio.sleep()
        self.stats.transmissions += 1
        self.duty.record(freq, (radio.airtime_us(n) + 999) // 1000, join)
        # Stored at once (a few ms of the >= 1 s before RX1): a deep sleep or reset after
        # this frame must still see the silence it started.
        self.session._put(_DUTY_KEY, self.duty.save(self._rtc_ms()))
        return tx_end

    def _rtc_ms(self):
        """The board's sleep-surviving ms (Board.rtc_ms), None where it has none."""
        rtc = getattr(self._board, "rtc_ms", None)
        return rtc() if rtc is not None else None

    def rx_timing(self, delay_us, dr):
        """(µs before the nominal instant the window opens, symbol timeout) for a window
        ``delay_us`` after the end of TX at ``dr``: the margin covers the clock error over the
        delay plus the wake-up latency on both sides, plus the symbols preamble detection needs."""
        sf, bw = self.region.dr_params(dr)
        margin = delay_us * self.clock_ppm // 1000000 + self.wakeup_us
        tsym = symbol_us(sf, bw)
        symbols = (2 * margin + tsym - 1) // tsym + _MIN_RX_SYMBOLS
        if symbols > 1023:
            symbols = 1023
        return margin, symbols

    def _window(self, tx_end, delay_us, freq, dr):
        """Open one receive window; the frame length (in radio.rx_buffer) or 0."""
        r = self.region
        if dr < 0 or not r.lora_dr(dr):
            return 0
        margin, symbols = self.rx_timing(delay_us, dr)
        clock = self._clock
        open_at = clock.ticks_add(tx_end, delay_us - margin)
        if clock.ticks_diff(open_at, clock.ticks_us()) < 0:
            return 0  # too late for this window (a long RX1 frame ran into RX2)
        sf, bw = r.dr_params(dr)
        radio = self.radio
        radio.set_frequency(freq)
        radio.set_modulation(sf, bw, _RX_CR, False, _PREAMBLE)
        self._sleep_until_us(open_at)
        n = radio.receive_single(symbols, True)
        radio.sleep()
        return n

    def _sleep_until_us(self, target):
        clock = self._clock
        while True:
            left = clock.ticks_diff(target, clock.ticks_us())
            if left <= 0:
                return
            if left > 3000:
                self._board.lightsleep((left - 2000) // 1000)
            else:
                clock.sleep_us(left)

    def _sleep_ms(self, ms):
        clock = self._clock
        self._sleep_until_us(clock.ticks_add(clock.ticks_us(), ms * 1000))
