"""The whole service on the emulated radio (virtual time paced to real time) with a real
MQTT broker (mosquitto, else amqtt) and a Semtech UDP server on loopback: uplinks to both,
downlinks from both received by an emulated node in RX1, TX acks, stats, the local network
server, and fuzzing of every input (UDP, PULL_RESP JSON, command/down protobuf, radio frames)."""

import base64
import logging
import random
import struct

import pytest
from chirpstack_api import gw
from google.protobuf import json_format
from gw_helpers import ClassANode, Subscriber, UdpServer, make_config, uplink, wait
from lorafield_gateway.emulation import PacedWorld
from lorafield_gateway.semtech import pull_resp, push_data, tx_ack
from lorafield_gateway.service import GatewayService
from lorafield_hw.air import Transmitter
from lorafield_hw.sx1276 import SX1276

GW = "0016c001ff000001"


@pytest.fixture
def gateway(tmp_path, broker):
    """start(world=None, **radio) -> (service, subscriber, udp)."""
    started = []

    def start(world=None, chirpstack_json=False, **radio):
        udp = UdpServer()
        subscriber = Subscriber(broker.port, f"eu868/gateway/{GW}/#")
        cfg = make_config(
            tmp_path,
            gateway={"id": GW},
            radio={"kind": "emulated", "emulated_nodes": 0, **radio},
            chirpstack={
                "enabled": True,
                "port": broker.port,
                "reconnect_max_s": 1,
                "json": chirpstack_json,
            },
            semtech={
                "enabled": True,
                "port_up": udp.port,
                "port_down": udp.port,
                "push_timeout_ms": 300,
                "keepalive_s": 1,
            },
        )
        service = GatewayService(cfg, world=world)
        service.start()
        started.append((service, subscriber, udp))
        assert wait(lambda: udp.pull_address is not None), "no PULL_DATA"
        assert wait(lambda: any(t.endswith("/state/conn") for t, _ in subscriber.messages))
        return service, subscriber, udp

    yield start
    for service, subscriber, udp in started:
        service.stop()
        subscriber.close()
        udp.close()


def uplinks(subscriber):
    frames = []
    for topic, payload in list(subscriber.messages):
        if topic.endswith("/event/up"):
            frame = gw.UplinkFrame()
            frame.ParseFromString(payload)
            frames.append(frame)
    return frames


def rxpks(udp):
    out = []
    for data in list(udp.received):
        if data[3] == 0:
            out.extend(push_data.decode(data).rxpk)
    return out


def test_uplinks_reach_the_broker_and_udp_and_stats_are_sent(gateway, caplog):
    caplog.set_level(logging.DEBUG, logger="lorafield")
    service, subscriber, udp = gateway(emulated_nodes=3, emulated_interval_ms=300)
    assert wait(lambda: len(uplinks(subscriber)) >= 9 and len(rxpks(udp)) >= 9)
    sent = {phy: dev for dev, phy in service.nodes.frames}
    frames = uplinks(subscriber)
    for frame in frames:
        assert frame.phy_payload in sent
        assert frame.rx_info.gateway_id == GW
        assert frame.rx_info.crc_status == gw.CRCStatus.CRC_OK
        assert frame.tx_info.frequency == 868_100_000
        assert frame.tx_info.modulation.lora.spreading_factor == 7
        assert frame.tx_info.modulation.lora.bandwidth == 125_000
        assert frame.tx_info.modulation.lora.code_rate == gw.CodeRate.CR_4_5
        assert -120 < frame.rx_info.rssi < -30
        assert len(frame.rx_info.context) == 4
    by_phy = {bytes(f.phy_payload): f for f in frames}
    for rx in rxpks(udp):
        assert rx.data in sent and rx.stat == 1 and (rx.sf, rx.bw_hz) == (7, 125_000)
        if rx.data in by_phy:  # same frame, same counter value in both backends
            assert struct.unpack(">I", by_phy[rx.data].rx_info.context)[0] == rx.tmst
        assert rx.time.endswith("Z")
    # Per device, FCnt order as sent.
    for dev in {d for d in sent.values()}:
        counts = [
            int.from_bytes(f.phy_payload[6:8], "little")
            for f in frames
            if sent[bytes(f.phy_payload)] == dev
        ]
        assert counts == sorted(counts)
    # Retained ONLINE state, then periodic stats on both backends.
    assert wait(lambda: any(t.endswith("/event/stats") for t, _ in subscriber.messages))
    conn = [p for t, p in subscriber.messages if t.endswith("/state/conn")]
    assert gw.ConnState.FromString(conn[-1]).state == gw.ConnState.State.ONLINE
    reports = [
        gw.GatewayStats.FromString(p) for t, p in subscriber.messages if t.endswith("/event/stats")
    ]
    assert all(r.gateway_id == GW for r in reports)
    received = sum(r.rx_packets_received for r in reports)  # per-interval counts
    assert 0 < received <= service.stats.get("rx.received")
    assert wait(lambda: any(d[3] == 0 and push_data.decode(d).stat for d in udp.received))
    assert wait(lambda: service.stats.get("forwarded.chirpstack") >= 9)  # PUBACKs
    assert wait(lambda: service.stats.get("forwarded.semtech") >= 9)  # PUSH_ACKs
    # Payload contents never reach the log (neither hex nor base64).
    service.report_stats()
    text = caplog.text
    assert "stats " in text and " rx.received=" in text
    for phy in sent:
        assert phy.hex() not in text and base64.b64encode(phy).decode() not in text


def test_json_marshaling_of_uplinks_commands_and_acks(gateway):
    service, subscriber, _ = gateway(
        chirpstack_json=True, emulated_nodes=1, emulated_interval_ms=200
    )

    def ups():
        return [
            json_format.Parse(p.decode(), gw.UplinkFrame())
            for t, p in subscriber.messages
            if t.endswith("/event/up")
        ]

    assert wait(lambda: len(ups()) >= 2)
    sent = {phy for _, phy in service.nodes.frames}
    assert all(u.phy_payload in sent and u.rx_info.gateway_id == GW for u in ups())
    down = gw.DownlinkFrame(downlink_id=77, gateway_id=GW)
    item = down.items.add(phy_payload=b"\x60" + bytes(15))
    item.tx_info.frequency, item.tx_info.power = 869_525_000, 14
    item.tx_info.modulation.lora.bandwidth = 125_000
    item.tx_info.modulation.lora.spreading_factor = 9
    item.tx_info.modulation.lora.polarization_inversion = True
    item.tx_info.timing.immediately.SetInParent()
    payload = json_format.MessageToJson(down).encode()
    subscriber.client.publish(f"eu868/gateway/{GW}/command/down", payload, qos=1)
    assert wait(lambda: any(t.endswith("/event/ack") for t, _ in subscriber.messages))
    ack_json = [p for t, p in subscriber.messages if t.endswith("/event/ack")][0]
    ack = json_format.Parse(ack_json.decode(), gw.DownlinkTxAck())
    assert ack.downlink_id == 77 and [i.status for i in ack.items] == [gw.OK]
    assert wait(lambda: service.stats.get("downlink.emitted") == 1)


def node_world():
    world = PacedWorld(seed=5)
    node = ClassANode(
        world.scheduler, SX1276(world.scheduler, world.air, name="node", position=(20.0, 0.0))
    )
    return world, node


def test_mqtt_downlink_items_in_order_received_in_rx1_with_ack(gateway):
    world, node = node_world()
    service, subscriber, _ = gateway(world=world)
    phy = uplink(0x26000001, 1)
    world.call(world.scheduler.spawn, node.run, phy)
    assert wait(lambda: uplinks(subscriber))
    up = uplinks(subscriber)[0]
    assert up.phy_payload == phy
    answer = b"\x60\x01\x00\x00\x26\x00\x01\x00" + bytes(8)
    down = gw.DownlinkFrame(downlink_id=4242, gateway_id=GW)
    for frequency in (915_000_000, 868_100_000, 869_525_000):  # TX_FREQ, then RX1, then unused
        item = down.items.add(phy_payload=answer)
        item.tx_info.frequency = frequency
        item.tx_info.power = 14
        lora = item.tx_info.modulation.lora
        lora.bandwidth, lora.spreading_factor = 125_000, 7
        lora.code_rate = gw.CodeRate.CR_4_5
        lora.polarization_inversion = True
        item.tx_info.timing.delay.delay.FromSeconds(1)
        item.tx_info.context = up.rx_info.context
    subscriber.client.publish(f"eu868/gateway/{GW}/command/down", down.SerializeToString(), qos=1)
    assert wait(lambda: any(t.endswith("/event/ack") for t, _ in subscriber.messages))
    ack = gw.DownlinkTxAck.FromString(
        [p for t, p in subscriber.messages if t.endswith("/event/ack")][0]
    )
    assert ack.downlink_id == 4242 and ack.gateway_id == GW
    assert [i.status for i in ack.items] == [gw.TX_FREQ, gw.OK, gw.IGNORED]
    assert wait(lambda: node.received, timeout=5)
    assert [p for _, p in node.received] == [answer]
    assert wait(lambda: service.tx_log)  # appended once TxDone was polled
    sent = service.tx_log[0]
    tmst = struct.unpack(">I", up.rx_info.context)[0]
    assert sent.started_us & 0xFFFFFFFF == (tmst + 1_000_000) & 0xFFFFFFFF  # exact instant
    assert service.stats.get("downlink.emitted") == 1


def test_semtech_pull_resp_received_in_rx1_and_tx_ack(gateway):
    world, node = node_world()
    service, _, udp = gateway(world=world)
    phy = uplink(0x26000002, 7)
    world.call(world.scheduler.spawn, node.run, phy)
    assert wait(lambda: rxpks(udp))
    rx = rxpks(udp)[0]
    assert rx.data == phy
    answer = b"\x60\x02\x00\x00\x26\x00\x07\x00" + bytes(8)
    txpk = pull_resp.TxPacket(answer, 868_100_000, 7, 125_000, tmst=(rx.tmst + 1_000_000) % 2**32)
    udp.send_down(pull_resp.encode(pull_resp.PullResp(0x5151, txpk)))
    late = pull_resp.TxPacket(answer, 868_100_000, 7, 125_000, tmst=rx.tmst)  # already past
    udp.send_down(pull_resp.encode(pull_resp.PullResp(0x5252, late)))
    assert wait(lambda: len([d for d in udp.received if d[3] == 5]) == 2)
    acks = {a.token: a.error for a in (tx_ack.decode(d) for d in udp.received if d[3] == 5)}
    assert acks == {0x5151: "NONE", 0x5252: "TOO_LATE"}
    assert wait(lambda: node.received, timeout=5)
    assert [p for _, p in node.received] == [answer]
    assert wait(lambda: service.tx_log)
    assert service.tx_log[0].started_us & 0xFFFFFFFF == (rx.tmst + 1_000_000) % 2**32


def test_fuzz_every_input_is_rejected_and_counted(gateway):
    world = PacedWorld(seed=9)
    noisy = Transmitter(world.air, "noise", (15.0, 0.0), frequency_hz=868_100_000, sf=7)
    good = Transmitter(world.air, "good", (25.0, 0.0), frequency_hz=868_100_000, sf=7)
    service, subscriber, udp = gateway(world=world)
    rng = random.Random(1)
    # Radio: too short, wrong LoRaWAN major version, and two frames colliding (CRC error).
    garbage_frames = [bytes(rng.randrange(256) for _ in range(5)), b"\x41" + bytes(20)]
    for index, frame in enumerate(garbage_frames):
        world.call(world.scheduler.after, 100_000 * (index + 1), noisy.send, frame)
    world.call(world.scheduler.after, 400_000, noisy.send, uplink(0x26000009, 1))
    world.call(world.scheduler.after, 400_000, good.send, uplink(0x2600000A, 1))
    world.call(world.scheduler.after, 700_000, good.send, uplink(0x2600000B, 1))
    # UDP on the downlink socket: not protocol v2 packets.
    bad_udp = [
        b"",
        b"\x02",
        b"\x01\x00\x00\x03{}",
        b"\x02\x00\x00\x09",
        b"\x02\x00\x00\x01",
        bytes(rng.randrange(1, 256) for _ in range(40)),
    ]
    bad_udp[-1] = b"\x07" + bad_udp[-1][1:]
    for data in bad_udp:
        udp.send_down(data)
    # PULL_RESP with malformed JSON / fields.
    bad_resp = [
        b"\x02\x00\x01\x03{not json",
        b"\x02\x00\x02\x03[]",
        b'\x02\x00\x03\x03{"txpk":1}',
        b'\x02\x00\x04\x03{"txpk":{"modu":"LORA","imme":true,"datr":"SF99BW1"}}',
    ]
    for data in bad_resp:
        udp.send_down(data)
    # command/down: malformed protobuf and an empty DownlinkFrame.
    topic = f"eu868/gateway/{GW}/command/down"
    bad_proto = [
        b"\x0a\xff",
        b"\x0f",
        b"\x1a\x10abc",
        gw.DownlinkFrame(downlink_id=1).SerializeToString(),
    ]
    for data in bad_proto:
        subscriber.client.publish(topic, data, qos=1)
    stats = service.stats
    assert wait(
        lambda: (
            stats.get("rejected.udp") == len(bad_udp)
            and stats.get("rejected.pull_resp") == len(bad_resp)
            and stats.get("rejected.mqtt_command") == len(bad_proto)
            and stats.get("rejected.radio") == 2
            and stats.get("rx.crc_error") >= 1
            and len(uplinks(subscriber)) >= 1
        )
    )
    # Still working: the clean frame after the garbage went through, nothing else did.
    assert [f.phy_payload for f in uplinks(subscriber)] == [uplink(0x2600000B, 1)]
    assert service.radio_alive()
    assert stats.get("rejected.udp_token") == 0


def test_local_forwarder_hands_frames_to_the_network_server(tmp_path):
    from gw_helpers import KEY
    from lorafield_gateway.lns import DeviceRegistry, NetworkServer

    registry = DeviceRegistry()
    registry.add_abp("70b3d57ed0000001", 0x26000001, KEY.hex(), KEY.hex())
    ns = NetworkServer(registry, dedup_window_us=0)
    world = PacedWorld(seed=2)
    node = Transmitter(world.air, "n", (20.0, 0.0), frequency_hz=868_100_000, sf=7)
    for fcnt in range(3):
        world.scheduler.after(100_000 + 200_000 * fcnt, node.send, uplink(0x26000001, fcnt))
    cfg = make_config(
        tmp_path, radio={"kind": "emulated", "emulated_nodes": 0}, local={"enabled": True}
    )
    service = GatewayService(cfg, world=world, network_server=ns)
    service.start()
    try:
        assert wait(lambda: len([e for e in ns.events if e.kind == "uplink"]) == 3)
        assert service.queue.depth("local") == 0
    finally:
        service.stop()
