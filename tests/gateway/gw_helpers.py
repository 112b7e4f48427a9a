"""Shared helpers: emulated nodes on the chip model, MQTT subscribers, UDP servers, configs."""

import collections
import socket
import ssl
import threading
import time

import paho.mqtt.client as mqtt
from lorafield_gateway import config as gwconfig
from lorafield_hw import sx1276_registers as r
from lorafield_node.phy import UNCONFIRMED_UP, SessionCrypto, build_data
from lorafield_tools import mqtt_broker

# The radio tests' register-level set-up (tests/hardware/radio; on sys.path via conftest.py).
from radio_helpers import configure, load_fifo, read_packet

# Tests parametrized over brokers: mosquitto where installed, amqtt always (the fallback runs
# even where mosquitto exists; without amqtt those tests fail with the install hint).
BROKERS_TO_TEST = [kind for kind in ("mosquitto",) if mqtt_broker.mosquitto_binary()] + ["amqtt"]


def wait(predicate, timeout=10.0, poll_s=0.02):
    """Poll `predicate` until it holds or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return predicate()


KEY = bytes(range(16))
CRYPTO = SessionCrypto(KEY, KEY)


def uplink(dev_addr, fcnt, payload=None):
    """A real LoRaWAN unconfirmed data frame (firmware frame builder)."""
    body = payload if payload is not None else fcnt.to_bytes(4, "big")
    return build_data(CRYPTO, UNCONFIRMED_UP, dev_addr, fcnt, fport=1, payload=body)


def dev_fcnt(phy):
    """(DevAddr, FCnt16) of a data frame."""
    return int.from_bytes(phy[1:5], "little"), int.from_bytes(phy[6:8], "little")


def send(chip, payload):
    """Load the FIFO, clear the IRQ flags, start TX (settings from radio_helpers.configure)."""
    load_fifo(chip, payload)
    chip.write_register(r.REG_IRQ_FLAGS, 0xFF)
    chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_TX)


class ClassANode:
    """A node on the chip model: sends an uplink, then listens in RX1 (uplink end + 1 s,
    inverted IQ, RX single with a symbol timeout) as a LoRaWAN Class A device does."""

    def __init__(self, scheduler, chip, rx1_delay_us=1_000_000, margin_us=2_000):
        self.scheduler = scheduler
        self.chip = chip
        self.rx1_delay_us = rx1_delay_us
        self.margin_us = margin_us
        self.uplink_end_us = None
        self.received = []  # (time_us, payload)
        self.rx_timeouts = 0

    def run(self, phy, sf=7, rx_sf=None, rx_frequency_hz=868_100_000):
        chip = self.chip
        configure(chip, sf=sf)
        send(chip, phy)
        while not chip.read_register(r.REG_IRQ_FLAGS) & r.IRQ_TX_DONE:
            self.scheduler.advance(100)
        self.uplink_end_us = chip.mode_changed_us
        configure(chip, sf=rx_sf or sf, frequency_hz=rx_frequency_hz, iq_rx_inverted=True)
        chip.write_register(r.REG_SYMB_TIMEOUT_LSB, 16)
        chip.write_register(r.REG_IRQ_FLAGS, 0xFF)
        self.scheduler.advance(
            self.uplink_end_us + self.rx1_delay_us - self.margin_us - self.scheduler.now_us
        )
        chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_RX_SINGLE)
        while True:
            flags = chip.read_register(r.REG_IRQ_FLAGS)
            if flags & r.IRQ_RX_DONE:
                self.received.append((self.scheduler.now_us, read_packet(chip)))
                return
            if flags & r.IRQ_RX_TIMEOUT:
                self.rx_timeouts += 1
                return
            self.scheduler.advance(200)


class Subscriber:
    """An MQTT client with a persistent session (QoS 1) that records every message."""

    def __init__(self, port, topic, client_id="test-subscriber", tls_context=None, login=None):
        self.messages = collections.deque()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        if tls_context is not None:
            self.client.tls_set_context(tls_context)
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, u, f, rc, p: (c.subscribe(topic, qos=1), None)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(5), "subscription not acknowledged"

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(list(self.messages)):
                return True
            time.sleep(0.02)
        return predicate(list(self.messages))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class UdpServer:
    """A Semtech UDP server on loopback: answers PUSH_DATA / PULL_DATA, records datagrams."""

    def __init__(self, ack=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.ack = ack
        self.received = collections.deque()
        self.pull_address = None
        self._running = True
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self):
        while self._running:
            try:
                data, address = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.received.append(data)
            if len(data) >= 4 and data[0] == 2:
                if data[3] == 0 and self.ack:
                    self.sock.sendto(data[:3] + b"\x01", address)
                elif data[3] == 2:
                    self.pull_address = address
                    self.sock.sendto(data[:3] + b"\x04", address)

    def send_down(self, data):
        self.sock.sendto(data, self.pull_address)

    def close(self):
        self._running = False
        self._thread.join()
        self.sock.close()


def make_config(tmp_path, **sections):
    """A Config with the queue under tmp_path and the given sections' overrides."""
    data = {"gateway": {"state_dir": str(tmp_path / "state"), "stats_interval_s": 1}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return gwconfig.from_dict(data)


class TcpLink:
    """A TCP relay on loopback in front of `target_port` whose link can be cut: `cut()`
    closes every relayed connection (both ends) and the listening socket, so connecting is
    refused; `heal()` listens on the same port again. To a client this is what a broker
    restart looks like, while the broker and its other clients stay up."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = None
        self._lock = threading.Lock()
        self._pairs = set()
        self._listener = None
        self.heal()

    def heal(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(pair, src, dst), daemon=True).start()

    def _pump(self, pair, src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        self._close(pair)  # one side gone (EOF, reset, cut): the other side sees it too

    def _close(self, pair):
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close(pair)

    def close(self):
        self.cut()


class TlsServer:
    """Accepts TLS connections with `issued`'s certificate, answers nothing, and hangs up after
    the first byte with no TLS alert or close_notify (the handshake is the test)."""

    def __init__(self, issued):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(issued.cert, issued.key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._main, daemon=True).start()

    def _main(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    def close(self):
        self.sock.close()
