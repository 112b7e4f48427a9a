"""No uplink lost: a steady uplink stream through the gateway PROCESS (radio.kind = replay,
fed by this test) through a broker outage, then while the gateway is killed with SIGKILL and
restarted. Every uplink arrives at least once, in order per device.

The outage, per broker (each installed one runs; amqtt always):
- mosquitto (persistence on): its process is stopped and started again. It keeps the test
  subscribers' sessions and the messages queued for them, so whatever it acknowledged
  reaches them.
- amqtt keeps nothing across a restart (no session, no queued message), so a restart would
  lose what it had acknowledged and not yet delivered: a broker's loss, not the gateway's.
  There the gateway's link to it is cut instead (gw_helpers.TcpLink: connections closed,
  connecting refused, for the same span); the gateway sees the same thing.
"""

import collections
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from chirpstack_api import gw
from gw_helpers import BROKERS_TO_TEST, Subscriber, TcpLink, dev_fcnt, uplink

GW = "0016c001ff0000aa"
DEVICES = (0x26000011, 0x26000012, 0x26000013)
PER_DEVICE = 100
RATE_HZ = 100
ONLINE = gw.ConnState(gateway_id=GW, state=gw.ConnState.State.ONLINE).SerializeToString()
OFFLINE = gw.ConnState(gateway_id=GW, state=gw.ConnState.State.OFFLINE).SerializeToString()


def start_gateway(config_path, log_path):
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", code, "gateway", "run", "--config", str(config_path)],
            stdout=log,
            stderr=log,
        )


def queue_depth(db_path):
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM queue WHERE forwarder = 'chirpstack'"
            ).fetchone()
        return count
    except sqlite3.Error:
        return 0


class Outage:
    """stop()/start() of the broker itself, or of the gateway's link to it (TcpLink)."""

    def __init__(self, broker):
        self.broker = broker
        self.link = None if broker.persists_sessions else TcpLink(broker.port)
        self.gateway_port = self.link.port if self.link else broker.port

    def begin(self):
        (self.link.cut if self.link else self.broker.stop)()

    def end(self):
        (self.link.heal if self.link else self.broker.start)()

    def close(self):
        if self.link:
            self.link.close()


@pytest.mark.parametrize("kind", BROKERS_TO_TEST)
def test_broker_outage_and_kill_9_lose_nothing(tmp_path, mqtt_broker_factory, kind):
    broker = mqtt_broker_factory(kind, persistent=True)
    outage = Outage(broker)
    replay = tmp_path / "radio.jsonl"
    replay.touch()
    state = tmp_path / "state"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[gateway]\nid = "{GW}"\nstate_dir = "{state}"\nstats_interval_s = 1\n'
        f'[radio]\nkind = "replay"\nreplay_path = "{replay}"\npoll_interval_us = 1000\n'
        f"[chirpstack]\nenabled = true\nport = {outage.gateway_port}\nreconnect_max_s = 1\n"
    )
    log = tmp_path / "gateway.log"
    subscriber = Subscriber(broker.port, f"eu868/gateway/{GW}/event/up", "outage-sub")
    gateway = start_gateway(config, log)
    events = {}
    probe = None
    max_depth_during_outage = 0
    try:
        # Wait for the gateway to be online before the stream starts.
        probe = Subscriber(broker.port, f"eu868/gateway/{GW}/state/conn", "probe")
        assert probe.wait_for(lambda messages: messages, timeout=15), log.read_text()
        total = len(DEVICES) * PER_DEVICE
        written = []

        def writer():
            with open(replay, "a") as out:
                for index in range(total):
                    dev = DEVICES[index % len(DEVICES)]
                    fcnt = index // len(DEVICES)
                    out.write(f'{{"phy": "{uplink(dev, fcnt).hex()}", "rssi": -70}}\n')
                    out.flush()
                    written.append((dev, fcnt))
                    time.sleep(1 / RATE_HZ)

        thread = threading.Thread(target=writer)
        thread.start()

        def at(count):
            while len(written) < count:
                time.sleep(0.005)

        at(40)
        outage.begin()
        events["outage_began"] = len(written)
        while len(written) < 130:
            max_depth_during_outage = max(
                max_depth_during_outage, queue_depth(state / "queue.sqlite3")
            )
            time.sleep(0.05)
        outage.end()
        events["outage_ended"] = len(written)

        def delivered(messages):
            return {dev_fcnt(gw.UplinkFrame.FromString(p).phy_payload) for _, p in messages}

        # Back online before the kill: a frame written after the outage has arrived.
        ended = events["outage_ended"]
        assert subscriber.wait_for(lambda m: delivered(m) & set(written[ended:]), timeout=10)
        at(190)
        gateway.send_signal(signal.SIGKILL)
        gateway.wait()
        events["gateway_killed"] = len(written)
        # The broker publishes the last will (retained OFFLINE) when the socket dies.
        assert probe.wait_for(lambda messages: OFFLINE in [p for _, p in messages], timeout=5)
        at(230)
        gateway = start_gateway(config, log)
        events["gateway_restarted"] = len(written)
        thread.join()

        def complete(messages):
            return len(delivered(messages)) >= total

        assert subscriber.wait_for(complete, timeout=30), (events, log.read_text()[-2000:])
        assert probe.wait_for(lambda messages: messages[-1][1] == ONLINE, timeout=10)
    finally:
        if probe is not None:
            probe.close()
        if gateway.poll() is None:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=10)
        subscriber.close()
        outage.close()

    received = [dev_fcnt(gw.UplinkFrame.FromString(p).phy_payload) for _, p in subscriber.messages]
    assert set(received) == set(written) and len(written) == total  # none lost
    first_seen = collections.defaultdict(list)
    seen = set()
    for dev, fcnt in received:
        if (dev, fcnt) not in seen:
            seen.add((dev, fcnt))
            first_seen[dev].append(fcnt)
    for dev in DEVICES:  # in order per device
        assert first_seen[dev] == list(range(PER_DEVICE))
    assert max_depth_during_outage > 0  # the queue held frames while the broker was down
    duplicates = len(received) - len(seen)
    print(
        f"{kind}: events {events}; delivered {len(received)} for {total} uplinks "
        f"({duplicates} duplicates); queue depth during outage up to {max_depth_during_outage}"
    )
    assert os.path.exists(state / "queue.sqlite3")


def test_udp_server_silence_resends_until_push_ack(tmp_path):
    from gw_helpers import UdpServer, make_config
    from lorafield_gateway.semtech import push_data
    from lorafield_gateway.service import GatewayService

    udp = UdpServer(ack=False)  # a server that receives but does not acknowledge (yet)
    replay = tmp_path / "radio.jsonl"
    frames = [(dev, fcnt) for fcnt in range(20) for dev in DEVICES]
    replay.write_text("".join(f'{{"phy": "{uplink(d, f).hex()}"}}\n' for d, f in frames))
    cfg = make_config(
        tmp_path,
        radio={"kind": "replay", "replay_path": str(replay)},
        semtech={
            "enabled": True,
            "port_up": udp.port,
            "port_down": udp.port,
            "push_timeout_ms": 100,
        },
    )
    service = GatewayService(cfg)
    service.start()
    try:
        deadline = time.monotonic() + 10
        while service.stats.get("semtech.push_timeout") < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert service.queue.depth("semtech") == len(frames)  # nothing acknowledged, all kept
        udp.ack = True
        while service.queue.depth("semtech") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert service.queue.depth("semtech") == 0
    finally:
        service.stop()
        udp.close()
    delivered = [
        dev_fcnt(rx.data) for d in udp.received if d[3] == 0 for rx in push_data.decode(d).rxpk
    ]
    assert set(delivered) == set(frames)
    firsts = list(dict.fromkeys(delivered))
    for dev in DEVICES:
        assert [f for d, f in firsts if d == dev] == list(range(20))
    assert service.stats.get("forwarded.semtech") == len(frames)
