"""`--also-forward`: the gateway service's remote forwarders next to the local server. Against
a real MQTT broker the gw.UplinkFrame stream carries the PHYPayloads the local server saw;
the Semtech UDP stream carries them too."""

import json
import sqlite3

from chirpstack_api import gw
from gw_helpers import Subscriber, UdpServer
from lorafield_gateway.semtech import push_data
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import parse_scenario

SCENARIO = {
    "field": {"name": "forwarded", "hours": 0.75, "seed": 2},
    "gateway": [{"name": "a", "position": [0, 0]}, {"name": "b", "position": [600, 0]}],
    "node": [
        {"kind": "temperature", "name": "t", "position": [100, 50], "count": 3, "step": [150, 0]},
        {
            "kind": "parking",
            "name": "p",
            "position": [300, 20],
            "events": [[600, "arrive"], [1500, "depart"]],
            "settings": {"sample_s": 10},
        },
    ],
}


def heard_by_gateways(field_run):
    """PHYPayloads each gateway's radio handed to its service (what the local server saw)."""
    out = {}
    for gateway in field_run.gateways:
        out[gateway.gateway_id] = [
            r.frame.payload
            for f in field_run.air.log
            for r in f.receptions
            if r.receiver is gateway.radio and r.outcome == "received"
        ]
    return out


def test_mqtt_and_udp_streams_carry_what_the_local_server_saw(tmp_path, broker):
    subscriber = Subscriber(broker.port, "eu868/gateway/+/event/up")
    udp = UdpServer()
    try:
        spec = parse_scenario(SCENARIO, "forward.toml")
        forwards = [("mqtt", "127.0.0.1", broker.port), ("udp", "127.0.0.1", udp.port)]
        field_run = Field(spec, str(tmp_path / "out"), also_forward=forwards)
        field_run.run()
        heard = heard_by_gateways(field_run)
        total = sum(len(v) for v in heard.values())
        assert total > 20
        results = field_run.finish(drain_s=20)  # waits for the forwarders' queues to empty
        # MQTT: one gw.UplinkFrame per copy, per gateway, with the same bytes.
        assert subscriber.wait_for(
            lambda msgs: len([m for m in msgs if m[0].endswith("/event/up")]) >= total
        )
        mqtt = {}
        for topic, payload in list(subscriber.messages):
            frame = gw.UplinkFrame()
            frame.ParseFromString(payload)
            gateway_id = topic.split("/")[2]
            mqtt.setdefault(gateway_id, []).append(frame.phy_payload)
        assert {k: sorted(v) for k, v in mqtt.items()} == {k: sorted(v) for k, v in heard.items()}
        # Semtech UDP: the rxpk "data" of the PUSH_DATAs (a PUSH_DATA whose ACK came late is
        # sent again, so compare the sets).
        udp_phys = []
        for datagram in list(udp.received):
            if datagram[3] == 0:
                udp_phys += [rx.data for rx in push_data.decode(datagram).rxpk]
        assert set(udp_phys) == {p for v in heard.values() for p in v}
        assert len(udp_phys) >= total
        # And the local server stored each accepted data frame once (two gateways, one row).
        db = sqlite3.connect(results.db_path)
        stored = [bytes.fromhex(p) for (p,) in db.execute("SELECT phy_hex FROM frames")]
        copies = [len(json.loads(c)) for (c,) in db.execute("SELECT copies FROM frames")]
        db.close()
        assert set(stored) <= set(udp_phys)
        assert len(stored) == len(set(stored)) and max(copies) == 2
    finally:
        subscriber.close()
        udp.close()
