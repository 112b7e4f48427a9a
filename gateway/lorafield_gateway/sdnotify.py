"""systemd's notify protocol (sd_notify(3)), without a dependency: one datagram of
newline-separated KEY=VALUE assignments to the AF_UNIX socket named in $NOTIFY_SOCKET
(a leading '@' means the abstract namespace). Without the variable every call is a no-op,
so the service runs the same outside systemd."""

import os
import socket


class Notifier:
    def __init__(self, environ=None):
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address or None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        watchdog = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        self.watchdog_us = int(usec) if watchdog else None

    @property
    def enabled(self):
        return self.address is not None

    def notify(self, **assignments):
        """Send e.g. notify(READY=1, STATUS="running"); returns False if not sent."""
        if self.address is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in assignments.items())
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(self.address)
            sock.sendall(message.encode())
            return True
        except OSError:
            return False
        finally:
            sock.close()

    def ready(self, status="running"):
        return self.notify(READY=1, STATUS=status)

    def watchdog(self):
        return self.notify(WATCHDOG=1)

    def stopping(self):
        return self.notify(STOPPING=1)
