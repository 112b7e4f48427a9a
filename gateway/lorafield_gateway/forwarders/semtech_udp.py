"""Semtech UDP packet forwarder protocol v2 over two UDP sockets, as the reference
forwarder: "up" (PUSH_DATA -> PUSH_ACK) and "down" (PULL_DATA keepalive -> PULL_ACK,
PULL_RESP -> TX_ACK).

Unlike the reference forwarder (which sends once and forgets), an uplink leaves this
forwarder's queue only when the PUSH_ACK with the datagram's token arrives; without it the
same frames are sent again (new token) after ``push_timeout_ms``. One PUSH_DATA (up to
``max_batch`` rxpk, oldest first) is in flight at a time, which keeps the order per device.
Every datagram that does not parse, or whose token matches nothing, is counted and dropped.
"""

import collections
import datetime
import random
import socket
import threading
import time

from ..config import ConfigError
from ..radio import TxRequest
from ..semtech import (
    PULL_ACK,
    PULL_RESP,
    PUSH_ACK,
    SemtechError,
    identify,
    pull_data,
    pull_resp,
    push_data,
    tx_ack,
)
from .base import Forwarder


def rx_packet(record):
    time_text = (
        datetime.datetime.fromtimestamp(record["wall_us"] / 1e6, datetime.UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )
    stat = {"ok": push_data.STAT_OK, "bad": push_data.STAT_CRC_BAD}.get(
        record["crc"], push_data.STAT_NO_CRC
    )
    return push_data.RxPacket(
        tmst=record["tmst"],
        frequency_hz=record["freq"],
        sf=record["sf"],
        bw_hz=record["bw"],
        coding_rate=record["cr"],
        rssi=record["rssi"],
        lsnr=record["snr"],
        data=bytes.fromhex(record["phy"]),
        stat=stat,
        time=time_text,
    )


class SemtechForwarder(Forwarder):
    name = "semtech"

    def __init__(self, service, config):
        super().__init__(service)
        self.config = config  # config.SemtechSection
        self.gateway_eui = service.config.gateway.id
        self._random = random.Random()
        self.up = self._socket(config.port_up)
        self.down = self._socket(config.port_down)
        self._down_thread = None
        self.push_sent = 0
        self._stat_tokens = collections.deque(maxlen=8)  # tokens of recent `stat` datagrams
        self.push_acked = 0

    def _socket(self, port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.05)
        try:
            self._address = (socket.gethostbyname(self.config.server), port)
        except OSError:
            sock.close()
            raise ConfigError(f"semtech.server: cannot resolve {self.config.server!r}") from None
        sock.connect(self._address)
        return sock

    def _token(self):
        return self._random.getrandbits(16)

    def start(self):
        super().start()
        self._down_thread = threading.Thread(
            target=self._down_main, name="semtech-down", daemon=True
        )
        self._down_thread.start()

    def threads(self):
        return super().threads() + ([self._down_thread] if self._down_thread is not None else [])

    def stop(self):
        super().stop()
        if self._down_thread is not None:
            self._down_thread.join(timeout=5)
        self.up.close()
        self.down.close()

    def _send(self, sock, data):
        try:
            sock.send(data)
            return True
        except OSError:  # server unreachable (ICMP) or network down: retried later
            self.stats.add("semtech.send_error")
            return False

    def _recv(self, sock):
        try:
            return sock.recv(65535)
        except (TimeoutError, ConnectionRefusedError, OSError):
            return None

    # -- up: PUSH_DATA / PUSH_ACK -----------------------------------------------------------
    def run(self):
        cfg = self.config
        timeout_s = cfg.push_timeout_ms / 1000
        pending = None  # (token, [queue ids], sent at)
        while not self.stopping:
            if pending is None:
                entries = self.queue.peek(self.name, cfg.max_batch)
                if entries:
                    token = self._token()
                    packet = push_data.PushData(
                        token, self.gateway_eui, tuple(rx_packet(e.record) for e in entries)
                    )
                    self._send(self.up, push_data.encode(packet))
                    self.push_sent += 1
                    pending = (token, [e.id for e in entries], time.monotonic())
                else:
                    self.wait(0.2)
                    continue
            data = self._recv(self.up)
            if data is not None:
                try:
                    token, identifier = identify(data)
                    if identifier != PUSH_ACK or len(data) != 4:
                        raise SemtechError("not a PUSH_ACK")
                except SemtechError:
                    self.stats.add("rejected.udp")
                    continue
                if token in self._stat_tokens:  # the acknowledgement of a `stat` datagram
                    self.stats.add("semtech.stat_ack")
                    continue
                if token != pending[0]:
                    self.stats.add("rejected.udp_token")
                    continue
                self.queue.ack(self.name, pending[1])
                self.stats.add(f"forwarded.{self.name}", len(pending[1]))
                self.push_acked += 1
                pending = None
            elif time.monotonic() - pending[2] > timeout_s:
                self.stats.add("semtech.push_timeout")
                pending = None  # resent with a new token on the next turn

    # -- down: PULL_DATA / PULL_ACK / PULL_RESP / TX_ACK ---------------------------------------
    def _down_main(self):
        try:
            self._down()
        except Exception:
            self.log.exception("downlink thread stopped on an error")

    def _down(self):
        keepalive_s = self.config.keepalive_s
        next_pull = 0.0
        while not self.stopping:
            now = time.monotonic()
            if now >= next_pull:
                self._send(
                    self.down, pull_data.encode(pull_data.PullData(self._token(), self.gateway_eui))
                )
                next_pull = now + keepalive_s
            data = self._recv(self.down)
            if data is None:
                continue
            try:
                self._down_datagram(data)
            except Exception as exc:  # a bug on one datagram costs that datagram, not the thread
                self.stats.add("error.semtech_down")
                self.log.error("downlink datagram dropped: %s", type(exc).__name__)

    def _down_datagram(self, data):
        try:
            token, identifier = identify(data)
            if identifier == PULL_ACK:
                self.stats.add("semtech.pull_ack")
                return
            if identifier != PULL_RESP:
                raise SemtechError("unexpected packet on the down socket")
        except SemtechError:
            self.stats.add("rejected.udp")
            return
        self._pull_resp(token, data)

    def _pull_resp(self, token, data):
        self.stats.add("downlink.requested")
        try:
            txpk = pull_resp.decode(data).txpk
        except SemtechError as exc:
            self.stats.add("rejected.pull_resp")
            self.log.warning("PULL_RESP rejected: %s", exc)
            return
        request = TxRequest(
            phy=txpk.data,
            frequency_hz=txpk.frequency_hz,
            sf=txpk.sf,
            bw_hz=txpk.bw_hz,
            coding_rate=txpk.coding_rate,
            power_dbm=txpk.power_dbm,
            tmst=txpk.tmst,
            immediate=txpk.immediate,
            ipol=txpk.ipol,
            crc=not txpk.ncrc,
            preamble=txpk.preamble,
            tag=("semtech", token),
        )
        status = self.service.schedule(request)
        # Every status the scheduler returns is a txpk_ack.error value (PROTOCOL.TXT 6).
        error = "NONE" if status == "OK" else status
        self._send(self.down, tx_ack.encode(tx_ack.TxAck(token, self.gateway_eui, error)))

    def send_stats(self, counts, wall_us):
        stamp = datetime.datetime.fromtimestamp(wall_us / 1e6, datetime.UTC)
        acked = 100.0 if not self.push_sent else round(100.0 * self.push_acked / self.push_sent, 1)
        stat = push_data.Stat(
            time=stamp.strftime("%Y-%m-%d %H:%M:%S GMT"),
            rxnb=counts.get("rx.received", 0),
            rxok=counts.get("rx.ok", 0),
            rxfw=counts.get(f"forwarded.{self.name}", 0),
            ackr=acked,
            dwnb=counts.get("downlink.requested", 0),
            txnb=counts.get("downlink.emitted", 0),
        )
        token = self._token()
        self._stat_tokens.append(token)
        self._send(self.up, push_data.encode(push_data.PushData(token, self.gateway_eui, (), stat)))
