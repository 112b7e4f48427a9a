"""lorafield_tools.mqtt_broker: which broker is chosen, and that each one the tests use (amqtt
always, so the fallback runs even where mosquitto exists) does what the gateway relies on,
with paho-mqtt 2 as the gateway uses it: QoS 1 both ways, retained state, the last will on
a dead connection, stop() as a real outage and start() on the same port."""

import socket
import threading

import paho.mqtt.client as mqtt
import pytest
from gw_helpers import BROKERS_TO_TEST, Subscriber
from lorafield_tools import mqtt_broker


def connected_client(port, client_id, will=None):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if will:
        client.will_set(*will, qos=1, retain=True)
    up = threading.Event()
    client.on_connect = lambda *a: up.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert up.wait(5), "no CONNACK"
    return client


@pytest.mark.parametrize("kind", BROKERS_TO_TEST)
def test_broker_round_trip_retained_will_and_restart(mqtt_broker_factory, kind):
    broker = mqtt_broker_factory(kind)
    assert broker.kind == kind and broker.description.startswith(f"{kind} ")
    subscriber = Subscriber(broker.port, "t/#", f"sub-{kind}")
    publisher = connected_client(broker.port, "pub", will=("t/state", b"OFFLINE"))
    try:
        # QoS 1 up to the broker (PUBACK) and down to the subscriber, bytes unchanged.
        payloads = [bytes((i,)) * 40 + b"\x00\xff" for i in range(50)]
        infos = [publisher.publish("t/up", p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(5)
            assert info.is_published()
        assert subscriber.wait_for(lambda m: [p for t, p in m if t == "t/up"] == payloads)
        # Retained state reaches a subscriber that comes later (amqtt may deliver it twice,
        # retained and live, when the subscription races its broadcast: QoS 1 allows it).
        publisher.publish("t/state", b"ONLINE", qos=1, retain=True).wait_for_publish(5)
        late = Subscriber(broker.port, "t/state", f"late-{kind}")
        assert late.wait_for(lambda m: m and set(m) == {("t/state", b"ONLINE")})
        late.close()
        # A connection that dies without DISCONNECT: the broker publishes the will.
        publisher.loop_stop()
        publisher.socket().shutdown(socket.SHUT_RDWR)
        assert subscriber.wait_for(lambda m: ("t/state", b"OFFLINE") in m)
    finally:
        subscriber.close()
        publisher.loop_stop()
    # stop() is an outage (connecting is refused); start() serves the same port again.
    port = broker.port
    broker.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    broker.start()
    assert broker.port == port
    connected_client(port, "again").disconnect()


def test_choice_prefers_mosquitto_then_amqtt_and_names_the_cure(monkeypatch):
    monkeypatch.delenv(mqtt_broker.ENV, raising=False)
    monkeypatch.setattr(mqtt_broker, "mosquitto_binary", lambda: "/usr/sbin/mosquitto")
    assert mqtt_broker.choose() == "mosquitto"
    assert mqtt_broker.choose("amqtt") == "amqtt"
    monkeypatch.setenv(mqtt_broker.ENV, "amqtt")
    assert mqtt_broker.choose() == "amqtt"
    monkeypatch.setenv(mqtt_broker.ENV, "hivemq")
    with pytest.raises(mqtt_broker.BrokerError, match="unknown MQTT broker 'hivemq'"):
        mqtt_broker.choose()
    monkeypatch.delenv(mqtt_broker.ENV)
    monkeypatch.setattr(mqtt_broker, "mosquitto_binary", lambda: None)
    assert mqtt_broker.choose() == "amqtt"
    with pytest.raises(mqtt_broker.BrokerError, match="apt-get install mosquitto$"):
        mqtt_broker.choose("mosquitto")
    monkeypatch.setattr(mqtt_broker, "amqtt_version", lambda: None)
    with pytest.raises(mqtt_broker.BrokerError) as error:
        mqtt_broker.choose()
    assert str(error.value) == f"no MQTT broker: {mqtt_broker.INSTALL_HINT}"


def test_a_broker_that_exits_at_start_is_a_one_line_error(tmp_path):
    broker = mqtt_broker.Broker(tmp_path, "amqtt")
    broker._command[-1] = str(tmp_path / "missing.yaml")  # amqtt refuses a missing config
    with pytest.raises(mqtt_broker.BrokerError, match="^amqtt exited: ") as error:
        broker.start(timeout_s=20)
    assert "\n" not in str(error.value)
