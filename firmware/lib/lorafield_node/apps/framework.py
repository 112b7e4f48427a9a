"""The application framework: one wake cycle of a sensor node, shared by every app.

    node = Node(board, settings, App.DEFAULTS)   # per boot: watchdog, store, clock, config
    app = App(node, settings)
    run(node, app)                               # never returns on a device

A boot runs the app's ``wake()`` (read the sensor, decide, send), applies the config
downlinks that arrived (``interval_s``, ``thresholds``, ``reboot``, ``request_status``,
``rejoin``; persisted in the store under "cfg" as a codec ``config`` payload), sends a
``status`` heartbeat when one is due, flushes what the network waits for (an ACK, FPending:
``Mac.flush``), then sleeps: deep sleep for the cycle apps (RAM lost,
the next boot rebuilds everything from the store) or light sleep for apps that sample every
few seconds (``app.CONTINUOUS``).

Watchdog: started at boot and fed around every wait; every sleep handed to the MAC goes
through ``_Fed``, which cuts it into pieces shorter than the watchdog timeout, so no call
blocks longer than the watchdog allows. Sensor failures arrive as ``SensorError`` and are
reported as status error codes; no reading is invented for them.

Time: ticks restart at every boot, so the node keeps "node seconds" (since installation)
in the store ("clk"): the value at the planned wake-up is written before each deep sleep.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import struct

from .. import board as contract
from .. import unload

FW_VERSION = "0.1.0"
WDT_MS = const(30_000)
_FEED_CHUNK_MS = const(10_000)  # longest single light sleep (a third of the watchdog)
_JOIN_TRIES = const(3)  # per attempt: a boot, or every _JOIN_RETRY_S in a light-sleep loop
_JOIN_RETRY_S = const(900)
_MAX_DUTY_WAIT_MS = const(120_000)  # longer duty-cycle waits drop the uplink (reported)
_CONFIG_PORT = const(30)
_FLUSH_MAX = const(3)  # empty uplinks per wake for ACKs / FPending
_CLK = "clk"  # node seconds, next status due, flags, errors pending, errors reported
_CLK_FMT = "<IIBHH"
_F_REJOIN = const(1)
_F_STATUS = const(2)

RESET_NAMES = {
    contract.PWRON_RESET: "power_on",
    contract.HARD_RESET: "hard",
    contract.WDT_RESET: "watchdog",
    contract.DEEPSLEEP_RESET: "deep_sleep",
    contract.SOFT_RESET: "soft",
}


def _codec():
    """The shared codec, imported where it is used and never kept in this module's globals:
    a boot unloads it before the MAC loads (Node.send), so the two are seldom in the heap
    at once; it loads again for a status or a config downlink (firmware/README.md, Heap)."""
    import lorafield_codec

    return lorafield_codec


def _mask(codes):
    if not codes:  # the usual case: no codec needed
        return 0
    from lorafield_codec.schema import ERROR_CODES

    m = 0
    for code in codes:
        if code in ERROR_CODES:
            m |= 1 << ERROR_CODES.index(code)
    return m


def _codes(mask):
    if not mask:
        return []
    from lorafield_codec.schema import ERROR_CODES

    return [ERROR_CODES[i] for i in range(len(ERROR_CODES)) if mask >> i & 1]


class _Fed:
    """The board as the MAC sees it: light sleeps are cut into pieces with a watchdog feed
    between them. Everything else is the board's own method."""

    def __init__(self, board, wdt):
        self._b = board
        self._wdt = wdt
        self.name = board.name
        # a third of the watchdog's timeout (RP2040's is at most 8.3 s)
        chunk = getattr(wdt, "timeout_ms", WDT_MS) // 3
        self._chunk = chunk if chunk < _FEED_CHUNK_MS else _FEED_CHUNK_MS

    def lightsleep(self, ms):
        while ms > 0:
            step = ms if ms < self._chunk else self._chunk
            self._wdt.feed()
            self._b.lightsleep(step)
            ms -= step
        self._wdt.feed()

    def radio(self):
        return self._b.radio()

    def radio_dio1(self):
        return self._b.radio_dio1()

    def clock(self):
        return self._b.clock()

    def rtc_ms(self):
        rtc = getattr(self._b, "rtc_ms", None)  # duck-typed boards may lack it
        return rtc() if rtc is not None else None

    def store(self):
        return self._b.store()

    def random_bytes(self, n):
        return self._b.random_bytes(n)

    def battery_mv(self):
        return self._b.battery_mv()


class Config:
    """interval_s and thresholds: deploy-time defaults, overridden by config downlinks."""

    def __init__(self, store, defaults):
        self._store = store
        self.interval_s = defaults.get("interval_s", 900)
        self.thresholds = dict(defaults.get("thresholds", {}))
        raw = store.get("cfg")
        if raw is not None:
            codec = _codec()
            try:
                _, data = codec.decode(_CONFIG_PORT, raw)
                self._merge(data)
            except codec.CodecError:
                pass  # a stored config we cannot read: the defaults stand

    def _merge(self, data):
        changed = False
        if "interval_s" in data and data["interval_s"] != self.interval_s:
            self.interval_s = data["interval_s"]
            changed = True
        for key, value in data.get("thresholds", {}).items():
            if self.thresholds.get(key) != value:
                self.thresholds[key] = value
                changed = True
        return changed

    def apply(self, data):
        """Merge a decoded config downlink and persist it; True if anything changed."""
        if not self._merge(data):
            return False
        saved = {"interval_s": self.interval_s}
        if self.thresholds:
            saved["thresholds"] = self.thresholds
        self._store.put("cfg", _codec().encode("config", saved))
        return True


class Node:
    """One boot of a node: board, watchdog, store, config, clock, and the LoRaWAN MAC
    (built on first use, so a wake with nothing to send never touches the radio)."""

    def __init__(self, board, settings, defaults, mac=None):
        self.board = board
        self.settings = settings
        self.clock = board.clock()
        self.wdt = board.watchdog(settings.get("watchdog_ms", WDT_MS))
        self.store = board.store()
        self.cause = board.reset_cause()
        self.config = Config(self.store, defaults)
        # None: the heartbeat follows interval_s (parking); else its own period (1 day)
        self._status_s = settings.get("status_s", defaults.get("status_s", 86400))
        self._boot_ms = self.clock.ticks_ms()
        raw = self.store.get(_CLK)
        pending = reported = 0
        if raw is not None and len(raw) == struct.calcsize(_CLK_FMT):
            self._base_s, self._status_due, self.flags, pending, reported = struct.unpack(
                _CLK_FMT, raw
            )
        else:
            self._base_s, self._status_due, self.flags = 0, 0, 0
        self._mac = mac
        self._join_retry_s = None  # node seconds before which no new join is tried
        self.max_wait_ms = _MAX_DUTY_WAIT_MS
        self._downlinks = []
        # Error codes not yet reported, and those the last status carried (a lasting failure
        # is repeated at heartbeats only); both survive deep sleep in "clk".
        self.errors = _codes(pending)
        self._reported = _codes(reported)
        self.uplinks = 0
        self.reboot = False
        # Every boot that is not a timed wake reports itself (reset cause) at once.
        self._announce = self.cause != contract.DEEPSLEEP_RESET

    @property
    def status_s(self):
        return self.config.interval_s if self._status_s is None else self._status_s

    # -- time ------------------------------------------------------------------------------
    def now_s(self):
        c = self.clock
        return self._base_s + c.ticks_diff(c.ticks_ms(), self._boot_ms) // 1000

    def rebase(self, now_s):
        """Set the node seconds of now: a wake at a time the plan did not know (a ULP wake),
        told by whoever counted the sleep."""
        self._base_s += now_s - self.now_s()

    def status_in_s(self):
        """Seconds until the status heartbeat is due (<= 0: due now or overdue)."""
        return self._status_due - self.now_s()

    def feed(self):
        self.wdt.feed()

    def lightsleep(self, ms):
        """Wait cheaply (RAM kept), feeding the watchdog."""
        _Fed(self.board, self.wdt).lightsleep(ms)

    # -- errors ----------------------------------------------------------------------------
    def error(self, code):
        if code not in self.errors:
            self.errors.append(code)

    # -- radio -----------------------------------------------------------------------------
    def mac(self):
        if self._mac is None:
            from ..mac import Mac
            from ..region import region

            s = self.settings
            # the device config's region (lorafield_node.settings; EU868 unless told) and the
            # channels a fresh session starts with (sub-bands, or a single-channel setup)
            plan = region(s.get("region", "EU868"), s.get("sub_bands"), s.get("channels"))
            self._mac = Mac(
                _Fed(self.board, self.wdt),
                region=plan,
                store=self.store,
                dev_eui=s.get("dev_eui"),
                join_eui=s.get("join_eui"),
                app_key=s.get("app_key"),
                fcnt_reserve=1,  # the counter is stored before every uplink: no skips, no reuse
                on_downlink=self._downlinks.append,
            )
            if s.get("dev_addr") is not None:
                self._mac.activate_abp(s["dev_addr"], s["nwk_skey"], s["app_skey"])
            self._fixed_dr(self._mac)
        else:
            self._mac.on_downlink = self._downlinks.append
        return self._mac

    def _fixed_dr(self, mac):
        """A data rate fixed at deploy time ("dr"), for nodes without ADR."""
        dr = self.settings.get("dr")
        if dr is not None and mac.joined and mac.session.dr != dr:
            mac.set_dr(dr)

    def _joined(self, mac):
        rejoin = self.flags & _F_REJOIN and self.settings.get("dev_addr") is None
        if mac.joined and not rejoin:
            return True
        if self.settings.get("dev_addr") is not None:
            return mac.joined  # ABP: nothing to join
        if self._join_retry_s is not None and self.now_s() < self._join_retry_s:
            return mac.joined  # failed recently: the next boot (or, for parking, 15 min) retries
        for _ in range(_JOIN_TRIES):
            try:
                if mac.join():
                    self._set_flag(_F_REJOIN, False)
                    self._fixed_dr(mac)
                    return True
            except Exception as e:  # DutyCycleWait and radio trouble alike
                wait = getattr(e, "wait_ms", None)
                if wait is None or wait > _MAX_DUTY_WAIT_MS:
                    break
                self.lightsleep(wait)
        self._join_retry_s = self.now_s() + _JOIN_RETRY_S
        self.error("join")
        return mac.joined

    def send(self, kind, data):
        """Encode with the shared codec and send unconfirmed. Returns the TxResult, or None
        if nothing went out. A duty-cycle wait up to ``max_wait_ms`` (2 min) is slept out
        (fed light sleep); a longer one is an error ("radio"), except with max_wait_ms 0:
        then the caller keeps the data and tries again at its next wake (parking samples
        on instead of waiting)."""
        codec = _codec()
        payload = codec.encode(kind, data)
        fport = codec.fport_of(kind)
        codec = None  # no reference left here, so the unload below frees it
        unload("lorafield_codec")  # room for the MAC, the heap's largest user
        mac = self.mac()
        if not self._joined(mac):
            return None
        while True:
            try:
                result = mac.send(fport, payload)
                self.uplinks += 1
                return result
            except Exception as e:
                wait = getattr(e, "wait_ms", None)
                if wait is not None and self.max_wait_ms == 0:
                    return None
                if wait is None or wait > self.max_wait_ms:
                    self.error("radio")
                    return None
                self.lightsleep(wait)

    # -- downlinks and status --------------------------------------------------------------
    def _set_flag(self, flag, on):
        self.flags = (self.flags | flag) if on else (self.flags & ~flag)

    def apply_downlinks(self):
        """Apply the config commands received so far; True if the config changed."""
        changed = False
        while self._downlinks:
            dl = self._downlinks.pop(0)
            if dl.fport != _CONFIG_PORT:
                continue
            codec = _codec()
            try:
                kind, data = codec.decode(_CONFIG_PORT, bytes(dl.payload))
            except codec.CodecError:
                self.error("downlink")
                continue
            if kind != "config":
                continue
            if self.config.apply(data):
                changed = True
            if changed or data.get("request_status"):  # a status confirms the new config
                self._set_flag(_F_STATUS, True)
            if data.get("rejoin"):
                self._set_flag(_F_REJOIN, True)
            if data.get("reboot"):
                self.reboot = True
        return changed

    def status_due(self):
        if self._announce or self.flags & _F_STATUS or self.now_s() >= self._status_due:
            return True
        # A new failure is reported at once, a lasting one at the heartbeats.
        return any(code not in self._reported for code in self.errors)

    def send_status(self):
        mv = self.board.battery_mv()
        low = self.config.thresholds.get("low_battery_mv")
        if low is not None and mv < low:
            self.error("low_battery")
        data = {
            "battery_mv": mv,
            "uptime_s": self.now_s(),
            "interval_s": self.config.interval_s,
        }
        if self._announce:
            data["reset_cause"] = RESET_NAMES.get(self.cause, "other")
            data["fw"] = FW_VERSION
        if self.errors:
            data["errors"] = self.errors[:8]
        if self.send("status", data) is not None:
            self._announce = False
            self._set_flag(_F_STATUS, False)
            self._reported = self.errors
            self.errors = []
            self._status_due = self.now_s() + self.status_s

    def finish(self):
        """End of a wake: apply downlinks (a request_status or a rejoin answered now)."""
        self.apply_downlinks()
        if self.flags & _F_REJOIN and self._mac is not None:
            self._joined(self._mac)
        if self.status_due():
            self.send_status()
            self.apply_downlinks()
        self.flush()

    def flush(self):
        """Before sleeping, give the network the uplink it waits for: the ACK of a confirmed
        downlink no uplink of this wake carried, or more downlinks announced with FPending
        (Mac.flush: an empty frame). At most _FLUSH_MAX frames; duty-cycle waits as send()."""
        mac = self._mac
        for _ in range(_FLUSH_MAX):
            if mac is None or not mac.joined or not getattr(mac, "owes_uplink", False):
                return
            while True:
                try:
                    mac.flush()
                    break
                except Exception as e:
                    wait = getattr(e, "wait_ms", None)
                    if wait is None or wait > _MAX_DUTY_WAIT_MS:
                        return  # the ACK rides on the next wake's uplink (it is stored)
                    self.lightsleep(wait)
            self.apply_downlinks()

    # -- sleep -----------------------------------------------------------------------------
    def save_clock(self, sleep_ms):
        self.store.put(
            _CLK,
            struct.pack(
                _CLK_FMT,
                self.now_s() + (sleep_ms + 999) // 1000,
                self._status_due,
                self.flags,
                _mask(self.errors),
                _mask(self._reported),
            ),
        )

    def deepsleep(self, ms):
        """Persist the clock and flags, put the radio to sleep, and sleep (never returns)."""
        if self.reboot:
            ms = 100  # a fresh interpreter: the reboot the network asked for
        plan = getattr(self.board, "planned_sleep_ms", None)  # a TPL5110 sets its own period
        self.save_clock(plan(ms) if plan is not None else ms)
        if self._mac is not None:
            self._mac.radio.sleep()
        self.wdt.feed()
        self.board.deepsleep(ms)


def _certification(node, cycles):
    """The LoRaWAN certification test app (TS009, ../testapp.py) for this boot, imported only
    where the device setting ``certification`` is on; False when it has been switched off."""
    from ..testapp import run as test_mode

    return test_mode(node, FW_VERSION, cycles)


def run(node, app, cycles=None):
    """The wake loop. Cycle apps do one wake and deep sleep; continuous apps wake every
    app.sleep_ms() in light sleep and deep sleep only to reboot. `cycles` bounds the loop
    (tests under the VM); None runs forever. With ``certification`` on, the test app's
    test mode takes the boot instead (the app pauses) until FPort 224 is disabled."""
    if node.settings.get("certification"):
        if _certification(node, cycles):
            return
        unload("lorafield_node.testapp")
    n = 0
    while cycles is None or n < cycles:
        n += 1
        node.feed()
        app.wake()
        node.finish()
        ms = app.sleep_ms()
        if not app.CONTINUOUS or node.reboot:
            node.deepsleep(ms)
            return
        node.lightsleep(ms)
