"""sd_notify over a real AF_UNIX datagram socket, as systemd receives it."""

import os
import socket

from lorafield_gateway.sdnotify import Notifier


def listen(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    return sock


def test_ready_watchdog_and_stopping_datagrams(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = listen(path)
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier(env)
    assert notifier.enabled and notifier.watchdog_us == 20_000_000
    assert notifier.ready("forwarding")
    assert sock.recv(4096) == b"READY=1\nSTATUS=forwarding"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    sock.close()


def test_abstract_namespace_socket():
    name = f"lorafield-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
    assert sock.recv(4096).startswith(b"READY=1")
    sock.close()


def test_without_systemd_it_is_a_no_op(tmp_path):
    notifier = Notifier({})
    assert not notifier.enabled and not notifier.ready() and notifier.watchdog_us is None
    # Watchdog meant for another process (WATCHDOG_PID) is not ours to ping.
    other = Notifier(
        {"NOTIFY_SOCKET": str(tmp_path / "x"), "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    )
    assert other.watchdog_us is None
    assert not other.ready()  # nobody listening: reported, not raised
