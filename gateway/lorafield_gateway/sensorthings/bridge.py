"""`lorafield sensorthings bridge`: uplinks from a network server's MQTT integration
(ChirpStack v4, The Things Stack v3) as Observations on a SensorThings server, as a service.

A source is a URL:

    chirpstack-mqtt://[user@]host[:port]/APPLICATION_ID   application/{id}/device/+/event/up
    ttn-mqtt://[user@]host[:port]/APP@TENANT              v3/{app}@{tenant}/devices/+/up

(`chirpstack-mqtts://`, `ttn-mqtts://`: TLS >= 1.2, the broker verified against the system
CA store; ports 1883 and 8883 unless given; `+` as the application: every one the user may
read; The Things Stack's user defaults to APP@TENANT). The password comes from a file, never
from the URL or the command line, and is never logged.

Receiving (one thread per source, paho-mqtt, MQTT 3.1.1): a persistent session
(clean_session False, a client id derived from the source URL, or the one given) subscribed
with QoS 1, so the broker keeps what arrives while the bridge is away. Each message is read
(mqtt_source: one code path with the local network server's readings, mapping.observations)
and its Observations committed to the durable outbox (outbox.Outbox, SQLite) *before* the
message is acknowledged (paho's manual acknowledgement): a crash between the two leaves the
message with the broker, which sends it again. When the outbox cannot be written the message
is not acknowledged, the connection is closed, and after a pause a new one makes the broker
send again everything not acknowledged, in order; nothing is taken out of order meanwhile.
A message that cannot be used (not JSON, not an uplink, no decoded object, decoder errors, an
fPort that carries no lorafield uplink, a bad time) is counted by reason (`uplink.<reason>`),
logged on one line and acknowledged: sending it again would change nothing. An uplink of a
device that has no Datastream yet (not in the fleet, or `lorafield sensorthings sync` not run)
is counted (`uplink.unknown_device`) and logged, and its Observations wait in the outbox.

Delivering (one thread): `Outbox.deliver` (at least once, in order per Datastream, a lost
answer looked up before sending again) whenever something was queued; on `StaUnavailable`
(unreachable, 5xx, timeouts) everything is kept and the next try waits 1 s doubling to 60 s,
with jitter. The Datastream ids are read again every 5 minutes, and every 30 s while rows wait
for one.

Never twice: the outbox ignores a key already queued, and remembers what already left it
(its `sent` table, forgotten after `remember_s`, 7 days by default: a message the broker
sends again after our acknowledgement was lost, or a replay, is recognised by its
Observations' keys, DevEUI/quantity/time, and not queued again). One bridge at a time uses an
outbox file (a lock beside it): two deliverers on one queue could send a row twice.
"""

import hashlib
import logging
import os
import random
import sqlite3
import ssl
import stat
import threading
import time
import urllib.parse
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from ..credentials import CREDENTIALS_ENV, CredentialError, read_secret
from .client import StaError, StaRejected, StaUnavailable
from .mapping import observations
from .mqtt_source import PARSERS, UplinkError
from .outbox import Outbox, OutboxBusy, deliverer_lock
from .sync import datastream_ids

log = logging.getLogger("lorafield.sensorthings.bridge")

SCHEMES = {
    "chirpstack-mqtt": ("chirpstack", False),
    "chirpstack-mqtts": ("chirpstack", True),
    "ttn-mqtt": ("ttn", False),
    "ttn-mqtts": ("ttn", True),
}
FORMS = (
    "chirpstack-mqtt://[user@]host[:port]/APPLICATION_ID or"
    " ttn-mqtt://[user@]host[:port]/APP@TENANT (mqtts for TLS)"
)

NOT_REFUSALS = ("uplink.unknown_device", "uplink.no_datastream", "uplink.duplicate")


class BridgeError(Exception):
    """A source, password or outbox the bridge cannot start with: one line."""


@dataclass(frozen=True)
class Source:
    kind: str  # chirpstack | ttn
    host: str
    port: int
    tls: bool
    username: str | None
    application: str  # ChirpStack application id; APP@TENANT on The Things Stack; or "+"
    url: str  # without a password: the source's name in the outbox and in the log

    @property
    def topic(self):
        if self.kind == "chirpstack":
            return f"application/{self.application}/device/+/event/up"
        return f"v3/{self.application}/devices/+/up"

    def parse(self, payload, now_us=None):
        return PARSERS[self.kind](payload, now_us)


def parse_source(url):
    """The Source of a URL (BridgeError naming the expected forms if it is not one)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BridgeError(f"--from {url!r}: {exc}; expected {FORMS}") from None
    if parts.scheme not in SCHEMES:
        raise BridgeError(f"--from: unknown source {parts.scheme or url!r}: expected {FORMS}")
    kind, tls = SCHEMES[parts.scheme]
    if parts.password is not None:
        raise BridgeError("--from: no password in the URL: give it with --mqtt-password-file")
    host = parts.hostname
    application = urllib.parse.unquote(parts.path.strip("/"))
    if not host or not application or parts.query or parts.fragment:
        raise BridgeError(f"--from {url!r}: expected {FORMS}")
    if "/" in application or "#" in application or ("+" in application and application != "+"):
        raise BridgeError(f"--from: {application!r} is not an application (one topic level)")
    if kind == "ttn" and application != "+" and "@" not in application:
        raise BridgeError(
            f"--from: {application!r}: give APP@TENANT (on The Things Network the tenant is"
            " ttn: my-app@ttn)"
        )
    username = urllib.parse.unquote(parts.username) if parts.username else None
    given_user = username
    if username is None and kind == "ttn" and application != "+":
        username = application
    port = port or (8883 if tls else 1883)
    netloc = f"[{host}]" if ":" in host else host
    user = f"{urllib.parse.quote(given_user, safe='@')}@" if given_user else ""
    canonical = f"{parts.scheme}://{user}{netloc}:{port}/{application}"
    return Source(kind, host, port, tls, username, application, canonical)


def secret_path(value):
    """A secret option's file: a bare name is a systemd credential when
    $CREDENTIALS_DIRECTORY holds it (LoadCredential=), else a path."""
    directory = os.environ.get(CREDENTIALS_ENV)
    if "/" not in value and directory and os.path.exists(os.path.join(directory, value)):
        return os.path.join(directory, value)
    return value


def read_password(value):
    """The MQTT password from its file (0600: refused when group or others may read it)."""
    path = secret_path(value)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise BridgeError(f"--mqtt-password-file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BridgeError(
            f"--mqtt-password-file {path}: readable by others (mode {stat.S_IMODE(mode):04o});"
            f" chmod 600 {path}"
        )
    try:
        return read_secret(path)
    except CredentialError as exc:
        raise BridgeError(f"--mqtt-password-file: {exc}") from None


def client_id_for(sources):
    """A stable MQTT client id (the persistent session's name) for a set of sources."""
    digest = hashlib.sha256("\n".join(sorted(s.url for s in sources)).encode()).hexdigest()
    return f"lorafield-sta-{digest[:8]}"


class _Backoff:
    """1 s doubling to `high` s, each wait drawn between half and all of it (jitter)."""

    def __init__(self, low, high, rng=None):
        self.low, self.high = low, high
        self.failures = 0
        self._random = rng or random.Random()

    def next(self):
        self.failures += 1
        delay = min(self.high, self.low * 2 ** (self.failures - 1))
        return delay * self._random.uniform(0.5, 1.0)

    def reset(self):
        self.failures = 0


class _Limiter:
    """At most `per_minute` log lines per key a minute (the rest are only counted)."""

    def __init__(self, per_minute=20):
        self.per_minute = per_minute
        self._seen = {}

    def allow(self, key):
        minute = int(time.monotonic() // 60)
        start, n = self._seen.get(key, (minute, 0))
        if start != minute:
            start, n = minute, 0
        self._seen[key] = (start, n + 1)
        if n + 1 == self.per_minute + 1:
            log.warning("%s: more this minute are counted, not logged", key)
        return n < self.per_minute


class _MqttClient(mqtt.Client):
    """paho's client, keeping the error of the last failed connection attempt."""

    last_error = None

    def reconnect(self):
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


def _describe(error, source):
    where = f"{source.host}:{source.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"{where}: the broker's certificate does not verify: {error.verify_message}"
    if isinstance(error, ConnectionRefusedError):
        return f"{where}: connection refused (is the broker running, is this its port?)"
    if isinstance(error, TimeoutError):
        return f"{where}: no answer (timeout)"
    if isinstance(error, OSError) and error.strerror:
        return f"{where}: {error.strerror}"
    return f"{where}: {error or 'connection failed'}"


class _Receiver:
    """One source's MQTT client and the thread that runs it."""

    def __init__(self, bridge, source, password):
        self.bridge = bridge
        self.source = source
        self.problem = None
        self.connected = threading.Event()
        self._refusing = False  # the outbox failed: nothing more is taken until reconnected
        self._outbox = None  # this thread's connection
        self._warned_qos0 = False
        self._unknown_logged = {}
        self._pause = _Backoff(1, 60)  # between connections after an outbox failure
        client_id = bridge.client_id
        if len(bridge.sources) > 1:
            client_id += f"-{bridge.sources.index(source)}"
        client = _MqttClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if source.username:
            client.username_pw_set(source.username, password)
        elif password:
            raise BridgeError(f"{source.url}: a password but no user name in the URL")
        if source.tls:
            context = bridge.tls_context or ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            client.tls_set_context(context)
        client.reconnect_delay_set(*bridge.reconnect_s)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client
        self.thread = threading.Thread(
            target=self._run, name=f"bridge-mqtt-{source.kind}", daemon=True
        )

    # -- the thread -------------------------------------------------------------------------
    def _run(self):
        stopping = self.bridge.stopping
        self._outbox = Outbox(self.bridge.outbox_path)
        try:
            while not stopping.is_set():
                self.client.connect_async(
                    self.source.host, self.source.port, keepalive=self.bridge.keepalive_s
                )
                self.client.loop_forever(retry_first_connection=True)
                # Back here only after a disconnect() of ours: stopping, or the outbox failed.
                if not stopping.is_set():
                    stopping.wait(self._pause.next())
        except Exception:  # noqa: BLE001 - the thread must say why it ended
            log.exception("%s: the MQTT thread stopped", self.source.url)
        finally:
            self._outbox.close()

    def stop(self):
        try:
            self.client.disconnect()
        except (OSError, ValueError, RuntimeError):
            pass

    # -- paho callbacks (this thread) -------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._failed(
                f"{self.source.host}:{self.source.port}: the broker refused: {reason_code}"
            )
            return
        if self.bridge.stopping.is_set():
            client.disconnect()
            return
        self._refusing = False
        client.last_error = None
        if self.problem is not None:
            log.info("%s: connection restored (was: %s)", self.source.url, self.problem)
        self.problem = None
        client.subscribe(self.source.topic, qos=1)
        session = "resumed" if flags.session_present else "new (nothing was kept for us)"
        log.info("%s: connected, %s, session %s", self.source.url, self.source.topic, session)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        for code in reason_codes:
            if code.is_failure:
                self._failed(f"the broker refused the subscription to {self.source.topic}")
            elif code.value == 0:
                log.warning(
                    "%s: the broker grants QoS 0 only: uplinks published while the bridge is"
                    " away are lost",
                    self.source.url,
                )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        stopping = self.bridge.stopping.is_set()
        if self.connected.is_set() and not stopping:
            log.warning("%s: disconnected (%s); reconnecting", self.source.url, reason_code)
        elif not stopping and client.last_error is not None:
            self._failed(_describe(client.last_error, self.source))
        self.connected.clear()

    def _on_connect_fail(self, client, userdata):
        if self.bridge.stopping.is_set():
            client.disconnect()  # ends paho's retry loop (a stop() during an attempt)
            return
        self._failed(_describe(client.last_error, self.source))

    def _failed(self, problem):
        self.bridge.count("mqtt.connect_failed")
        if problem != self.problem:
            log.error("%s: cannot connect: %s (retrying)", self.source.url, problem)
        self.problem = problem
        self.client.last_error = None

    def _on_message(self, client, userdata, message):
        if self._refusing:
            return  # not acknowledged: the broker sends it again after the reconnection
        try:
            self._take(message)
        except (sqlite3.Error, OSError) as exc:
            log.error(
                "%s: cannot store an uplink in the outbox (%s): not acknowledged; the broker"
                " keeps it and sends it again after a reconnection",
                self.source.url,
                exc,
            )
            self._refusing = True
            client.disconnect()
            return
        self._pause.reset()  # the outbox takes messages again
        if message.qos > 0:
            client.ack(message.mid, message.qos)
        elif not self._warned_qos0:
            self._warned_qos0 = True
            log.warning(
                "%s: uplinks arrive with QoS 0 (ChirpStack: [integration.mqtt] qos=1): those"
                " published while the bridge is away are lost",
                self.source.url,
            )

    def _take(self, message):
        """Commit the message's Observations (or its count as unusable) to the outbox."""
        outbox = self._outbox
        outbox.count("uplink.received")
        try:
            reading, radio = self.source.parse(message.payload)
        except UplinkError as exc:
            outbox.count(f"uplink.{exc.reason}")
            if self.bridge.limiter.allow(exc.reason):
                log.warning("%s: uplink refused on %s: %s", self.source.url, message.topic, exc)
            return
        eui = reading["dev_eui"]
        items = [(eui, q, body) for q, body in observations(reading, radio)]
        if not items:
            outbox.count("uplink.no_observations")
            if self.bridge.limiter.allow("no_observations"):
                log.warning(
                    "%s: uplink of %s (%s) carries no quantity we publish",
                    self.source.url,
                    eui,
                    reading["kind"],
                )
            return
        added = outbox.add(items, self.source.url, reading["time_us"])
        if added:
            outbox.count("uplink.queued", added)
        else:  # every key queued or sent already: the broker or the platform sent it again
            outbox.count("uplink.duplicate")
        self._check_device(outbox, eui, items)
        if added:
            self.bridge.wake.set()

    def _check_device(self, outbox, eui, items):
        known = self.bridge.datastreams
        if known is None:
            return  # not read from the server yet
        missing = [q for _, q, _ in items if (eui, q) not in known]
        if not missing:
            return
        unknown = not any(key[0] == eui for key in known)
        outbox.count("uplink.unknown_device" if unknown else "uplink.no_datastream")
        now = time.monotonic()
        if now - self._unknown_logged.get(eui, -1e9) < 3600:
            return
        self._unknown_logged[eui] = now
        if unknown:
            log.warning(
                "%s: device %s has no Thing on the server (not in the fleet, or run lorafield"
                " sensorthings sync): its Observations wait in the outbox",
                self.source.url,
                eui,
            )
        else:
            log.warning(
                "%s: device %s has no Datastream for %s: its Observations wait in the outbox",
                self.source.url,
                eui,
                ", ".join(missing),
            )


class Bridge:
    """Sources -> outbox -> SensorThings server. `start()`, `stop()`, or `run(stop_event)`."""

    def __init__(
        self,
        sources,
        client,
        outbox_path,
        *,
        passwords=None,
        data_array=True,
        client_id=None,
        tls_context=None,
        keepalive_s=60,
        refresh_s=300.0,
        waiting_refresh_s=30.0,
        backoff_s=(1.0, 60.0),
        reconnect_s=(1, 60),
        remember_s=7 * 86400,
        pass_rows=1000,
    ):
        self.sources = list(sources)
        self.client = client
        self.outbox_path = str(outbox_path)
        self.data_array = data_array
        self.client_id = client_id or client_id_for(self.sources)
        self.tls_context = tls_context
        self.keepalive_s = keepalive_s
        self.refresh_s = refresh_s
        self.waiting_refresh_s = waiting_refresh_s
        self.backoff_s = backoff_s
        self.reconnect_s = reconnect_s
        self.remember_s = remember_s
        self.pass_rows = pass_rows
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.limiter = _Limiter()
        self.datastreams = None  # {(dev_eui, quantity): id}, replaced whole by the deliverer
        self.server_problem = None
        self._lock_file = None
        self._baseline = {}
        passwords = list(passwords or [None] * len(self.sources))
        self._receivers = [
            _Receiver(self, s, p) for s, p in zip(self.sources, passwords, strict=True)
        ]
        self._deliverer = threading.Thread(target=self._deliver, name="bridge-deliver", daemon=True)

    # -- life -------------------------------------------------------------------------------
    def start(self):
        self._lock()
        outbox = Outbox(self.outbox_path)  # creates the file and its tables
        try:
            self._baseline = outbox.counters()
        finally:
            outbox.close()
        self._deliverer.start()
        for receiver in self._receivers:
            receiver.thread.start()
        return self

    def _lock(self):
        try:
            self._lock_file = deliverer_lock(self.outbox_path)
        except OutboxBusy as exc:
            raise BridgeError(f"{exc}: give this bridge its own --outbox") from None

    def stop(self, timeout_s=40.0):
        self.stopping.set()
        self.wake.set()
        for receiver in self._receivers:
            receiver.stop()
        deadline = time.monotonic() + timeout_s
        for thread in [r.thread for r in self._receivers] + [self._deliverer]:
            if thread.ident is not None:  # started
                thread.join(max(0.1, deadline - time.monotonic()))
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def dead(self):
        """The threads that stopped (empty while all run)."""
        threads = [r.thread for r in self._receivers] + [self._deliverer]
        return [t.name for t in threads if not t.is_alive()]

    def run(self, stop_event, stats_every_s=60.0, notifier=None):
        """Run until `stop_event` is set: a stats line every `stats_every_s`, and with a
        notifier (sdnotify.Notifier) READY=1, STATUS, watchdog pings while every thread runs."""
        self.start()
        if notifier is not None:
            notifier.ready(self.status())
        watchdog_s = ((notifier.watchdog_us or 0) / 2e6) if notifier is not None else 0
        next_stats = time.monotonic() + stats_every_s
        reported = []
        try:
            while not stop_event.wait(min(1.0, watchdog_s or 1.0)):
                dead = self.dead()
                if dead and dead != reported:
                    log.error("thread stopped: %s; the watchdog is no longer fed", ", ".join(dead))
                    if notifier is not None:
                        notifier.notify(STATUS=f"thread stopped: {', '.join(dead)}")
                reported = dead
                if not dead and watchdog_s:
                    notifier.watchdog()
                if time.monotonic() >= next_stats:
                    next_stats += stats_every_s
                    log.info("%s", self._stats_or_why())
                    if notifier is not None:
                        notifier.notify(STATUS=self.status())
        finally:
            if notifier is not None:
                notifier.stopping()
            self.stop()
            log.info("stopped: %s", self._stats_or_why())

    # -- counting ---------------------------------------------------------------------------
    def count(self, reason, n=1):
        """A counter from any thread (its own short connection)."""
        try:
            db = sqlite3.connect(self.outbox_path, timeout=10, isolation_level=None)
            try:
                db.execute(
                    "INSERT INTO counters VALUES (?, ?)"
                    " ON CONFLICT (reason) DO UPDATE SET n = n + ?",
                    (reason, n, n),
                )
            finally:
                db.close()
        except sqlite3.Error as exc:
            log.debug("counter %s not written: %s", reason, exc)

    def stats(self):
        """This run's counters (since start) and the rows waiting in the outbox."""
        db = sqlite3.connect(self.outbox_path, timeout=10)
        try:
            now = dict(db.execute("SELECT reason, n FROM counters"))
            waiting = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        finally:
            db.close()
        out = {k: n - self._baseline.get(k, 0) for k, n in now.items()}
        out = {k: n for k, n in out.items() if n}
        out["waiting"] = waiting
        return out

    def stats_line(self):
        s = self.stats()
        refused = {
            k.split(".", 1)[1]: n
            for k, n in sorted(s.items())
            if k.startswith("uplink.")
            and k not in NOT_REFUSALS
            and k not in ("uplink.received", "uplink.queued", "uplink.no_observations")
        }
        refused_text = ", ".join(f"{k} {n}" for k, n in refused.items()) or "none"
        return (
            f"received {s.get('uplink.received', 0)} uplinks, queued"
            f" {s.get('uplink.queued', 0)} observations, delivered {s.get('delivered', 0)}"
            f" (already there {s.get('already', 0)}), unusable uplinks: {refused_text},"
            f" unknown device {s.get('uplink.unknown_device', 0)}, sent again"
            f" {s.get('uplink.duplicate', 0)}, rejected by the server {s.get('rejected', 0)},"
            f" waiting {s['waiting']}"
        )

    def _stats_or_why(self):
        try:
            return self.stats_line()
        except sqlite3.Error as exc:
            return f"no stats: outbox {self.outbox_path}: {exc}"

    def status(self):
        """systemd STATUS: the counts, and the current connection problems."""
        server = urllib.parse.urlsplit(self.client.base)
        text = f"{len(self.sources)} source(s) -> {server.hostname}{server.path}"
        for receiver in self._receivers:
            if receiver.problem:
                text += f"; {receiver.source.url}: {receiver.problem}"
        if self.server_problem:
            text += f"; server: {self.server_problem}"
        try:
            s = self.stats()
            text += f"; delivered {s.get('delivered', 0)}, waiting {s['waiting']}"
        except sqlite3.Error:
            pass
        return text

    # -- delivering (its own thread) --------------------------------------------------------
    def _deliver(self):
        outbox = Outbox(self.outbox_path)
        backoff = _Backoff(*self.backoff_s)
        refresh_at = 0.0
        prune_at = 0.0
        try:
            while not self.stopping.is_set():
                self.wake.clear()
                now = time.monotonic()
                try:
                    if self.datastreams is None or now >= refresh_at:
                        self.datastreams = datastream_ids(self.client)
                        refresh_at = now + self.refresh_s
                    stats = outbox.deliver(
                        self.client,
                        self.datastreams,
                        data_array=self.data_array,
                        max_rows=self.pass_rows,
                    )
                except StaUnavailable as exc:
                    self._server_failed("unavailable", exc, outbox, backoff)
                    continue
                except StaRejected as exc:
                    self._server_failed("refused", exc, outbox, backoff)
                    continue
                except StaError as exc:
                    self._server_failed("garbage", exc, outbox, backoff)
                    continue
                except (sqlite3.Error, OSError, ValueError, KeyError, TypeError) as exc:
                    self._server_failed("error", exc, outbox, backoff)
                    continue
                if self.server_problem is not None:
                    log.info(
                        "SensorThings server answers again (after %d failed tries): %d"
                        " observation(s) waiting",
                        backoff.failures,
                        outbox.waiting(),
                    )
                self.server_problem = None
                backoff.reset()
                if now >= prune_at:
                    prune_at = now + 3600
                    self._forget(outbox)
                if stats["delivered"] >= self.pass_rows:
                    continue  # more to send: no pause
                wait = max(0.0, refresh_at - time.monotonic())
                if stats["no_datastream"]:
                    refresh_at = min(refresh_at, now + self.waiting_refresh_s)
                    wait = min(wait, self.waiting_refresh_s)
                self.wake.wait(wait)
        except Exception:  # noqa: BLE001 - the thread must say why it ended
            log.exception("the delivery thread stopped")
        finally:
            outbox.close()

    def _server_failed(self, kind, exc, outbox, backoff):
        delay = backoff.next()
        outbox.count(f"server.{kind}")
        problem = f"{kind}: {exc}"
        if problem != self.server_problem:
            what = {
                "unavailable": "SensorThings server unavailable",
                "refused": "SensorThings server refused a request",
                "garbage": "SensorThings server answer unusable",
                "error": "delivery failed",
            }[kind]
            log.warning(
                "%s: %s; %d observation(s) kept in the outbox, next try in %.1f s",
                what,
                exc,
                outbox.waiting(),
                delay,
            )
        self.server_problem = problem
        self.stopping.wait(delay)

    def _forget(self, outbox):
        outbox.forget_sent(self.remember_s)


__all__ = ["Bridge", "BridgeError", "Source", "parse_source", "read_password"]
