"""`lorafield sensorthings bridge`: ChirpStack's and The Things Stack's MQTT integrations, a
real broker (mosquitto, else amqtt) and a real SensorThings server we did not write
(django-ogc-sensorthings, its own process).

Where the message shapes come from:

- ChirpStack v4: the `event/up` JSON is produced here by ChirpStack's own protobuf definitions
  (the `chirpstack-api` package, `integration.UplinkEvent`) through protobuf's JSON mapping
  (`google.protobuf.json_format.MessageToJson`: camelCase names, defaults left out, the
  `object` Struct's numbers as doubles), as ChirpStack's MQTT integration does with `json=true`.
- The Things Stack v3: the `up` JSON as its documentation shows it, "Data Formats", "Uplink
  Messages" (https://www.thethingsindustries.com/docs/integrations/data-formats/: end_device_ids
  {device_id, application_ids{application_id}, dev_eui, join_eui, dev_addr}, correlation_ids,
  received_at, uplink_message{session_key_id, f_port, f_cnt, frm_payload, decoded_payload,
  rx_metadata[{gateway_ids{gateway_id, eui}, time, timestamp, rssi, channel_rssi, snr}],
  settings{data_rate{lora}, frequency}, received_at, consumed_airtime, network_ids}; "empty
  fields are omitted": an FCnt of 0 is absent) and its API's v3ApplicationUp schema (v3.36
  api.swagger.json). The topic is `v3/{application id}@{tenant id}/devices/{device id}/up`.

Every reading of the emulated field's network server database goes through the bridge (the
even ones as ChirpStack uplinks, the odd ones as The Things Stack's) and is read back from the
server by `lorafield_key`, value by value against the database (our own SQL, not the mapping
module): each Observation once, across a server outage, a broker restart and messages sent
again.
"""

import base64
import datetime
import json
import logging
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import uuid

import lorafield_codec
import paho.mqtt.client as mqtt
import pytest
from chirpstack_api import integration
from google.protobuf import json_format
from lorafield_gateway.sensorthings.bridge import (
    Bridge,
    BridgeError,
    parse_source,
    read_password,
)
from lorafield_gateway.sensorthings.client import StaClient, path
from lorafield_gateway.sensorthings.mqtt_source import (
    UplinkError,
    chirpstack_uplink,
    ttn_uplink,
)
from lorafield_gateway.sensorthings.outbox import Outbox
from lorafield_tools import mqtt_broker
from lorafield_tools.cli import main
from sta_helpers import QUANTITY_FIELDS

APP = "5c4a3f3e-7d2b-4c1a-9f1e-0a2b3c4d5e6f"  # a ChirpStack application id (UUID)
TTN_APP, TENANT = "lorafield-field", "ttn"
UNKNOWN_EUI = "70b3d57ed00000aa"


# -- the field's readings as integration messages ---------------------------------------------
def field_readings(db_path):
    """Every reading with its frame's receptions (all gateways) and the device's name."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    names = dict(db.execute("SELECT dev_eui, name FROM devices"))
    out = []
    rows = db.execute(
        "SELECT id, time_us, dev_eui, kind, fcnt, fport, data FROM readings"
        " WHERE error IS NULL ORDER BY id"
    ).fetchall()
    for row_id, t, eui, kind, fcnt, fport, data in rows:
        frame = db.execute(
            "SELECT dev_addr, copies, frequency_hz, sf FROM frames WHERE dev_eui=? AND time_us=?",
            (eui, t),
        ).fetchone()
        dev_addr, copies, frequency, sf = frame
        out.append(
            {
                "id": row_id,
                "time_us": t,
                "dev_eui": eui,
                "name": names.get(eui) or eui,
                "kind": kind,
                "fcnt": fcnt,
                "fport": fport,
                "data": json.loads(data),
                "dev_addr": dev_addr,
                "copies": json.loads(copies),
                "frequency": frequency,
                "sf": sf,
            }
        )
    db.close()
    return out


def expected_observations(db_path, ids=None):
    """{(dev_eui, quantity, phenomenon µs): (result, fcnt, best gateway, rssi, snr)} from the
    readings (those of `ids`, or all) and frames tables (the frame's best reception)."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT r.id, r.time_us, r.dev_eui, r.kind, r.data, r.fcnt, f.gateway_id, f.rssi_dbm,"
        " f.snr_db FROM readings r JOIN frames f ON f.dev_eui = r.dev_eui AND f.time_us = r.time_us"
        " WHERE r.error IS NULL"
    ).fetchall()
    db.close()
    out = {}
    for row_id, t, eui, kind, data, fcnt, gateway, rssi, snr in rows:
        if ids is not None and row_id not in ids:
            continue
        data = json.loads(data)
        radio = (fcnt, gateway, rssi, snr)
        for quantity, name in QUANTITY_FIELDS.get(kind, ()):
            if name in data:
                out[(eui, quantity, t)] = (data[name], *radio)
        if kind == "water_level":
            levels = [data["level_mm"]] if "level_mm" in data else data["levels_mm"]
            step = data.get("interval_s", 0) * 1_000_000
            for i, level in enumerate(levels):
                out[(eui, "water_level", t - (len(levels) - 1 - i) * step)] = (level, *radio)
    return out


def rfc3339(t_us, nanos=0):
    moment = datetime.datetime.fromtimestamp(t_us // 1_000_000, datetime.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{t_us % 1_000_000:06d}{nanos:03d}Z"


def chirpstack_event(r, app=APP, with_object=True):
    """ChirpStack v4's UplinkEvent of reading `r`, filled as ChirpStack fills it."""
    event = integration.UplinkEvent(
        deduplication_id=str(uuid.UUID(int=r["id"])),
        dev_addr=r["dev_addr"],
        adr=True,
        dr=5,
        f_cnt=r["fcnt"],
        f_port=r["fport"],
        data=lorafield_codec.encode(r["kind"], r["data"]),
        region_config_id="eu868",
    )
    event.time.FromMicroseconds(r["time_us"])
    info = event.device_info
    info.tenant_id = "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"
    info.tenant_name = "lorafield"
    info.application_id = app
    info.application_name = "field"
    info.device_profile_id = "0f3b5a8e-5a51-4d1a-9b6a-2b2f9c2b7f00"
    info.device_profile_name = "lorafield " + r["kind"]
    info.device_name = r["name"]
    info.dev_eui = r["dev_eui"]
    info.tags["site"] = "field"
    if with_object:
        event.object.update(r["data"])
    for n, copy in enumerate(r["copies"]):
        rx = event.rx_info.add(
            gateway_id=copy["gateway_id"],
            uplink_id=1000 + n,
            rssi=int(copy["rssi_dbm"]),
            snr=copy["snr_db"],
            channel=2,
            rf_chain=1,
            context=b"\x00\x01\x02\x03",
            crc_status=1,  # CRC_OK
        )
        rx.ns_time.FromMicroseconds(r["time_us"] + 20_000)
        rx.metadata["region_config_id"] = "eu868"
    event.tx_info.frequency = r["frequency"]
    lora = event.tx_info.modulation.lora
    lora.bandwidth, lora.spreading_factor, lora.code_rate = 125000, r["sf"], 1  # CR_4_5
    return event


def chirpstack_json(r, **kw):
    return json_format.MessageToJson(chirpstack_event(r, **kw))


def chirpstack_topic(r, app=APP):
    return f"application/{app}/device/{r['dev_eui']}/event/up"


def ttn_message(r, app=TTN_APP, tenant=TENANT, decoded=True):
    """The Things Stack's ApplicationUp of reading `r`, as its documentation shows it."""
    up = {
        "session_key_id": "AXBSH1Pk6Z0G166RlH16CQ==",
        "f_port": r["fport"],
        "f_cnt": r["fcnt"],
        "frm_payload": base64.b64encode(lorafield_codec.encode(r["kind"], r["data"])).decode(),
        "decoded_payload": r["data"],
        "rx_metadata": [
            {
                "gateway_ids": {
                    "gateway_id": f"eui-{copy['gateway_id']}",
                    "eui": copy["gateway_id"].upper(),
                },
                "time": rfc3339(copy["time_us"]),
                "timestamp": copy["tmst_us"] % 2**32,
                "rssi": copy["rssi_dbm"],
                "channel_rssi": copy["rssi_dbm"],
                "snr": copy["snr_db"],
                "uplink_token": "ChIKEAoOZXVpLTAwMTZjMDAxZmYQ",
                "received_at": rfc3339(r["time_us"] + 5_000),
            }
            for copy in r["copies"]
        ],
        "settings": {
            "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": r["sf"]}},
            "coding_rate": "4/5",
            "frequency": str(r["frequency"]),
            "timestamp": r["copies"][0]["tmst_us"] % 2**32,
        },
        "received_at": rfc3339(r["time_us"], nanos=891),
        "consumed_airtime": "0.061696s",
        "network_ids": {"net_id": "000013", "tenant_id": tenant, "cluster_id": "eu1"},
    }
    if not r["fcnt"]:
        del up["f_cnt"]  # "empty fields are omitted"
    if not decoded:
        del up["decoded_payload"]
    return {
        "end_device_ids": {
            "device_id": r["name"],
            "application_ids": {"application_id": app},
            "dev_eui": r["dev_eui"].upper(),
            "join_eui": "70B3D57ED00000FF",
            "dev_addr": r["dev_addr"].upper(),
        },
        "correlation_ids": [f"as:up:{r['id']:026d}", f"gs:uplink:{r['id']:026d}"],
        "received_at": rfc3339(r["time_us"] + 60_000),
        "uplink_message": up,
    }


def ttn_topic(r, app=TTN_APP, tenant=TENANT):
    return f"v3/{app}@{tenant}/devices/{r['name']}/up"


def as_integration(r):
    """(topic, payload) of reading `r`: even ids through ChirpStack, odd through TTS."""
    if r["id"] % 2 == 0:
        return chirpstack_topic(r), chirpstack_json(r)
    return ttn_topic(r), json.dumps(ttn_message(r))


# -- helpers ----------------------------------------------------------------------------------
class Publisher:
    """The network server's side: publishes with QoS 1 and waits for the broker's PUBACK."""

    def __init__(self, port, user=None, password=None):
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"ns-{uuid.uuid4().hex[:8]}"
        )
        if user:
            self.client.username_pw_set(user, password)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic, payload):
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def on_server(url):
    """[(dev_eui, quantity, µs, result, parameters)] of every Observation on the server."""
    client = StaClient(url)
    out = []
    for ds in client.list("Datastreams"):
        props = ds.get("properties") or {}
        for obs in client.list(path("Datastreams", ds["@iot.id"]) + "/Observations"):
            params = obs.get("parameters") or {}
            eui, quantity, t = params["lorafield_key"].split("/")
            assert (eui, quantity) == (props["dev_eui"], props["quantity"])
            out.append((eui, quantity, int(t), obs["result"], params))
    return out


def counters(outbox_path):
    db = sqlite3.connect(outbox_path)
    try:
        return dict(db.execute("SELECT reason, n FROM counters"))
    finally:
        db.close()


def waiting_rows(outbox_path):
    db = sqlite3.connect(outbox_path)
    try:
        return db.execute("SELECT dev_eui, quantity FROM outbox").fetchall()
    finally:
        db.close()


def sync(sta_server, fleet):
    with_io = main(["sensorthings", "sync", "--url", sta_server.url, "--fleet", str(fleet)])
    assert with_io == 0


def sources(port, user=None):
    at = f"{user}@" if user else ""
    return [
        parse_source(f"chirpstack-mqtt://{at}127.0.0.1:{port}/{APP}"),
        parse_source(f"ttn-mqtt://{at}127.0.0.1:{port}/{TTN_APP}@{TENANT}"),
    ]


def quick_bridge(port, sta_server, outbox, user=None, **kw):
    """An in-process bridge with short pauses (backoff, reconnection) for the tests."""
    options = {"backoff_s": (0.2, 1.0), "reconnect_s": (1, 2), "keepalive_s": 10}
    options.update(kw)
    client = StaClient(sta_server.url, timeout=5)
    return Bridge(sources(port, user), client, str(outbox), **options)


USERS = {"bridge": "pa55-word", "ns": "ns-pass"}


def auth_broker(directory, kind=None):
    """A broker that wants a user and password (amqtt keeps a session for those only)."""
    try:
        return mqtt_broker.Broker(directory, kind=kind, users=USERS).start()
    except mqtt_broker.BrokerError as exc:
        pytest.fail(f"MQTT broker: {exc}", pytrace=False)


def connected(bridge):
    return all(r.connected.is_set() for r in bridge._receivers)


# -- parsing: the two integrations' shapes ----------------------------------------------------
STATUS = {
    "id": 7,
    "time_us": 1_767_225_622_724_721,
    "dev_eui": "70b3d57ed0000005",
    "name": "air-1",
    "kind": "status",
    "fcnt": 0,
    "fport": 20,
    "data": {
        "battery_mv": 3088,
        "uptime_s": 9,
        "reset_cause": "power_on",
        "fw": "0.1.0",
        "interval_s": 900,
        "errors": ["low_battery"],
    },
    "dev_addr": "00000001",
    "copies": [
        {"gateway_id": "0016c001ff000001", "rssi_dbm": -109.0, "snr_db": 8.3, "tmst_us": 1,
         "time_us": 1_767_225_622_524_721},
        {"gateway_id": "0016c001ff000002", "rssi_dbm": -103.0, "snr_db": 13.9, "tmst_us": 1,
         "time_us": 1_767_225_622_524_721},
        {"gateway_id": "0016c001ff000003", "rssi_dbm": -99.0, "snr_db": 13.9, "tmst_us": 1,
         "time_us": 1_767_225_622_524_721},
    ],
    "frequency": 868100000,
    "sf": 7,
}  # fmt: skip


def test_chirpstack_uplink_from_chirpstacks_own_protobuf_json():
    text = chirpstack_json(STATUS)
    shape = json.loads(text)
    # protojson: camelCase, FCnt 0 left out, the Struct's integers as doubles
    assert {"deduplicationId", "time", "deviceInfo", "devAddr", "fPort", "data", "object"} <= set(
        shape
    )
    assert "fCnt" not in shape and shape["object"]["battery_mv"] == 3088.0
    assert shape["rxInfo"][0]["gatewayId"] == "0016c001ff000001"
    reading, radio = chirpstack_uplink(text.encode())
    assert reading == {
        "dev_eui": "70b3d57ed0000005",
        "time_us": STATUS["time_us"],
        "kind": "status",
        "data": STATUS["data"],
        "fcnt": 0,
    }
    # the frame's own bytes give the codec's types back: 3088, not 3088.0
    assert type(reading["data"]["battery_mv"]) is int
    # the best reception: highest SNR, then RSSI
    assert radio == {
        "rssi_dbm": -99,
        "snr_db": pytest.approx(13.9),
        "gateway_id": "0016c001ff000003",
    }
    # without `time`: the best reception's nsTime; without that either: now
    del shape["time"]
    assert chirpstack_uplink(json.dumps(shape))[0]["time_us"] == STATUS["time_us"] + 20_000
    for rx in shape["rxInfo"]:
        del rx["nsTime"]
    assert chirpstack_uplink(json.dumps(shape), now_us=5)[0]["time_us"] == 5
    # bytes that do not decode: the object as it is
    shape["data"] = base64.b64encode(b"\xff").decode()
    assert chirpstack_uplink(json.dumps(shape))[0]["data"]["battery_mv"] == 3088.0


def test_ttn_uplink_as_documented():
    message = ttn_message(STATUS)
    assert "f_cnt" not in message["uplink_message"]  # 0 is omitted
    reading, radio = ttn_uplink(json.dumps(message).encode())
    assert reading == {
        "dev_eui": "70b3d57ed0000005",  # TTS writes it in capitals
        "time_us": STATUS["time_us"],  # uplink_message.received_at, nanoseconds cut
        "kind": "status",
        "data": STATUS["data"],
        "fcnt": 0,
    }
    assert radio == {"rssi_dbm": -99.0, "snr_db": 13.9, "gateway_id": "0016c001ff000003"}
    # without uplink_message.received_at: the Application Server's received_at
    del message["uplink_message"]["received_at"]
    assert ttn_uplink(json.dumps(message))[0]["time_us"] == STATUS["time_us"] + 60_000
    # an offset instead of Z, and only channel_rssi
    message["received_at"] = "2026-01-01T01:00:22.7247+01:00"
    for rx in message["uplink_message"]["rx_metadata"]:
        del rx["rssi"]
    reading, radio = ttn_uplink(json.dumps(message))
    assert reading["time_us"] == 1_767_225_622_724_700 and radio["rssi_dbm"] == -99.0


def _join_event():
    event = integration.JoinEvent(dev_addr="00000001")
    event.device_info.dev_eui = "70b3d57ed0000005"
    event.time.FromMicroseconds(STATUS["time_us"])
    return json_format.MessageToJson(event)


def _chirpstack(**changes):
    shape = json.loads(chirpstack_json(STATUS))
    for key, value in changes.items():
        if value is None:
            shape.pop(key, None)
        else:
            shape[key] = value
    return json.dumps(shape)


def _ttn(**changes):
    message = ttn_message(STATUS)
    for key, value in changes.items():
        if value is None:
            message["uplink_message"].pop(key, None)
        else:
            message["uplink_message"][key] = value
    return json.dumps(message)


@pytest.mark.parametrize(
    ("parse", "payload", "reason"),
    [
        (chirpstack_uplink, b"\x00garbage{", "not_json"),
        (chirpstack_uplink, b"[1, 2]", "not_json"),
        (chirpstack_uplink, _join_event(), "not_uplink"),
        (chirpstack_uplink, _chirpstack(object=None), "no_object"),
        (chirpstack_uplink, _chirpstack(object=[1]), "bad_object"),
        (chirpstack_uplink, _chirpstack(fPort=99), "unknown_fport"),
        (chirpstack_uplink, _chirpstack(fPort=None), "unknown_fport"),  # fPort 0: MAC only
        (chirpstack_uplink, _chirpstack(fPort=30), "unknown_fport"),  # config: a downlink
        (
            chirpstack_uplink,
            _chirpstack(object={"errors": ["cbor: truncated"], "warnings": []}),
            "decoder_error",
        ),
        (chirpstack_uplink, _chirpstack(time="yesterday"), "bad_time"),
        (chirpstack_uplink, _chirpstack(deviceInfo={"devEui": "xyz"}), "no_dev_eui"),
        (ttn_uplink, b"{}", "not_uplink"),
        (ttn_uplink, _ttn(decoded_payload=None), "no_object"),
        (ttn_uplink, _ttn(f_port=2), "unknown_fport"),
        (ttn_uplink, _ttn(decoded_payload={"errors": ["unknown fPort (2)"]}), "decoder_error"),
        (ttn_uplink, _ttn(received_at="2026-13-01T00:00:00Z"), "bad_time"),
    ],
)
def test_unusable_uplinks_raise_a_typed_reason(parse, payload, reason):
    with pytest.raises(UplinkError) as caught:
        parse(payload)
    assert caught.value.reason == reason and str(caught.value)


def test_a_status_with_an_errors_field_is_data_not_a_decoder_error():
    # The status kind's own "errors" field (error codes) must not be taken for a decoder's.
    reading, _ = chirpstack_uplink(_chirpstack())
    assert reading["data"]["errors"] == ["low_battery"]
    nested = _chirpstack(object={"data": STATUS["data"], "errors": [], "warnings": []})
    assert chirpstack_uplink(nested)[0]["data"] == STATUS["data"]  # a whole decoder output


def test_source_urls():
    cs = parse_source("chirpstack-mqtt://bridge@ns.example.org/" + APP)
    assert (cs.kind, cs.host, cs.port, cs.tls, cs.username) == (
        "chirpstack",
        "ns.example.org",
        1883,
        False,
        "bridge",
    )
    assert cs.topic == f"application/{APP}/device/+/event/up"
    assert cs.url == f"chirpstack-mqtt://bridge@ns.example.org:1883/{APP}"
    tls = parse_source("chirpstack-mqtts://ns.example.org/+")
    assert (tls.port, tls.tls, tls.topic) == (8883, True, "application/+/device/+/event/up")
    ttn = parse_source("ttn-mqtts://eu1.cloud.thethings.network/my-app@ttn")
    assert (ttn.port, ttn.tls, ttn.username) == (8883, True, "my-app@ttn")
    assert ttn.topic == "v3/my-app@ttn/devices/+/up"
    every = parse_source("ttn-mqtt://me%40ttn@[::1]:1884/+")
    assert (every.host, every.port, every.username, every.topic) == (
        "::1",
        1884,
        "me@ttn",
        "v3/+/devices/+/up",
    )
    for url, message in [
        ("mqtt://host/app", "unknown source"),
        ("chirpstack-mqtt://u:secret@host/app", "no password in the URL"),
        ("ttn-mqtt://host/my-app", "APP@TENANT"),
        ("chirpstack-mqtt://host/", "expected"),
        ("chirpstack-mqtt://host/a/b", "one topic level"),
        ("chirpstack-mqtt://host:99999/app", "expected"),
    ]:
        with pytest.raises(BridgeError, match=message) as caught:
            parse_source(url)
        assert "secret" not in str(caught.value)


def test_password_file_must_be_private(tmp_path, monkeypatch):
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o640)
    with pytest.raises(BridgeError, match="readable by others") as caught:
        read_password(str(secret))
    assert "s3cret" not in str(caught.value)
    secret.chmod(0o600)
    assert read_password(str(secret)) == "s3cret"
    # a bare name is a systemd credential (LoadCredential=) when the directory has it
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert read_password("mqtt-password") == "s3cret"


# -- the bridge, end to end -------------------------------------------------------------------
def test_every_uplink_arrives_once_across_outages(broker, sta_server, field, tmp_path, caplog):
    """ChirpStack and TTS uplinks of every reading, with bad input among them, while the
    SensorThings server is down for a while and the broker restarts: each Observation arrives
    once, with the values and radio figures of the network server's database; what cannot be
    used is counted by reason and logged; the unknown device's Observations wait; messages
    sent again (a lost PUBACK, a replay) create nothing twice."""
    caplog.set_level(logging.INFO, logger="lorafield.sensorthings")
    db, fleet = field
    sync(sta_server, fleet)
    readings = field_readings(db)
    expected = expected_observations(db)
    assert len(readings) >= 30 and len(expected) >= 45
    outbox = tmp_path / "bridge.sqlite3"
    bridge = quick_bridge(broker.port, sta_server, outbox).start()
    publisher = None
    try:
        wait_until(lambda: connected(bridge), 20, "the bridge's MQTT connections")
        publisher = Publisher(broker.port)
        messages = [as_integration(r) for r in readings]
        third = len(messages) // 3

        # 1. a third while the server is up; it goes down while they flow
        for topic, payload in messages[:third]:
            publisher.publish(topic, payload)
        wait_until(lambda: counters(outbox).get("delivered", 0) > 0, 30, "a first delivery")
        sta_server.stop()

        # 2. a third, and the bad input, while the server is down
        bad = readings[0]
        unknown = dict(readings[1], dev_eui=UNKNOWN_EUI, id=10_001)
        bad_messages = [
            (chirpstack_topic(bad), b"\x00 not json"),
            (chirpstack_topic(bad), chirpstack_json(bad, with_object=False)),
            (ttn_topic(bad), json.dumps(dict(ttn_message(bad), uplink_message={
                **ttn_message(bad)["uplink_message"], "f_port": 99}))),
            (ttn_topic(bad), json.dumps(dict(ttn_message(bad), uplink_message={
                **ttn_message(bad)["uplink_message"],
                "decoded_payload": {"errors": ["invalid CBOR"], "warnings": []}}))),
            (chirpstack_topic(unknown), chirpstack_json(unknown)),
        ]  # fmt: skip
        for topic, payload in messages[third : 2 * third] + bad_messages:
            publisher.publish(topic, payload)

        # 3. the broker restarts (its persistence keeps the bridge's session); the last third.
        # A message whose PUBACK had not reached the broker comes again: at least once.
        sent = 2 * third + len(bad_messages)
        wait_until(lambda: counters(outbox).get("uplink.received", 0) >= sent, 30, "phase 2")
        publisher.close()
        broker.stop()
        broker.start()
        if not broker.persists_sessions:  # amqtt keeps no session across a restart
            wait_until(lambda: connected(bridge), 20, "the bridge's reconnection")
        publisher = Publisher(broker.port)
        for topic, payload in messages[2 * third :]:
            publisher.publish(topic, payload)
        total = len(messages) + len(bad_messages)
        wait_until(lambda: counters(outbox).get("uplink.received", 0) >= total, 60, "every message")
        # the server is still down: what arrived since is kept in the outbox
        assert counters(outbox)["server.unavailable"] >= 1
        assert len(waiting_rows(outbox)) > len(expected) // 3

        # 4. the server is back: everything arrives
        sta_server.start()
        unknown_rows = len(expected_for(unknown))
        wait_until(lambda: len(waiting_rows(outbox)) == unknown_rows, 90, "the outbox to empty")
        check_server(sta_server, expected)

        # 5. messages sent again (the broker after a lost PUBACK, a platform's replay)
        before = counters(outbox)
        received = before["uplink.received"]
        assert received >= total
        for topic, payload in messages[:5] + messages[-5:]:
            publisher.publish(topic, payload)
        wait_until(
            lambda: counters(outbox)["uplink.received"] >= before["uplink.received"] + 10,
            30,
            "the messages sent again",
        )
        time.sleep(0.5)  # the last one committed
        wait_until(lambda: len(waiting_rows(outbox)) == unknown_rows, 30, "the outbox to empty")
        check_server(sta_server, expected)  # nothing twice
        after = counters(outbox)
        assert after["delivered"] == before["delivered"]
        assert after.get("uplink.queued") == before.get("uplink.queued")
        assert after.get("uplink.duplicate", 0) - before.get("uplink.duplicate", 0) == 10
    finally:
        if publisher:
            publisher.close()
        bridge.stop()

    # bad input: counted by reason (again if the broker sent it again), one clear log line
    # each, nothing else lost
    c = counters(outbox)
    again = received - total  # sent again by the broker after its restart
    for reason in ("not_json", "no_object", "unknown_fport", "decoder_error", "unknown_device"):
        assert 1 <= c.get(f"uplink.{reason}", 0) <= 1 + again, (reason, c)
    assert c["uplink.received"] == received + 10
    assert c["delivered"] == len(expected)
    assert sorted(waiting_rows(outbox)) == sorted((UNKNOWN_EUI, q) for q in expected_for(unknown))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in (
        "not a JSON object",
        "no decoded object",
        "fPort 99",
        "the decoder reported errors: 70b3d57ed0000005: invalid CBOR",
        f"device {UNKNOWN_EUI} has no Thing on the server",
        "SensorThings server unavailable",
        "SensorThings server answers again",
    ):
        assert text in logged, text
    line = bridge.stats_line()
    assert f"delivered {len(expected)}" in line and f"waiting {unknown_rows}" in line


def expected_for(reading):
    return [q for q, _ in _observations(reading)]


def _observations(reading):
    from lorafield_gateway.sensorthings.mapping import observations

    return observations(reading)


def check_server(sta_server, expected):
    """Every expected Observation exactly once, with its value and radio figures."""
    rows = on_server(sta_server.url)
    keys = [(eui, q, t) for eui, q, t, _, _ in rows]
    assert len(keys) == len(set(keys)), "an Observation arrived twice"
    assert set(keys) == set(expected)
    for eui, quantity, t, result, params in rows:
        value, fcnt, gateway, rssi, snr = expected[(eui, quantity, t)]
        assert result == value, (eui, quantity, t)
        assert params["fcnt"] == fcnt and params["gateway_id"] == gateway
        assert params["rssi_dbm"] == pytest.approx(rssi) and params["snr_db"] == pytest.approx(
            snr, abs=1e-6
        )


AMQTT_DROPS = (
    "amqtt 0.12 drops a QoS 1 message whose PUBACK does not come (5 s, or a disconnection:"
    " amqtt/mqtt/protocol/handler.py pops it from inflight_out in a finally): the broker loses"
    " it, whatever the client does"
)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.skip(reason=AMQTT_DROPS)) if k == "amqtt" else k
        for k in mqtt_broker.available()
    ]
    or [None],
)
def test_an_outbox_that_cannot_be_written_loses_nothing(
    kind, sta_server, field, tmp_path, monkeypatch, caplog
):
    """The message is acknowledged only once its Observations are committed: when the outbox
    refuses them the broker keeps the message and sends it again after a reconnection."""
    broker = auth_broker(tmp_path / "broker", kind)
    db, fleet = field
    sync(sta_server, fleet)
    readings = field_readings(db)[:12]
    expected = expected_observations(db, {r["id"] for r in readings})
    failures = {"left": 3}
    add = Outbox.add

    def failing_add(self, items, source=None, position=None):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return add(self, items, source, position)

    monkeypatch.setattr(Outbox, "add", failing_add)
    outbox = tmp_path / "bridge.sqlite3"
    bridge = quick_bridge(
        broker.port, sta_server, outbox, user="bridge", passwords=[USERS["bridge"]] * 2
    ).start()
    publisher = None
    try:
        wait_until(lambda: connected(bridge), 20, "the bridge's MQTT connections")
        publisher = Publisher(broker.port, "ns", USERS["ns"])
        for r in readings:
            publisher.publish(*as_integration(r))
        wait_until(lambda: len(on_server(sta_server.url)) >= len(expected), 60, "every observation")
        time.sleep(0.5)
        keys = [(eui, q, t) for eui, q, t, _, _ in on_server(sta_server.url)]
        assert sorted(keys) == sorted(expected)
    finally:
        if publisher:
            publisher.close()
        bridge.stop()
        broker.stop()
    assert failures["left"] == 0
    assert "not acknowledged" in caplog.text


def test_observations_wait_for_a_sync(broker, sta_server, field, tmp_path):
    """Uplinks of devices the server does not know yet wait in the outbox, counted; after
    `lorafield sensorthings sync` they arrive without a restart."""
    db, fleet = field
    readings = field_readings(db)[:8]
    outbox = tmp_path / "bridge.sqlite3"
    bridge = quick_bridge(broker.port, sta_server, outbox, waiting_refresh_s=0.5).start()
    publisher = None
    try:
        wait_until(lambda: connected(bridge) and bridge.datastreams is not None, 20, "start")
        publisher = Publisher(broker.port)
        for r in readings:
            publisher.publish(*as_integration(r))
        # (counted once its Observations are queued)
        wait_until(lambda: counters(outbox).get("uplink.unknown_device") == 8, 30, "the uplinks")
        assert counters(outbox)["uplink.received"] == 8
        queued = len(waiting_rows(outbox))
        assert queued == counters(outbox)["uplink.queued"] > 0
        sync(sta_server, fleet)
        wait_until(lambda: not waiting_rows(outbox), 30, "the waiting rows to go")
        assert len(on_server(sta_server.url)) == queued
    finally:
        if publisher:
            publisher.close()
        bridge.stop()


def test_one_bridge_per_outbox(broker, sta_server, tmp_path):
    outbox = tmp_path / "bridge.sqlite3"
    first = quick_bridge(broker.port, sta_server, outbox).start()
    try:
        with pytest.raises(BridgeError, match="in use by another lorafield process"):
            quick_bridge(broker.port, sta_server, outbox).start()
    finally:
        first.stop()


# -- the command ------------------------------------------------------------------------------
def test_command_runs_until_sigterm_with_a_password(sta_server, field, tmp_path):
    """`lorafield sensorthings bridge` as the service runs it: a broker that wants a password
    (read from a 0600 file, never shown), the outbox in $STATE_DIRECTORY, sd_notify (READY=1,
    watchdog pings, STATUS, STOPPING=1), a stats line, a clean exit on SIGTERM."""
    db, fleet = field
    sync(sta_server, fleet)
    broker = auth_broker(tmp_path / "broker")
    secret = tmp_path / "mqtt-password"
    secret.write_text("pa55-word\n")
    secret.chmod(0o600)
    state = tmp_path / "state"
    state.mkdir()
    readings = field_readings(db)[:6]
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.5)
    messages, listening = [], threading.Event()
    listening.set()

    def listen():  # as systemd does: a full socket would block the service's sends
        while listening.is_set():
            try:
                messages.append(notify.recv(4096).decode())
            except TimeoutError:
                pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    env = dict(
        os.environ,
        STATE_DIRECTORY=str(state),
        NOTIFY_SOCKET=str(tmp_path / "notify"),
        WATCHDOG_USEC="400000",
    )
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "sensorthings", "bridge", "--from",
         f"chirpstack-mqtt://bridge@127.0.0.1:{broker.port}/{APP}", "--to", sta_server.url,
         "--mqtt-password-file", str(secret), "--stats-every", "1"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    publisher = None
    try:
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ns-auth")
        publisher.username_pw_set("ns", "ns-pass")
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        outbox = state / "sensorthings-bridge.sqlite3"
        wait_until(outbox.exists, 20, "the outbox in $STATE_DIRECTORY")
        time.sleep(1.0)  # the bridge subscribes
        for r in readings:
            publisher.publish(chirpstack_topic(r), chirpstack_json(r), qos=1).wait_for_publish(10)
        n = sum(len(_observations(r)) for r in readings)
        wait_until(lambda: counters(outbox).get("delivered", 0) >= n, 30, "delivery")
        time.sleep(1.2)  # a stats line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if publisher:
            publisher.disconnect()
            publisher.loop_stop()
        if proc.poll() is None:
            proc.kill()
        broker.stop()
    time.sleep(0.5)
    listening.clear()
    listener.join()
    notify.close()
    assert messages[0].startswith("READY=1\nSTATUS=1 source(s) -> 127.0.0.1/sta/v1.1")
    assert "WATCHDOG=1" in messages and messages[-1] == "STOPPING=1"
    assert any(m.startswith("STATUS=") and f"delivered {n}" in m for m in messages)
    err = proc.stderr.read()
    assert "pa55-word" not in err and "Traceback" not in err
    assert "session" in err and f"received {len(readings)} uplinks" in err
    assert f"delivered {n}" in err and "stopped:" in err
    assert len(on_server(sta_server.url)) == n


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "mqtt://h/app"], "unknown source"),
        (["--from", "chirpstack-mqtt://u:s3cr3t@h/app"], "no password in the URL"),
        (["--from", "ttn-mqtt://h/app"], "APP@TENANT"),
        (["--from", "chirpstack-mqtt://u@h/app", "--mqtt-password-file", "OPEN"], "chmod 600"),
        (["--from", "chirpstack-mqtt://u@h/app", "--mqtt-password-file", "NONE"], "No such file"),
        (["--from", "chirpstack-mqtt://h/app", "--to", "ftp://x"], "not an http(s) URL"),
        (["--from", "chirpstack-mqtt://h/app", "--outbox", "/proc/none/x.sqlite3"], "outbox"),
    ],
)
def test_user_errors_are_one_line(tmp_path, capsys, argv, message):
    open_file = tmp_path / "open"
    open_file.write_text("s3cr3t\n")
    open_file.chmod(0o644)
    argv = [
        str(open_file) if a == "OPEN" else str(tmp_path / "none") if a == "NONE" else a
        for a in argv
    ]
    if "--to" not in argv:
        argv += ["--to", "http://127.0.0.1:9/sta/v1.1"]
    status = main(["sensorthings", "bridge", *argv])
    _, err = capsys.readouterr()
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "s3cr3t" not in err


def test_tls_source_verifies_the_broker_against_the_system_store(sta_server, field, tmp_path):
    """`chirpstack-mqtts://`: TLS with the broker's certificate verified against the system CA
    store (here $SSL_CERT_FILE, which OpenSSL's default paths honour, names the lab CA); a
    broker the store does not vouch for is refused with one clear line, nothing taken."""
    from lorafield_tools.lab_pki import LabCA

    db, fleet = field
    sync(sta_server, fleet)
    ca = LabCA(tmp_path / "pki")
    server = ca.server()
    listener = mqtt_broker.TlsListener(ca.cert, server.cert, server.key, require_certificate=False)
    try:
        broker = mqtt_broker.Broker(tmp_path / "broker", tls=listener, users=USERS).start()
    except mqtt_broker.BrokerError as exc:
        pytest.fail(f"MQTT broker: {exc}", pytrace=False)
    secret = tmp_path / "mqtt-password"
    secret.write_text(USERS["bridge"])
    secret.chmod(0o600)
    readings = field_readings(db)[:4]
    n = sum(len(_observations(r)) for r in readings)
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "NOTIFY_SOCKET")
    }

    def bridge(name, **env):
        log = tmp_path / f"{name}.log"
        with log.open("w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", code, "sensorthings", "bridge", "--from",
                 f"chirpstack-mqtts://bridge@localhost:{broker.port}/{APP}",
                 "--to", sta_server.url, "--mqtt-password-file", str(secret),
                 "--outbox", str(tmp_path / f"{name}.sqlite3")],
                env=dict(environ, **env), stderr=stderr,
            )  # fmt: skip
        return proc, log

    def stop(proc, log):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        text = log.read_text()
        assert "Traceback" not in text and USERS["bridge"] not in text
        return text

    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ns-tls")
    publisher.username_pw_set("ns", USERS["ns"])
    publisher.tls_set_context(ssl.create_default_context(cafile=str(ca.cert)))
    procs = []
    try:
        # the lab CA is not in the system store: refused, nothing connected
        proc, log = bridge("untrusted")
        procs.append(proc)
        wait_until(lambda: "cannot connect" in log.read_text(), 20, "the refusal")
        err = stop(proc, log)
        assert "the broker's certificate does not verify" in err, err
        assert "connected, application/" not in err
        # with the CA in the store: every Observation
        proc, log = bridge("trusted", SSL_CERT_FILE=str(ca.cert))
        procs.append(proc)
        publisher.connect("localhost", broker.port)
        publisher.loop_start()
        wait_until(lambda: "connected, application/" in log.read_text(), 20, "the bridge")
        time.sleep(0.5)  # subscribed
        for r in readings:
            publisher.publish(chirpstack_topic(r), chirpstack_json(r), qos=1).wait_for_publish(10)
        outbox = tmp_path / "trusted.sqlite3"
        wait_until(lambda: counters(outbox).get("delivered", 0) >= n, 30, "delivery")
        assert "cannot connect" not in stop(proc, log)
    finally:
        publisher.loop_stop()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        broker.stop()
    assert len(on_server(sta_server.url)) == n


def test_a_bridge_stops_promptly_while_it_cannot_connect(tmp_path, caplog):
    """No broker and no server: the bridge keeps trying (one line per reason), and a stop
    ends every thread at once."""
    port = mqtt_broker._free_port()
    down = StaClient(f"http://127.0.0.1:{mqtt_broker._free_port()}/sta/v1.1", timeout=2)
    bridge = Bridge(
        sources(port), down, str(tmp_path / "b.sqlite3"), reconnect_s=(1, 60), backoff_s=(1, 60)
    ).start()
    wait_until(lambda: "connection refused" in caplog.text, 20, "the refusal")
    time.sleep(1.5)  # in paho's wait before the next attempt
    began = time.monotonic()
    bridge.stop()
    assert time.monotonic() - began < 5
    assert len(bridge.dead()) == 3  # every thread ended
    assert caplog.text.count("cannot connect") == 2  # once per source, not once per attempt
    assert "SensorThings server unavailable" in caplog.text
