"""The ChirpStack forwarder over TLS against a real broker with a TLS-only listener, set up
as ChirpStack's installation guide sets up mosquitto: its own CA, `require_certificate true`,
`use_identity_as_username true` (the gateway's certificate CN is its user). Certificates
come from lorafield_tools.lab_pki (cryptography). Per broker: mosquitto where installed,
amqtt always; amqtt verifies a client certificate that is presented but cannot demand one,
so the cases that need a demanding broker skip there and say so.

Each failure case checks three things: the one-line reason (forwarder.problem, which the
service puts in its systemd STATUS), that it is counted, and that nothing queued is lost.
"""

import ssl
import time

import pytest
from chirpstack_api import gw
from gw_helpers import (
    BROKERS_TO_TEST,
    Subscriber,
    TcpLink,
    TlsServer,
    make_config,
    uplink,
    wait,
)
from lorafield_gateway import tls
from lorafield_gateway.clock import MonotonicClock
from lorafield_gateway.service import GatewayService
from lorafield_tools import mqtt_broker
from lorafield_tools.bench.gateway import MemoryRadio
from lorafield_tools.lab_pki import LabCA

GW = "0016c001ff0000c1"
DEMANDING_ONLY = "amqtt cannot demand a client certificate (its TLS listener uses CERT_OPTIONAL)"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = LabCA(directory)
    other = LabCA(directory / "other", name="some other CA")
    return {
        "ca": ca,
        "server": ca.server(),
        "server_wrong_host": ca.server("wrong-host", hosts=("broker.example.org",)),
        "client": ca.client(GW),
        "client_expired": ca.client(GW, stem="client-expired", days=-2),
        "subscriber": ca.client("test-subscriber", stem="subscriber"),
        "other_ca": other.cert,
        "client_other_ca": other.client(GW, stem="client-other"),
    }


@pytest.fixture(params=BROKERS_TO_TEST)
def kind(request):
    return request.param


def tls_broker(tmp_path, kind, pki, server="server", persistent=False):
    listener = mqtt_broker.TlsListener(pki["ca"].cert, pki[server].cert, pki[server].key)
    return mqtt_broker.Broker(tmp_path / "broker", kind, persistent=persistent, tls=listener)


def subscriber(port, pki, check_hostname=True):
    context = ssl.create_default_context(cafile=str(pki["ca"].cert))
    context.check_hostname = check_hostname
    context.load_cert_chain(pki["subscriber"].cert, pki["subscriber"].key)
    return Subscriber(port, f"eu868/gateway/{GW}/event/up", tls_context=context)


def gateway(tmp_path, port, **chirpstack):
    section = {"enabled": True, "host": "localhost", "port": port, "tls": True}
    section.update(reconnect_max_s=1, **chirpstack)
    cfg = make_config(tmp_path, gateway={"id": GW}, chirpstack=section)
    clock = MonotonicClock()
    radio = MemoryRadio(clock)
    service = GatewayService(cfg, radio=radio, clock=clock)
    service.start()
    return service, radio


def client_files(pki, name="client", ca=None):
    return {
        "ca_file": str(ca or pki["ca"].cert),
        "cert_file": str(pki[name].cert),
        "key_file": str(pki[name].key),
    }


def fcnts(sub):
    out = []
    for _, payload in list(sub.messages):
        frame = gw.UplinkFrame()
        frame.ParseFromString(payload)
        out.append(int.from_bytes(frame.phy_payload[6:8], "little"))
    return out


def forwarder(service):
    return next(f for f in service.forwarders if f.name == "chirpstack")


def test_mutual_tls_forwards_every_uplink_as_the_certificates_identity(tmp_path, kind, pki):
    with tls_broker(tmp_path, kind, pki) as broker:
        sub = subscriber(broker.port, pki)
        service, radio = gateway(tmp_path, broker.port, **client_files(pki))
        try:
            radio.frames.extend(uplink(0x26000001, n) for n in range(20))
            assert sub.wait_for(lambda m: len(m) >= 20), fcnts(sub)
            assert sorted(fcnts(sub)) == list(range(20))
            assert forwarder(service).problem is None
            assert service.status_line() == "forwarding to chirpstack"
            sock = forwarder(service).client.socket()
            assert isinstance(sock, ssl.SSLSocket) and sock.version() in ("TLSv1.2", "TLSv1.3")
        finally:
            service.stop()
            sub.close()
    if kind == "mosquitto":  # use_identity_as_username: the broker logged the CN as user
        assert f"u'{GW}'" in broker.log_path.read_text(errors="replace")


def assert_refused_and_kept(service, radio, words):
    """The forwarder cannot connect for `words`' reason; 5 uplinks stay queued."""
    radio.frames.extend(uplink(0x26000002, n) for n in range(5))
    fwd = forwarder(service)
    assert wait(lambda: fwd.problem is not None, timeout=15), "no problem reported"
    for word in words:
        assert word in fwd.problem, fwd.problem
    assert wait(lambda: service.queue.depth("chirpstack") == 5)
    assert service.stats.get("mqtt.connect_failed") >= 1
    assert f"chirpstack: {fwd.problem}" in service.status_line()
    time.sleep(1.5)  # a retry later: still refused, still nothing lost
    assert service.queue.depth("chirpstack") == 5
    assert fwd.problem is not None


def test_a_broker_certificate_from_an_unknown_ca_is_refused(tmp_path, kind, pki):
    with tls_broker(tmp_path, kind, pki) as broker:
        files = client_files(pki, ca=pki["other_ca"])
        service, radio = gateway(tmp_path, broker.port, **files)
        try:
            assert_refused_and_kept(service, radio, ["not signed by a CA in ca_file"])
        finally:
            service.stop()


def test_a_broker_certificate_for_another_host_is_refused(tmp_path, kind, pki):
    with tls_broker(tmp_path, kind, pki, server="server_wrong_host") as broker:
        service, radio = gateway(tmp_path, broker.port, **client_files(pki))
        try:
            assert_refused_and_kept(service, radio, ["not issued for 'localhost'"])
        finally:
            service.stop()


def test_an_expired_client_certificate_is_named_in_the_refusal(tmp_path, kind, pki):
    with tls_broker(tmp_path, kind, pki) as broker:
        service, radio = gateway(tmp_path, broker.port, **client_files(pki, "client_expired"))
        try:
            assert_refused_and_kept(service, radio, ["client certificate", "EXPIRED on"])
        finally:
            service.stop()


def test_a_client_certificate_from_an_unknown_ca_is_refused(tmp_path, kind, pki):
    with tls_broker(tmp_path, kind, pki) as broker:
        service, radio = gateway(tmp_path, broker.port, **client_files(pki, "client_other_ca"))
        try:
            assert_refused_and_kept(service, radio, ["client certificate"])
        finally:
            service.stop()


def test_a_broker_that_hangs_up_without_an_alert_is_named_with_our_certificate(tmp_path, pki):
    # A refusal whose alert never reaches us (mosquitto in CI: an EOF after the handshake):
    # the reason still names our certificate's facts.
    server = TlsServer(pki["server"])
    service, radio = gateway(tmp_path, server.port, **client_files(pki, "client_expired"))
    try:
        assert_refused_and_kept(
            service, radio, ["closed the connection before its CONNACK", "EXPIRED on"]
        )
    finally:
        service.stop()
        server.close()


def test_a_broker_that_demands_a_client_certificate_says_so(tmp_path, kind, pki):
    if kind != "mosquitto":
        pytest.skip(DEMANDING_ONLY)
    with tls_broker(tmp_path, kind, pki) as broker:
        service, radio = gateway(tmp_path, broker.port, ca_file=str(pki["ca"].cert))
        try:
            assert_refused_and_kept(service, radio, ["demands a client certificate", "cert_file"])
        finally:
            service.stop()


def test_uplinks_across_a_tls_link_outage_none_lost(tmp_path, kind, pki):
    """The TLS session is cut under the gateway (both ends closed, connecting refused) and
    comes back: what was queued meanwhile arrives, in order."""
    with tls_broker(tmp_path, kind, pki) as broker:
        sub = subscriber(broker.port, pki)
        link = TcpLink(broker.port)
        service, radio = gateway(tmp_path, link.port, **client_files(pki))
        try:
            radio.frames.extend(uplink(0x26000003, n) for n in range(10))
            assert sub.wait_for(lambda m: len(m) >= 10)
            link.cut()
            radio.frames.extend(uplink(0x26000003, n) for n in range(10, 40))
            # 30 new ones queued, and any of the first 10 whose PUBACK the cut took
            assert wait(lambda: service.queue.depth("chirpstack") >= 30)
            assert wait(lambda: forwarder(service).problem is not None, timeout=15)
            link.heal()
            assert sub.wait_for(lambda m: len(set(fcnts(sub))) >= 40, timeout=20), fcnts(sub)
            assert sorted(set(fcnts(sub))) == list(range(40))
            assert wait(lambda: forwarder(service).problem is None)
        finally:
            service.stop()
            link.cut()
            sub.close()


def test_uplinks_across_a_broker_restart_during_the_tls_session_none_lost(tmp_path, kind, pki):
    if kind != "mosquitto":
        pytest.skip("amqtt keeps no session across a restart (tests/README.md): link cut above")
    broker = tls_broker(tmp_path, kind, pki, persistent=True).start()
    sub = subscriber(broker.port, pki)
    service, radio = gateway(tmp_path, broker.port, **client_files(pki))
    try:
        radio.frames.extend(uplink(0x26000004, n) for n in range(10))
        assert sub.wait_for(lambda m: len(m) >= 10)
        broker.stop()
        radio.frames.extend(uplink(0x26000004, n) for n in range(10, 30))
        assert wait(lambda: service.queue.depth("chirpstack") >= 20)
        broker.start()
        assert sub.wait_for(lambda m: len(set(fcnts(sub))) >= 30, timeout=30), fcnts(sub)
        assert sorted(set(fcnts(sub))) == list(range(30))
    finally:
        service.stop()
        sub.close()
        broker.stop()


def test_password_from_the_systemd_credentials_directory(tmp_path, kind, pki, monkeypatch):
    """A broker with users (no anonymous access): the password comes from
    $CREDENTIALS_DIRECTORY/<name>, as LoadCredential= provides it; a wrong one is refused
    with the broker's reason and never appears in the log or the status."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt-password").write_text("s3cret-Passw0rd\n")
    (credentials / "mqtt-password").chmod(0o400)
    (credentials / "wrong-password").write_text("not-the-password\n")
    (credentials / "wrong-password").chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    listener = mqtt_broker.TlsListener(
        pki["ca"].cert, pki["server"].cert, pki["server"].key, require_certificate=False
    )
    users = {"gw": "s3cret-Passw0rd", "test-subscriber": "sub-pass"}
    users_login = ("test-subscriber", "sub-pass")
    with mqtt_broker.Broker(tmp_path / "broker", kind, tls=listener, users=users) as broker:
        context = ssl.create_default_context(cafile=str(pki["ca"].cert))
        topic = f"eu868/gateway/{GW}/event/up"
        sub = Subscriber(broker.port, topic, tls_context=context, login=users_login)
        common = {"ca_file": str(pki["ca"].cert), "username": "gw"}
        service, radio = gateway(
            tmp_path / "a", broker.port, password_file="mqtt-password", **common
        )
        try:
            radio.frames.extend(uplink(0x26000005, n) for n in range(5))
            assert sub.wait_for(lambda m: len(m) >= 5)
        finally:
            service.stop()
            sub.close()
        service, radio = gateway(
            tmp_path / "b", broker.port, password_file="wrong-password", **common
        )
        try:
            assert_refused_and_kept(service, radio, ["refused"])
            assert "not-the-password" not in service.status_line()
        finally:
            service.stop()


def test_skipping_verification_is_explicit_and_warned_at_every_connection(
    tmp_path, kind, pki, caplog
):
    """tls_insecure_skip_verify connects to a broker whose certificate names another host,
    and says so before each connection attempt (here: the first and the one after a cut)."""
    caplog.set_level("WARNING", logger="lorafield.gateway.chirpstack")
    with tls_broker(tmp_path, kind, pki, server="server_wrong_host") as broker:
        sub = subscriber(broker.port, pki, check_hostname=False)
        link = TcpLink(broker.port)
        files = client_files(pki, ca=pki["other_ca"])  # not even the right CA
        service, radio = gateway(tmp_path, link.port, tls_insecure_skip_verify=True, **files)
        try:
            radio.frames.extend(uplink(0x26000006, n) for n in range(3))
            assert sub.wait_for(lambda m: len(m) >= 3)
            link.cut()
            link.heal()
            radio.frames.extend(uplink(0x26000006, n) for n in range(3, 6))
            assert sub.wait_for(lambda m: len(set(fcnts(sub))) >= 6, timeout=15)
        finally:
            service.stop()
            link.cut()
            sub.close()
    warnings = [r for r in caplog.records if "WITHOUT verifying" in r.getMessage()]
    assert len(warnings) >= 2


@pytest.mark.parametrize(
    "logged",
    [
        # paho's log line when mosquitto refused an expired client certificate in CI
        "failed to receive on socket: EOF occurred in violation of protocol (_ssl.c:2427)",
        "failed to receive on socket: [Errno 104] Connection reset by peer",
    ],
)
def test_a_hang_up_without_an_alert_names_our_certificate(tmp_path, pki, logged):
    section = {"host": "localhost", "port": 8883, "tls": True}
    section.update(client_files(pki, "client_expired"))
    problem = tls.describe(logged, make_config(tmp_path, chirpstack=section).chirpstack)
    assert problem.startswith("localhost:8883: the broker closed the connection before its")
    assert f"did it refuse our client certificate? cert_file CN={GW}, EXPIRED on" in problem
