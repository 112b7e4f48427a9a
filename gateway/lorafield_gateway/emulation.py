"""The emulated radio world for the service: the hardware emulation's virtual clock paced to
real time, so the gateway's real sockets (MQTT, UDP) and the emulated air share one
timeline. The radio loop runs as a scheduler process on an emulated SX1276; emulated nodes
are scheduler callbacks or processes. Used by `radio.kind = "emulated"`, the tests and the
benchmark."""

import collections
import logging
import threading
import time

from lorafield_hw.air import Air, PathLoss, Transmitter
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sx1276 import SX1276

log = logging.getLogger("lorafield.gateway.emulation")


class PacedWorld:
    """A Scheduler + Air whose virtual time follows real time times `speed`, stepped by one
    thread. Code from other threads touches the world only through `call()`."""

    def __init__(self, seed=1, speed=1.0, step_s=0.0005):
        self.scheduler = Scheduler(seed)
        self.air = Air(self.scheduler, PathLoss(seed=seed))
        self.speed = speed
        self.step_s = step_s
        self._calls = collections.deque()
        self._thread = None
        self._running = False
        self.error = None

    def gateway_chip(self, position=(0.0, 0.0)):
        return SX1276(self.scheduler, self.air, name="gateway", position=position)

    def call(self, function, *args):
        """Run `function(*args)` in the world's thread before its next step."""
        self._calls.append((function, args))

    def start(self):
        self._running = True
        self._thread = threading.Thread(target=self._main, name="paced-world", daemon=True)
        self._thread.start()

    def _main(self):
        start_real = time.monotonic()
        start_virtual = self.scheduler.now_us
        try:
            while self._running:
                while self._calls:
                    function, args = self._calls.popleft()
                    function(*args)
                elapsed = time.monotonic() - start_real
                self.scheduler.run_until(start_virtual + round(elapsed * 1e6 * self.speed))
                time.sleep(self.step_s)
        except BaseException as exc:  # surfaced by stop() and in the log
            self.error = exc
            log.exception("emulated world stopped")

    def stop(self):
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.scheduler.shutdown()


class EmulatedNodes:
    """`count` ABP-style nodes 10-40 m away sending unconfirmed data frames (real MAC
    framing and MIC from the firmware's frame builder, demo keys) every `interval_ms`,
    staggered so they do not collide on the single channel."""

    TEST_KEY = bytes(range(16))  # counting bytes: a test key, for both session keys

    def __init__(self, world, count, interval_ms, *, frequency_hz, sf, bw_hz=125_000):
        from lorafield_node.phy import UNCONFIRMED_UP, SessionCrypto, build_data

        self.world = world
        self.sent = collections.Counter()
        self.frames = collections.deque(maxlen=10_000)  # (dev_addr, phy), newest last
        self._build = build_data
        self._mtype = UNCONFIRMED_UP
        self._crypto = SessionCrypto(self.TEST_KEY, self.TEST_KEY)
        self.interval_us = interval_ms * 1000
        self.nodes = []
        for index in range(count):
            node = Transmitter(
                world.air,
                f"node{index}",
                (10.0 + 30.0 * index / max(1, count), 5.0),
                frequency_hz=frequency_hz,
                sf=sf,
                bw_hz=bw_hz,
            )
            dev_addr = 0x26000000 + index + 1
            self.nodes.append((node, dev_addr))
            offset = self.interval_us * index // max(1, count)
            world.scheduler.after(self.interval_us + offset, self._send, index)

    def _send(self, index):
        node, dev_addr = self.nodes[index]
        fcnt = self.sent[dev_addr]
        phy = self._build(
            self._crypto, self._mtype, dev_addr, fcnt, fport=1, payload=fcnt.to_bytes(4, "big")
        )
        node.send(phy)
        self.frames.append((dev_addr, phy))
        self.sent[dev_addr] += 1
        self.world.scheduler.after(self.interval_us, self._send, index)
