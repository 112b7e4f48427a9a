"""ChirpStack v4 over MQTT (paho-mqtt 2.x, MQTT 3.1.1).

Uplinks: each queued frame is published as `gw.UplinkFrame` on ``.../event/up`` with QoS 1
and removed from this forwarder's queue only when its PUBACK arrives (paho's `on_publish`
for QoS 1). At most ``max_inflight`` are unacknowledged; after a reconnect everything still
queued is published again from the oldest, so delivery is at least once and in order per
device. ``.../state/conn`` carries a retained `gw.ConnState` (ONLINE on connect, OFFLINE as
the last will). ``.../command/down`` brings `gw.DownlinkFrame`s: items are tried in order
until one is accepted, and a `gw.DownlinkTxAck` (one status per item, IGNORED after the one
that went) is published on ``.../event/ack``. Malformed commands are counted and dropped.

paho calls `on_publish` while holding its own message lock, so the callbacks only hand
message ids to this forwarder's thread, which does all the queue work.

With ``tls = true`` the connection is TLS >= 1.2 with the broker verified (lorafield_gateway.tls).
A failed attempt (refused, a certificate problem, the broker refusing our certificate or
password) leaves everything queued; paho retries with a doubling wait up to
``reconnect_max_s``, and the reason is one line in the log, in `problem` (the service's
systemd STATUS) and counted (``mqtt.connect_failed``).
"""

import collections
import logging
import random
import socket
import threading

import paho.mqtt.client as mqtt

from .. import tls
from ..chirpstack import mapping, topics
from ..config import ConfigError
from ..credentials import CredentialError, read_secret
from .base import Forwarder

log = logging.getLogger("lorafield.gateway.chirpstack")


class _Client(mqtt.Client):
    """paho's client, keeping the error of the last failed connection attempt (paho's
    network thread retries and drops it) and warning before each attempt that skips
    verification."""

    insecure = False
    last_error = None
    answered = False  # a CONNACK came in the current connection attempt

    def reconnect(self):
        self.answered = False
        if self.insecure:
            log.warning(
                "connecting WITHOUT verifying the broker's certificate"
                " (chirpstack.tls_insecure_skip_verify = true): anyone on the path can read"
                " and change this traffic"
            )
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


class ChirpstackForwarder(Forwarder):
    name = "chirpstack"

    def __init__(self, service, config):
        super().__init__(service)
        self.config = config  # config.ChirpstackSection
        self.gateway_id = service.config.gateway.id
        prefix = config.topic_prefix
        self.topic_up = topics.event(prefix, self.gateway_id, "up")
        self.topic_stats = topics.event(prefix, self.gateway_id, "stats")
        self.topic_ack = topics.event(prefix, self.gateway_id, "ack")
        self.topic_conn = topics.state_conn(prefix, self.gateway_id)
        self.topic_down = topics.command_down(prefix, self.gateway_id)
        self._acked_mids = collections.deque()
        self._commands = collections.deque()
        self._connected = threading.Event()
        self._generation = 0  # bumped on every (re)connection
        self._random = random.Random()
        self.problem = None  # why the last connection attempt failed, until one succeeds
        self.client = self._client()

    def _client(self):
        cfg = self.config
        client = connect_client(cfg, f"lorafield-gateway-{self.gateway_id}")
        client.on_log = self._on_log
        client.on_connect_fail = self._on_connect_fail
        offline = mapping.marshal(mapping.conn_state(self.gateway_id, False), cfg.json)
        client.will_set(self.topic_conn, offline, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=cfg.reconnect_max_s)
        client.max_inflight_messages_set(cfg.max_inflight + 10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # -- paho callbacks (paho's network thread) ---------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.client.answered = True
        if reason_code.is_failure:
            self._failed(f"{self.config.host}:{self.config.port}: broker refused: {reason_code}")
            return
        self.client.last_error = None
        if self.problem is not None:
            self.log.info("connection restored (was: %s)", self.problem)
        self.problem = None
        # Subscribe before announcing ONLINE: whoever sees ONLINE can send commands.
        client.subscribe(self.topic_down, qos=1)
        online = mapping.marshal(mapping.conn_state(self.gateway_id, True), self.config.json)
        client.publish(self.topic_conn, online, qos=1, retain=True)
        self._generation += 1
        self._connected.set()
        self.stats.add("mqtt.connected")
        self.log.info("connected to %s:%d", self.config.host, self.config.port)
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if self._connected.is_set():
            self.log.warning("disconnected from the broker: %s", reason_code)
            self.stats.add("mqtt.disconnected")
        elif not self.stopping and not self.client.answered:
            # Connected at TCP/TLS level, then dropped before CONNACK: with TLS 1.3 the
            # broker's refusal of our certificate arrives here.
            error = self.client.last_error
            self._failed(
                tls.describe(error, self.config)
                if error
                else tls.closed_before_connack(self.config)
            )
        self._connected.clear()
        self._wake.set()

    def _on_connect_fail(self, client, userdata):
        error = self.client.last_error
        self._failed(tls.describe(error, self.config) if error else "connection failed")

    def _on_log(self, client, userdata, level, text):
        # paho reports a read that failed (a TLS alert, a reset) only in its log.
        if level == mqtt.MQTT_LOG_ERR and "socket" in text:
            self.client.last_error = text

    def _failed(self, problem):
        """A connection attempt failed: one log line per new reason, counted, in `problem`."""
        self.stats.add("mqtt.connect_failed")
        if problem != self.problem:
            self.log.error("cannot connect: %s (frames stay queued; retrying)", problem)
        self.problem = problem
        self.client.last_error = None

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self._acked_mids.append(mid)
        self._wake.set()

    def _on_message(self, client, userdata, message):
        self._commands.append(bytes(message.payload))
        self._wake.set()

    # -- the forwarder thread ---------------------------------------------------------------
    def run(self):
        cfg = self.config
        self.client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self.client.loop_start()
        inflight = {}  # mid -> queue id
        last_sent = 0
        generation = None
        try:
            while not self.stopping:
                self.wait(0.5)
                while self._commands:
                    self._handle_command(self._commands.popleft())
                acked = []
                while self._acked_mids:
                    queue_id = inflight.pop(self._acked_mids.popleft(), None)
                    if queue_id is not None:
                        acked.append(queue_id)
                if acked:
                    self.queue.ack(self.name, acked)
                    self.stats.add(f"forwarded.{self.name}", len(acked))
                if not self._connected.is_set():
                    continue
                if generation != self._generation:  # new connection: resend from the oldest
                    generation = self._generation
                    inflight.clear()
                    last_sent = 0
                room = cfg.max_inflight - len(inflight)
                if room <= 0:
                    continue
                for entry in self.queue.peek(self.name, room, after_id=last_sent):
                    payload = self._uplink(entry.record)
                    info = self.client.publish(self.topic_up, payload, qos=1)
                    if info.rc != mqtt.MQTT_ERR_SUCCESS:
                        break  # not connected any more: resent after the reconnect
                    inflight[info.mid] = entry.id
                    last_sent = entry.id
        finally:
            self.client.loop_stop()

    def _uplink(self, record):
        # uplink_id only correlates log lines in ChirpStack: random, as its forwarders do.
        frame = mapping.uplink_frame(record, self.gateway_id, self._random.getrandbits(32))
        return mapping.marshal(frame, self.config.json)

    def stop(self):
        """Announce OFFLINE (retained) while the network loop still runs, then stop."""
        try:
            if self._connected.is_set():
                offline = mapping.conn_state(self.gateway_id, False)
                info = self.client.publish(
                    self.topic_conn, mapping.marshal(offline, self.config.json), qos=1, retain=True
                )
                info.wait_for_publish(1)
            self._connected.clear()  # a requested disconnection is not worth a warning
            self.client.disconnect()
        except (RuntimeError, ValueError, OSError):
            pass
        super().stop()

    def _handle_command(self, payload):
        try:
            downlink = mapping.unmarshal(mapping.gw.DownlinkFrame, payload, self.config.json)
            if not downlink.items:
                raise mapping.MappingError("DownlinkFrame without items")
        except mapping.MappingError as exc:
            self.stats.add("rejected.mqtt_command")
            self.log.warning("command/down rejected: %s", exc)
            return
        self.stats.add("downlink.requested")
        statuses = []
        for index, item in enumerate(downlink.items):
            try:
                request = mapping.tx_request(item, tag=("chirpstack", downlink.downlink_id, index))
            except mapping.MappingError as exc:
                reason = str(exc)
                statuses.append("GPS_UNLOCKED" if reason == "GPS_UNLOCKED" else "INTERNAL_ERROR")
                self.log.warning("downlink %d item %d: %s", downlink.downlink_id, index, reason)
                continue
            status = self.service.schedule(request)
            statuses.append(status)
            if status == "OK":
                break
        statuses += ["IGNORED"] * (len(downlink.items) - len(statuses))
        ack = mapping.tx_ack(self.gateway_id, downlink.downlink_id, statuses)
        self.client.publish(self.topic_ack, mapping.marshal(ack, self.config.json), qos=1)

    def send_stats(self, counts, wall_us):
        if not self._connected.is_set():
            return
        metadata = {
            "queued": self.queue.depth(self.name),
            "dropped": self.queue.dropped(self.name),
        }
        stats = mapping.gateway_stats(self.gateway_id, wall_us, counts, metadata)
        self.client.publish(self.topic_stats, mapping.marshal(stats, self.config.json), qos=1)


def connect_client(section, client_id):
    """A paho client for `section` (config.ChirpstackSection): credentials and TLS set, not
    connected. Unusable files and secrets are ConfigErrors naming the key."""
    client = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.on_socket_open = _no_delay
    password = section.password or None
    if section.password_file:
        try:
            password = read_secret(section.password_file)
        except CredentialError as exc:
            raise ConfigError(f"chirpstack.password_file: {exc}") from None
    if section.username:
        client.username_pw_set(section.username, password)
    if section.tls:
        client.tls_set_context(tls.client_context(section))
        client.insecure = section.tls_insecure_skip_verify
    return client


def _no_delay(client, userdata, sock):
    """Send each small MQTT packet at once (no Nagle): a PUBLISH or a downlink's TX ack
    must not wait for the TCP acknowledgement of the one before (up to 40 ms on Linux)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass
