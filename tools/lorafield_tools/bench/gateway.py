"""`lorafield bench gateway`: the gateway service's own cost on this machine.

1. Throughput: a burst of uplinks handed to the radio loop as fast as it takes them (an
   in-memory radio source, real clock) through the durable queue (SQLite WAL, fsync per
   frame) to a real MQTT broker (QoS 1, until every PUBACK) and, separately, to a Semtech UDP
   server on loopback (until every PUSH_ACK): uplinks per second.
2. Latency at a steady rate (default 50 uplinks/s, above what one SF7 channel can carry):
   time from "RxDone seen" to the broker's PUBACK, p50/p99.
3. TX start error of the radio loop on the real monotonic clock (sleep, then spin).
4. Downlink timing in emulation: a node on the emulated SX1276 sends an uplink, the
   gateway answers at tmst + 1 s; the error is the gateway's TX start minus the node's true
   uplink end + 1 s (the RX1 instant), over --downlinks exchanges.

The broker is lorafield_tools.mqtt_broker's: mosquitto when installed, else amqtt (the
`broker` extra, in .venv after `make setup`), or the one --broker names; the first line of
output names it. The two differ in speed: compare figures only with the same broker.
"""

import collections
import shutil
import socket
import statistics
import tempfile
import threading
import time

from .. import mqtt_broker
from ..cli import CommandError, UsageError

HELP = "gateway service: uplinks/s to an MQTT broker and UDP, PUBACK latency, downlink timing"


def add_arguments(parser):
    parser.add_argument("--uplinks", type=int, default=2_000, help="uplinks in the burst")
    parser.add_argument("--rate", type=float, default=50.0, help="uplinks/s for the latency run")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the latency run")
    parser.add_argument("--downlinks", type=int, default=20, help="emulated downlink exchanges")
    parser.add_argument(
        "--broker",
        choices=mqtt_broker.KINDS,
        help="MQTT broker (default: mosquitto if installed, else amqtt)",
    )


class MemoryRadio:
    """Frames pushed by the benchmark, received as soon as the loop polls; a transmission
    only records when it started and lasts its time on air."""

    def __init__(self, clock):
        self.clock = clock
        self.frames = collections.deque()
        self._tx_end = None

    def prepare_tx(self, request):
        self._request = request

    def start_tx(self):
        from lorafield_gateway.radio import time_on_air_us

        request = self._request
        self._tx_end = self.clock.now_us() + time_on_air_us(len(request.phy), request.sf, 125_000)

    def tx_done(self):
        return self.clock.now_us() >= self._tx_end

    def finish_tx(self):
        pass

    def configure_rx(self):
        pass

    def poll_rx(self):
        from lorafield_gateway.radio import RxFrame

        if not self.frames:
            return None
        phy = self.frames.popleft()
        now = self.clock.now_us()
        return RxFrame(phy, now, self.clock.wall_us(), 868_100_000, 7, 125_000, 5, -60, 9.0, "ok")


class _UdpServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self):
        while self.running:
            try:
                data, address = self.sock.recvfrom(65535)
            except OSError:
                continue
            if len(data) >= 4 and data[0] == 2 and data[3] in (0, 2):
                self.sock.sendto(data[:3] + (b"\x01" if data[3] == 0 else b"\x04"), address)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def _service(directory, **sections):
    from lorafield_gateway import config as gwconfig
    from lorafield_gateway.clock import MonotonicClock
    from lorafield_gateway.service import GatewayService

    data = {"gateway": {"state_dir": directory, "stats_interval_s": 3600}}
    data.update(sections)
    clock = MonotonicClock()
    radio = MemoryRadio(clock)
    service = GatewayService(gwconfig.from_dict(data), radio=radio, clock=clock)
    return service, radio


def _instrument(service, name):
    """Record RxDone -> acknowledgement latency per frame for forwarder `name`."""
    queue = service.queue
    received = {}
    latencies = []
    peek, ack = queue.peek, queue.ack

    def timed_peek(forwarder, *args, **kwargs):
        entries = peek(forwarder, *args, **kwargs)
        if forwarder == name:
            for entry in entries:
                received[entry.id] = entry.record["mono_us"]
        return entries

    def timed_ack(forwarder, ids):
        now = service.clock.now_us()
        ids = list(ids)
        if forwarder == name:
            latencies.extend(now - received.pop(i) for i in ids if i in received)
        return ack(forwarder, ids)

    queue.peek, queue.ack = timed_peek, timed_ack
    return latencies


def _frames(count):
    from lorafield_node.phy import UNCONFIRMED_UP, SessionCrypto, build_data

    crypto = SessionCrypto(bytes(16), bytes(16))
    return [
        build_data(crypto, UNCONFIRMED_UP, 0x26000000 + i % 50, i // 50, fport=1, payload=bytes(12))
        for i in range(count)
    ]


def _throughput(name, count, **sections):
    with tempfile.TemporaryDirectory() as directory:
        service, radio = _service(directory, **sections)
        service.start()
        latencies = _instrument(service, name)
        frames = _frames(count)
        start = time.perf_counter()
        radio.frames.extend(frames)
        deadline = start + 120
        while len(latencies) < count and time.perf_counter() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        done = len(latencies)
        service.stop()
    return done, elapsed


def _latency(name, rate, seconds, **sections):
    with tempfile.TemporaryDirectory() as directory:
        service, radio = _service(directory, **sections)
        service.start()
        latencies = _instrument(service, name)
        frames = _frames(int(rate * seconds))
        start = time.perf_counter()
        for index, phy in enumerate(frames):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            radio.frames.append(phy)
        deadline = time.perf_counter() + 30
        while len(latencies) < len(frames) and time.perf_counter() < deadline:
            time.sleep(0.005)
        service.stop()
    return sorted(latencies)


def _percentile(values, fraction):
    return values[min(len(values) - 1, int(fraction * len(values)))]


def _downlink_timing(exchanges):
    from lorafield_gateway.clock import VirtualClock
    from lorafield_gateway.config import RadioSection
    from lorafield_gateway.radio import Rfm95, TxRequest
    from lorafield_gateway.radio_loop import RadioLoop
    from lorafield_gateway.stats import Stats
    from lorafield_hw import sx1276_registers as r
    from lorafield_hw.air import Air, PathLoss
    from lorafield_hw.scheduler import Scheduler
    from lorafield_hw.sx1276 import SX1276

    scheduler = Scheduler(7)
    air = Air(scheduler, PathLoss(seed=7))
    gateway = SX1276(scheduler, air, name="gateway")
    node = SX1276(scheduler, air, name="node", position=(20.0, 0.0))
    cfg = RadioSection(kind="emulated")
    clock = VirtualClock(scheduler, epoch_us=0)
    rfm = Rfm95.open_emulated(gateway, cfg, clock, scheduler.time_module())
    # The node is a second driver instance on the same chip model: adafruit_rfm9x for
    # settings, then its raw register access for the LoRaWAN frame (as the gateway does).
    node_radio = Rfm95.open_emulated(node, cfg, clock, scheduler.time_module())
    frames = []
    loop = RadioLoop(rfm, clock, cfg, frames.append, Stats())
    scheduler.spawn(loop.run)
    errors = []
    for index in range(exchanges):
        scheduler.run_until(scheduler.now_us + 3_000_000 + 37_123 * index)
        request = TxRequest(bytes(16) + bytes((index,)), 868_100_000, 7, ipol=False)
        request.started_us = None
        node_radio.prepare_tx(request)
        node_radio.start_tx()
        while not node.regs[r.REG_IRQ_FLAGS] & r.IRQ_TX_DONE:
            scheduler.run_until(scheduler.now_us + 50)
        uplink_end = node.mode_changed_us
        node_radio.finish_tx()
        node.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_STDBY)
        scheduler.run_until(scheduler.now_us + 5_000)
        up = frames[-1]
        down = TxRequest(b"\x60" + bytes(15), 868_100_000, 7, tmst=(up.tmst_us + 1_000_000) % 2**32)
        if loop.submit(down) != "OK":
            continue
        scheduler.run_until(uplink_end + 1_200_000)
        if down.started_us is not None:
            errors.append(down.started_us - (uplink_end + 1_000_000))
    loop.stop()
    scheduler.run_until(scheduler.now_us + 10_000)
    scheduler.shutdown()
    return errors, cfg.poll_interval_us


def _realtime_tx(count):
    """TX start error of the radio loop on the real monotonic clock (this machine's
    scheduler latency; on a Pi add the SPI write of RegOpMode)."""
    from lorafield_gateway.clock import MonotonicClock
    from lorafield_gateway.config import RadioSection
    from lorafield_gateway.radio import TxRequest
    from lorafield_gateway.radio_loop import RadioLoop
    from lorafield_gateway.stats import Stats

    clock = MonotonicClock()
    radio = MemoryRadio(clock)
    sent = []
    loop = RadioLoop(radio, clock, RadioSection(), lambda frame: None, Stats(), on_tx=sent.append)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    start = clock.now_us()
    for index in range(count):
        tmst = (start + 100_000 + 60_000 * index) & 0xFFFFFFFF
        loop.submit(TxRequest(bytes(12), 868_100_000, 7, tmst=tmst))
    deadline = time.monotonic() + 0.2 + 0.06 * count
    while len(sent) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    thread.join()
    return [r.started_us - r.target_us for r in sent if r.started_us is not None]


def _mqtt_figures(label, args, cfg):
    """Uplinks/s to the broker and the PUBACK latency at a steady rate; the uplinks/s."""
    done, elapsed = _throughput("chirpstack", args.uplinks, **cfg)
    print(f"{label}_uplinks_per_s: {done / elapsed:.0f} ({done} uplinks, PUBACK for each)")
    latencies = _latency("chirpstack", args.rate, args.seconds, **cfg)
    if latencies:
        print(
            f"{label}_latency_ms at {args.rate:g}/s: "
            f"p50 {_percentile(latencies, 0.5) / 1000:.2f} "
            f"p99 {_percentile(latencies, 0.99) / 1000:.2f} "
            f"max {latencies[-1] / 1000:.2f} ({len(latencies)} uplinks, "
            "RxDone seen -> PUBACK)"
        )
    return done / elapsed


def _tls_broker(plain):
    """The same kind of broker with a TLS-only listener and a lab CA (lab_pki), and the
    gateway's [chirpstack] section for it: mutual TLS as ChirpStack sets it up where the
    broker can demand a client certificate."""
    from ..lab_pki import LabCA

    ca = LabCA(plain.directory / "pki")
    server = ca.server()
    client = ca.client("0016c001ff000001")
    listener = mqtt_broker.TlsListener(ca.cert, server.cert, server.key)
    broker = mqtt_broker.Broker(plain.directory / "tls", plain.kind, tls=listener).start()
    what = "TLS >= 1.2, client certificate " + (
        "demanded (mutual TLS)" if broker.requires_client_certificate else "presented"
    )
    section = {
        "enabled": True,
        "host": "localhost",
        "port": broker.port,
        "max_inflight": 200,
        "tls": True,
        "ca_file": str(ca.cert),
        "cert_file": str(client.cert),
        "key_file": str(client.key),
        "_what": what,
    }
    return {"chirpstack": section}, broker


def run(args):
    if not 10 <= args.uplinks <= 1_000_000:
        raise UsageError("--uplinks must be 10..1000000")
    if not 1 <= args.rate <= 10_000 or not 1 <= args.seconds <= 600:
        raise UsageError("--rate 1..10000, --seconds 1..600")
    if not 1 <= args.downlinks <= 10_000:
        raise UsageError("--downlinks must be 1..10000")
    try:
        kind = mqtt_broker.choose(args.broker)
    except mqtt_broker.BrokerError as exc:
        raise UsageError(str(exc)) from None
    broker = mqtt_broker.Broker(tempfile.mkdtemp(prefix="lorafield-broker-"), kind)
    print(f"mqtt_broker: {broker.description}")
    udp = _UdpServer()
    try:
        udp_cfg = {"semtech": {"enabled": True, "port_up": udp.port, "port_down": udp.port}}
        done, elapsed = _throughput("semtech", args.uplinks, **udp_cfg)
        print(f"udp_uplinks_per_s: {done / elapsed:.0f} ({done} uplinks, PUSH_ACK for each)")
    finally:
        udp.close()
    try:
        broker.start()
        mqtt_cfg = {"chirpstack": {"enabled": True, "port": broker.port, "max_inflight": 200}}
        plain = _mqtt_figures("mqtt", args, mqtt_cfg)
        broker.stop()
        tls_cfg, broker = _tls_broker(broker)
        print(f"mqtt_tls: {tls_cfg['chirpstack'].pop('_what')}")
        secure = _mqtt_figures("mqtt_tls", args, tls_cfg)
        print(f"mqtt_tls_vs_plain: {100 * secure / plain:.0f}% of the plain MQTT uplinks/s")
    except mqtt_broker.BrokerError as exc:
        raise CommandError(str(exc)) from None
    finally:
        broker.stop()
        shutil.rmtree(broker.directory, ignore_errors=True)
    late = sorted(_realtime_tx(args.downlinks))
    if late:
        print(
            f"realtime_tx_start_error_us (this machine, monotonic clock): "
            f"p50 {_percentile(late, 0.5)} max {late[-1]} ({len(late)} of {args.downlinks})"
        )
    errors, poll = _downlink_timing(args.downlinks)
    if errors:
        print(
            f"downlink_timing_error_us (emulated, poll {poll} us): "
            f"mean {statistics.mean(errors):.0f} min {min(errors)} max {max(errors)} "
            f"({len(errors)} of {args.downlinks} in RX1 instant + error)"
        )
    return 0
