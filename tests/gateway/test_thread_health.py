"""Threads that must run: a bad datagram never stops one, and the systemd watchdog is fed only
while every one of them (radio loop, each forwarder's threads) is alive. A real Semtech UDP
server and a real NOTIFY_SOCKET datagram socket on this machine; the radio is emulated."""

import os
import socket
import threading
import time

import pytest
from gw_helpers import UdpServer, make_config, wait
from lorafield_gateway.forwarders import semtech_udp
from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_gateway.sdnotify import Notifier
from lorafield_gateway.semtech import pull_resp, tx_ack
from lorafield_gateway.service import GatewayService

GW = "0016c001ff000001"


def tx_acks(udp):
    return {a.token: a.error for a in (tx_ack.decode(d) for d in list(udp.received) if d[3] == 5)}


def immediate_pull_resp(token):
    txpk = pull_resp.TxPacket(b"\x60" + bytes(11), 868_100_000, 7, 125_000, immediate=True)
    return pull_resp.encode(pull_resp.PullResp(token, txpk))


@pytest.fixture
def semtech_gateway(tmp_path):
    udp = UdpServer()
    cfg = make_config(
        tmp_path,
        gateway={"id": GW},
        radio={"kind": "emulated", "emulated_nodes": 0},
        semtech={"enabled": True, "port_up": udp.port, "port_down": udp.port, "keepalive_s": 1},
    )
    service = GatewayService(cfg)
    service.start()
    try:
        assert wait(lambda: udp.pull_address is not None), "no PULL_DATA"
        yield service, udp
    finally:
        service.stop()
        udp.close()


def test_deeply_nested_pull_resp_does_not_stop_the_downlink_thread(semtech_gateway):
    service, udp = semtech_gateway
    depth = 1_000
    udp.send_down(b"\x02\x11\x11\x03" + b'{"txpk":' + b"[" * depth + b"]" * depth + b"}")
    udp.send_down(immediate_pull_resp(0x2222))
    assert wait(lambda: 0x2222 in tx_acks(udp)), "the downlink thread stopped"
    assert tx_acks(udp) == {0x2222: "NONE"}
    assert service.stats.get("rejected.pull_resp") == 1
    assert service.dead_threads() == []


def test_a_bug_on_one_datagram_costs_that_datagram_not_the_thread(semtech_gateway, monkeypatch):
    service, udp = semtech_gateway
    decode = pull_resp.decode

    def buggy(data):  # stands for a parser bug not found yet
        if data[1:3] == b"\x33\x33":
            raise KeyError("txpk")
        return decode(data)

    monkeypatch.setattr(semtech_udp.pull_resp, "decode", buggy)
    udp.send_down(immediate_pull_resp(0x3333))
    udp.send_down(immediate_pull_resp(0x4444))
    assert wait(lambda: 0x4444 in tx_acks(udp))
    assert 0x3333 not in tx_acks(udp)
    assert service.stats.get("error.semtech_down") == 1
    assert service.dead_threads() == []


class BreakableServer(NetworkServer):
    """The local server with a bug that shows up once `broken` is set."""

    broken = False

    def handle_uplink(self, phy, meta):
        if self.broken:
            raise RuntimeError("a bug in the server")
        return super().handle_uplink(phy, meta)


class NotifyListener:
    """What systemd sees: the datagrams on the service's NOTIFY_SOCKET, stamped on arrival."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages = []  # (monotonic time, text)
        self._running = True
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self):
        while self._running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def watchdogs_since(self, moment):
        return [t for t, text in list(self.messages) if t > moment and text == "WATCHDOG=1"]

    def statuses(self):
        return [text for _, text in list(self.messages) if text.startswith("STATUS=")]

    def close(self):
        self._running = False
        self._thread.join()
        self.sock.close()


def kill_local_thread(service):
    service.network_server.broken = True  # the next uplink raises inside the local thread
    return "local"


def kill_semtech_down_thread(service):
    semtech = next(f for f in service.forwarders if f.name == "semtech")

    def fatal(data):  # BaseException: even the per-datagram guard lets it through
        raise SystemExit

    semtech._down_datagram = fatal  # the PULL_ACK of the next keepalive (1 s) meets it
    return "semtech-down"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("kill", [kill_local_thread, kill_semtech_down_thread])
def test_watchdog_stops_when_a_forwarder_thread_dies(tmp_path, kill):
    path = str(tmp_path / "notify.sock")
    listener = NotifyListener(path)
    notifier = Notifier(
        {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(os.getpid())}
    )
    udp = UdpServer()
    cfg = make_config(
        tmp_path,
        gateway={"id": GW},
        radio={"kind": "emulated", "emulated_nodes": 1, "emulated_interval_ms": 100},
        semtech={"enabled": True, "port_up": udp.port, "port_down": udp.port, "keepalive_s": 1},
        local={"enabled": True},
    )
    server = BreakableServer(DeviceRegistry(), dedup_window_us=0)
    service = GatewayService(cfg, network_server=server, notifier=notifier)
    service.start()
    try:
        started = time.monotonic()
        assert wait(lambda: len(listener.watchdogs_since(started)) >= 3), "never fed"
        name = kill(service)
        assert wait(lambda: name not in {t.name for t in threading.enumerate()}), "alive"
        dead_at = time.monotonic() + 0.3  # a ping already on its way may still arrive
        received = service.stats.get("rx.received")
        time.sleep(1.5)  # well over WATCHDOG_USEC: systemd would restart the service now
        assert listener.watchdogs_since(dead_at) == []
        assert f"STATUS=thread stopped: {name}" in listener.statuses()
        assert service.dead_threads() == [name]
        # The radio loop goes on: the emulated node's frames still arrive.
        assert service.radio_alive()
        assert service.stats.get("rx.received") >= received + 5
    finally:
        service.stop()
        udp.close()
        listener.close()
