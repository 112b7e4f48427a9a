"""LoRaWAN 1.0.4 Class A end-device MAC (EU868 tables from ``region``; others plug in there).

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


from . import owed
from .adr import STEP_CHANNELS, STEP_DR, STEP_POWER, ack_req, backoff_step
from .aes import new_aes
from .airtime import symbol_us
from .dutycycle import DutyCycle
from .phy import (
    CONFIRMED_DOWN,
    CONFIRMED_UP,
    FCTRL_ACK,
    FCTRL_ADR,
    FCTRL_ADR_ACK_REQ,
    UNCONFIRMED_DOWN,
    UNCONFIRMED_UP,
    FrameError,
    SessionCrypto,
    build_data_into,
    check_mic,
    decrypt_payload,
    fcnt32_from16,
    parse_data,
)
from .region import DR_KEEP, FSK, TX_POWER_KEEP, eu868
from .session import ABP, MAX_CHANNELS, OTAA, Session

_MIN_RX_SYMBOLS = const(6)  # symbols a window must last to detect a preamble (Semtech AN1200.24)
_RX_CR = const(5)
_PREAMBLE = const(8)
_ACK_TIMEOUT_MS = const(2000)  # 1.0.4 section 6 table 17: ACK_TIMEOUT 2 s +- 1 s (random)
_DUTY_KEY = "dc"  # store record of the duty-cycle silences (dutycycle.py)


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
    """An authentic downlink: ``fport`` None (no FRMPayload) or 0 (MAC only) or 1..255."""

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
        self.region = region if region is not None else eu868()
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
        self._cands = [0] * MAX_CHANNELS
        self._once = []  # encoded MAC answers/requests sent in the next uplink only
        self._sticky = []  # encoded sticky answers, repeated until a downlink arrives
        self._once_sent = 0
        self._adr_step_cnt = -1  # ADR_ACK_CNT whose backoff step was last taken
        self._ack_pending = False  # a confirmed downlink waits for our ACK bit
        self._fpending = False  # the last downlink announced more (FPending)
        self._answers_dirty = False  # the three above differ from the stored "ma" record
        self._tx_end_us = 0
        if self.session.active:
            # What a previous boot (deep sleep, reset) still owed the network.
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
        if not self.region.valid_dr(dr) or self.region.dr_sf[dr] == FSK:
            raise MacError("data rate not usable by a LoRa radio in this region")
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
        try:
            self._pick_join_frequency()
        except DutyCycleWait as e:
            return e.wait_ms
        return 0

    # -- activation ---------------------------------------------------------------------------
    def activate_abp(self, dev_addr, nwk_skey, app_skey):
        """Use a provisioned ABP session. If the store already holds this very session, its
        counters continue (an ABP device must never restart FCntUp at 0)."""
        s = self.session
        same = s.nwk_skey == bytes(nwk_skey) and s.app_skey == bytes(app_skey)
        if not (s.mode == ABP and s.dev_addr == dev_addr and same):
            s.reset_settings()
            s.start(ABP, dev_addr, nwk_skey, app_skey)
            self._new_session()
        self._crypto = SessionCrypto(nwk_skey, app_skey, self._backend)
        self.duty.max_dcycle = s.max_dcycle

    def join_dr(self):
        """The data rate join() uses when given none: attempts alternate between the fastest
        default data rate and, in turn, each slower one (EU868: DR5 DR4 DR5 DR3 DR5 DR2 DR5
        DR1 DR5 DR0, then again), so a node out of reach at SF7 finds the rate that reaches
        a gateway within ten attempts while half of them cost the least airtime (LoRaWAN
        1.0.4 section 7: join on a random default channel at varying data rates). The
        attempt number is the persisted DevNonce, so the sequence goes on across boots."""
        r = self.region
        hi = r.default_dr_max
        span = hi - r.default_dr_min
        n = self.session.dev_nonce
        if n % 2 == 0 or span <= 0:
            return hi
        return hi - 1 - (n // 2) % span

    def join(self, dr=None):
        """Send one Join-request and listen in both join windows; True when joined.
        ``dr`` None: ``join_dr()`` (alternating data rates).

        Raises DutyCycleWait when no default channel may send yet (nothing is sent then).
        """
        if self._app_aes is None or self._dev_eui is None or self._join_eui is None:
            raise MacError("OTAA needs dev_eui, join_eui and app_key")
        r = self.region
        if dr is None:
            dr = self.join_dr()
        if not 0 <= dr <= r.default_dr_max:
            raise MacError("join data rate outside the default channels' range")
        freq = self._pick_join_frequency()
        nonce = self.session.take_dev_nonce()
        from .join import build_join_request  # only a joining boot loads join.py

        req = build_join_request(self._app_aes, self._join_eui, self._dev_eui, nonce)
        n = len(req)
        self._tx[:n] = req
        self.stats.join_attempts += 1
        tx_end = self._send_frame(n, freq, dr, r.default_tx_power, True)
        d1 = 5000000  # JOIN_ACCEPT_DELAY1, 1.0.4 section 6 table 17
        got = self._window(tx_end, d1, freq, dr)
        if got and self._accept(got, nonce, dr):
            return True
        got = self._window(tx_end, d1 + 1000000, r.rx2_frequency, r.rx2_dr)
        return bool(got) and self._accept(got, nonce, dr)

    def _accept(self, length, nonce, dr):
        from .join import derive_session_keys, open_join_accept

        try:
            ja = open_join_accept(bytes(memoryview(self.radio.rx_buffer)[:length]), self._app_aes)
        except FrameError:
            self.stats.dropped_mic += 1
            return False
        nwk, app = derive_session_keys(self._app_aes, ja.join_nonce, ja.net_id, nonce)
        s = self.session
        r = self.region
        s.reset_settings()
        if r.rx1_dr(0, ja.rx1_dr_offset) >= 0:
            s.rx1_dr_offset = ja.rx1_dr_offset
        if r.valid_dr(ja.rx2_dr) and r.dr_sf[ja.rx2_dr] != FSK:
            s.rx2_dr = ja.rx2_dr
        s.rx1_delay = ja.rx1_delay
        s.dr = dr
        if ja.cflist_type == 0:
            base = len(r.default_channels)
            for i in range(len(ja.channels)):
                f = ja.channels[i]
                if f and base + i < MAX_CHANNELS and r.valid_frequency(f) and r.subband(f) >= 0:
                    s.ch_freq[base + i] = f
                    s.ch_dl[base + i] = f
                    s.ch_drange[base + i] = r.default_dr_min | (r.default_dr_max << 4)
                    s.ch_mask |= 1 << (base + i)
        s.start(OTAA, ja.dev_addr, nwk, app)
        self._crypto = SessionCrypto(nwk, app, self._backend)
        self._new_session()
        return True

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

    @property
    def owes_uplink(self):
        """True when the network waits for an uplink: the ACK of a confirmed downlink, or
        more downlinks announced with FPending (1.0.4 4.3.1.2 and 4.3.1.7)."""
        return self._ack_pending or self._fpending

    def flush(self):
        """Send an empty uplink (no FPort; FOpts with any MAC answers) when ``owes_uplink``,
        so a confirmed downlink is acknowledged, or pending downlinks fetched, now rather than
        with the next application uplink; TxResult, or None when nothing is owed.

        Class A leaves the moment of the ACK to the device (1.0.4 4.3.1.2: the next uplink
        carries it); the MAC cannot know whether the application will send again soon, so
        it does not do this by itself: an application that may sleep for long calls it
        before sleeping (the app framework does). Raises like send()."""
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
        app_max = r.max_app_payload[dr]
        if len(payload) > app_max:
            raise PayloadTooLarge(len(payload), app_max, dr)
        nfo = self._build_fopts()
        if len(payload) > r.max_payload(dr, nfo):
            nfo = 0  # MAC answers wait for a smaller uplink rather than lose the payload
        ch = self._pick_channel(dr)
        fctrl = 0
        if s.adr:
            fctrl |= FCTRL_ADR
            # ADR_ACK_CNT before this uplink: the uplinks already sent since the last downlink.
            if ack_req(s.adr_ack_cnt(), dr, s.tx_power, r.default_dr_min, r.default_tx_power):
                fctrl |= FCTRL_ADR_ACK_REQ
        fcnt = s.take_fcnt_up()
        self._fpending = False  # this uplink opens the windows the network asked for
        if self._ack_pending:
            fctrl |= FCTRL_ACK
            self._ack_pending = False
            self._answers_dirty = True
        mtype = CONFIRMED_UP if confirmed else UNCONFIRMED_UP
        fopts = bytes(self._fopts[:nfo]) if nfo else b""  # allocates only with MAC answers
        n = build_data_into(
            self._tx, self._crypto, mtype, s.dev_addr, fcnt, fctrl, fopts, fport, payload
        )
        if nfo and self._once_sent:
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
        rx1_dr = r.rx1_dr(dr, s.rx1_dr_offset)
        got = self._window(tx_end, d1, s.ch_dl[ch], rx1_dr)
        if got and self._downlink(got, 1, result):
            return True
        got = self._window(tx_end, d1 + 1000000, s.rx2_freq, s.rx2_dr)
        return bool(got) and self._downlink(got, 2, result)

    def _build_fopts(self):
        """Copy queued MAC answers that fit into the FOpts buffer; returns their length."""
        p = 0
        buf = self._fopts
        self._once_sent = 0
        for cmd in self._once:
            if p + len(cmd) > 15:
                break
            buf[p : p + len(cmd)] = cmd
            p += len(cmd)
            self._once_sent += 1
        for cmd in self._sticky:
            if p + len(cmd) > 15:
                break
            buf[p : p + len(cmd)] = cmd
            p += len(cmd)
        return p

    def _adr_backoff(self):
        s = self.session
        if not s.adr:
            return
        r = self.region
        cnt = s.adr_ack_cnt()
        if cnt == self._adr_step_cnt:
            return  # this count's step is done (an attempt refused by the duty cycle retries)
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
        for i in range(MAX_CHANNELS):
            if not (s.ch_mask >> i) & 1 or not s.ch_freq[i]:
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

    def _pick_join_frequency(self):
        """A random default channel that may send now (joins use only those, RP002 2.4.2)."""
        chans = self.region.default_channels
        count = 0
        best = -1
        for i in range(len(chans)):
            wait = self.duty.wait_ms(chans[i], True)
            if wait == 0:
                self._cands[count] = chans[i]
                count += 1
            elif wait > 0 and (best < 0 or wait < best):
                best = wait
        if count:
            return self._cands[self._random(count)]
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
        radio.set_tx_power(r.tx_power_dbm(tx_power) - self.antenna_gain_db)
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
        if dr < 0 or not r.valid_dr(dr) or r.dr_sf[dr] == FSK:
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

    # -- downlink -----------------------------------------------------------------------------
    def _downlink(self, length, window, result):
        """Authenticate and act on a received data frame; True if it was ours and authentic."""
        s = self.session
        raw = bytes(memoryview(self.radio.rx_buffer)[:length])
        try:
            frame = parse_data(raw)
        except FrameError:
            self.stats.dropped_malformed += 1
            return False
        if frame.mtype != UNCONFIRMED_DOWN and frame.mtype != CONFIRMED_DOWN:
            self.stats.dropped_malformed += 1
            return False
        if frame.dev_addr != s.dev_addr:
            self.stats.dropped_addr += 1
            return False
        crypto = self._crypto
        try:
            fcnt = fcnt32_from16(s.fcnt_down, frame.fcnt)
        except FrameError:
            self.stats.dropped_replay += 1
            return False
        if not check_mic(raw, crypto, fcnt):
            old = fcnt - 0x10000
            if 0 <= old < s.fcnt_down and check_mic(raw, crypto, old):
                self.stats.dropped_replay += 1  # authentic but already seen: a replay
            else:
                self.stats.dropped_mic += 1
            return False
        decrypt_payload(frame, crypto, fcnt)
        s.downlink_received(fcnt)
        self.stats.downlinks += 1
        if self._sticky:
            self._sticky = []
            self._answers_dirty = True
        if frame.mtype == CONFIRMED_DOWN:
            self._ack_pending = True
            self._answers_dirty = True
        if frame.fport == 0:
            self._mac_commands(frame.payload, result)
        elif frame.fopts:
            self._mac_commands(frame.fopts, result)
        dl = Downlink(
            frame.fport,
            frame.payload if frame.fport else b"",
            fcnt,
            window,
            self.radio.rssi,
            self.radio.snr,
            frame.mtype == CONFIRMED_DOWN,
            frame.ack,
            frame.fpending,
        )
        result.downlink = dl
        result.fpending = frame.fpending
        self._fpending = frame.fpending
        if frame.ack:
            result.acked = True
        if frame.fport and self.on_downlink is not None:
            self.on_downlink(dl)
        return True

    # -- MAC commands (1.0.4 section 5, RP002 2.4) ---------------------------------------------
    def _mac_commands(self, data, result):
        mc = _mc()
        try:
            cmds = mc.parse_commands(data, False)
        except mc.MacCommandError as e:
            cmds = list(e.parsed)  # act on the commands before the unknown one (section 5)
        i = 0
        while i < len(cmds):
            cid, f = cmds[i]
            if cid == mc.LINK_ADR:
                j = i
                while j < len(cmds) and cmds[j][0] == mc.LINK_ADR:
                    j += 1
                self._link_adr(cmds[i:j])
                i = j
                continue
            self._command(cid, f, result)
            i += 1

    def _answer(self, cid, fields):
        mc = _mc()
        cmd = mc.encode(cid, fields, True)
        self._answers_dirty = True
        if cid in mc.STICKY:
            self._sticky.append(cmd)
        else:
            self._once.append(cmd)

    def _link_adr(self, block):
        """A contiguous block of LinkADRReq (1.0.4 5.3): masks applied in order, DR, power
        and NbTrans from the last; all or nothing; one LinkADRAns per request."""
        mc = _mc()
        s = self.session
        r = self.region
        defined = s.defined_mask()
        mask = s.ch_mask
        ch_ok = True
        for _, f in block:
            new = r.apply_ch_mask(mask, f[2], f[3], defined)
            if new < 0:
                ch_ok = False
            else:
                mask = new
        dr, power, _, _, nb = block[-1][1]
        if dr == DR_KEEP:
            dr = s.dr
        dr_ok = r.valid_dr(dr) and r.dr_sf[dr] != FSK and self._dr_on_mask(dr, mask)
        if power == TX_POWER_KEEP:
            power = s.tx_power
        power_ok = r.tx_power_dbm(power) >= 0
        if ch_ok and dr_ok and power_ok:
            s.ch_mask = mask
            s.dr = dr
            s.tx_power = power
            if nb:  # NbTrans 0: keep the current value
                s.nb_trans = nb
            s.save()
        for _ in block:
            self._answer(mc.LINK_ADR, (power_ok, dr_ok, ch_ok))

    def _dr_on_mask(self, dr, mask):
        s = self.session
        for i in range(MAX_CHANNELS):
            rng = s.ch_drange[i]
            if (mask >> i) & 1 and s.ch_freq[i] and (rng & 0x0F) <= dr <= (rng >> 4):
                return True
        return False

    def _command(self, cid, f, result):
        mc = _mc()
        s = self.session
        r = self.region
        if cid == mc.LINK_CHECK:
            result.link_check = f
        elif cid == mc.DEVICE_TIME:
            result.device_time = f
        elif cid == mc.DUTY_CYCLE:
            s.max_dcycle = f[0]
            self.duty.max_dcycle = f[0]
            s.save()
            self._answer(mc.DUTY_CYCLE, ())
        elif cid == mc.RX_PARAM_SETUP:
            off_ok = r.rx1_dr(0, f[0]) >= 0
            dr_ok = r.valid_dr(f[1]) and r.dr_sf[f[1]] != FSK
            fr_ok = r.valid_frequency(f[2])
            if off_ok and dr_ok and fr_ok:
                s.rx1_dr_offset, s.rx2_dr, s.rx2_freq = f
                s.save()
            self._answer(mc.RX_PARAM_SETUP, (off_ok, dr_ok, fr_ok))
        elif cid == mc.DEV_STATUS:
            margin = int(self.radio.snr)
            margin = -32 if margin < -32 else (31 if margin > 31 else margin)
            self._answer(mc.DEV_STATUS, (self._battery_level(), margin))
        elif cid == mc.NEW_CHANNEL:
            self._new_channel(*f)
        elif cid == mc.RX_TIMING_SETUP:
            s.rx1_delay = f[0] or 1
            s.save()
            self._answer(mc.RX_TIMING_SETUP, ())
        elif cid == mc.DL_CHANNEL:
            idx, freq = f
            exists = idx < MAX_CHANNELS and s.ch_freq[idx] != 0
            fr_ok = r.valid_frequency(freq)
            if exists and fr_ok:
                s.ch_dl[idx] = freq
                s.save()
            self._answer(mc.DL_CHANNEL, (exists, fr_ok))
        # TxParamSetupReq is not implemented in EU868 (RP002 2.4.9): no answer, as specified.

    def _new_channel(self, idx, freq, min_dr, max_dr):
        mc = _mc()
        s = self.session
        r = self.region
        if idx < len(r.default_channels) or idx >= MAX_CHANNELS:
            self._answer(mc.NEW_CHANNEL, (False, False))  # default channels are fixed
            return
        if freq == 0:  # deletes the channel (RP002 2.4.8)
            s.ch_freq[idx] = 0
            s.ch_dl[idx] = 0
            s.ch_drange[idx] = 0
            s.ch_mask &= ~(1 << idx)
            s.save()
            self._answer(mc.NEW_CHANNEL, (True, True))
            return
        fr_ok = r.valid_frequency(freq) and r.subband(freq) >= 0
        dr_ok = min_dr <= max_dr and r.valid_dr(max_dr)
        if fr_ok and dr_ok:
            s.ch_freq[idx] = freq
            s.ch_dl[idx] = freq
            s.ch_drange[idx] = min_dr | (max_dr << 4)
            s.ch_mask |= 1 << idx
            s.save()
        self._answer(mc.NEW_CHANNEL, (dr_ok, fr_ok))

    def _battery_level(self):
        """DevStatusAns battery: 0 external power, 1..254 level, 255 unknown (1.0.4 5.5)."""
        if self.battery is not None:
            return self.battery()
        try:
            mv = self._board.battery_mv()
        except (NotImplementedError, OSError):
            return 255
        if mv is None:
            return 255
        # Li-ion cell: 3.0 V empty .. 4.2 V full, linear (the board may pass its own curve).
        level = 1 + (mv - 3000) * 253 // 1200
        return 1 if level < 1 else (254 if level > 254 else level)
