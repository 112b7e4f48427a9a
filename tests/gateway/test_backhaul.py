"""`lorafield gateway check-backhaul`: one connection per enabled forwarder, what it found,
and exit 1 with the reason when something is wrong. The MQTT side runs against a real
broker's TLS listener; the broker-certificate date cases against a TLS server made with
Python's ssl module (OpenSSL), since no broker starts with an expired certificate of its own
choosing more simply."""

import datetime
import socket

import pytest
from gw_helpers import TlsServer, UdpServer
from lorafield_tools import mqtt_broker
from lorafield_tools.cli import main
from lorafield_tools.lab_pki import LabCA

GW = "0016c001ff0000c2"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = LabCA(tmp_path_factory.mktemp("pki"))
    now = datetime.datetime.now(datetime.UTC)
    return {
        "ca": ca,
        "server": ca.server(),
        "client": ca.client(GW),
        "client_expired": ca.client(GW, stem="client-expired", days=-2),
        "expired": ca.server("expired", days=-3),
        "future": ca.server("future", valid_from=now + datetime.timedelta(days=2)),
    }


def run(capsys, tmp_path, text, *extra):
    config = tmp_path / "gw.toml"
    config.write_text(f'[gateway]\nid = "{GW}"\nstate_dir = "{tmp_path}/state"\n' + text)
    status = main(["gateway", "check-backhaul", "--config", str(config), *extra])
    out, err = capsys.readouterr()
    return status, out, err


def chirpstack(port, pki, **extra):
    lines = [
        "[chirpstack]",
        "enabled = true",
        'host = "localhost"',
        f"port = {port}",
        "tls = true",
        f'ca_file = "{pki["ca"].cert}"',
        f'cert_file = "{pki["client"].cert}"',
        f'key_file = "{pki["client"].key}"',
    ]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def test_a_working_tls_backhaul_is_reported_with_its_certificates(capsys, tmp_path, pki):
    listener = mqtt_broker.TlsListener(pki["ca"].cert, pki["server"].cert, pki["server"].key)
    with mqtt_broker.Broker(tmp_path / "broker", tls=listener) as broker:
        udp = UdpServer()
        try:
            semtech = f"[semtech]\nenabled = true\nport_up = {udp.port}\nport_down = {udp.port}\n"
            status, out, err = run(capsys, tmp_path, chirpstack(broker.port, pki) + semtech)
        finally:
            udp.close()
    assert status == 0, err
    assert err == ""
    assert f"chirpstack  mqtts://localhost:{broker.port}  OK" in out
    assert "TLSv1.3" in out or "TLSv1.2" in out
    assert "broker certificate CN=localhost (issuer CN=lorafield lab CA), valid until" in out
    assert f"client certificate CN={GW}" in out
    assert "MQTT CONNACK: accepted" in out
    assert f"semtech     udp://localhost:{udp.port}  OK" in out and "PULL_ACK in" in out
    assert "not encrypted or authenticated" in out  # said for Semtech every time


def test_a_wrong_ca_fails_with_the_reason_and_exit_1(capsys, tmp_path, pki):
    other = LabCA(tmp_path / "other", name="another CA")
    listener = mqtt_broker.TlsListener(pki["ca"].cert, pki["server"].cert, pki["server"].key)
    with mqtt_broker.Broker(tmp_path / "broker", tls=listener) as broker:
        text = chirpstack(broker.port, pki).replace(str(pki["ca"].cert), str(other.cert))
        status, out, err = run(capsys, tmp_path, text)
    assert status == 1
    assert "FAILED: " in out and "not signed by a CA in ca_file" in out
    assert err == "lorafield gateway check-backhaul: 1 of 1 failed: chirpstack\n"


@pytest.mark.parametrize(
    "which, words",
    [
        ("expired", "the broker's certificate has expired"),
        ("future", "not valid yet: check this gateway's clock (NTP"),
    ],
)
def test_broker_certificate_dates_are_named(capsys, tmp_path, pki, which, words):
    server = TlsServer(pki[which])
    try:
        status, out, err = run(capsys, tmp_path, chirpstack(server.port, pki), "--timeout", "2")
    finally:
        server.close()
    assert status == 1 and words in out, out


def test_nothing_listening_and_a_silent_semtech_server(capsys, tmp_path, pki):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        closed = socket.create_server(("127.0.0.1", 0))
        tcp_port = closed.getsockname()[1]
        closed.close()
        semtech = f"[semtech]\nenabled = true\nport_up = {port}\nport_down = {port}\n"
        status, out, err = run(
            capsys, tmp_path, chirpstack(tcp_port, pki) + semtech, "--timeout", "1"
        )
    assert status == 1
    assert "connection refused" in out
    assert "no PULL_ACK in 1 s" in out
    assert "2 of 2 failed: semtech, chirpstack" in err


def test_no_forwarder_and_bad_config_are_usage_errors(capsys, tmp_path):
    status, out, err = run(capsys, tmp_path, "")
    assert status == 2 and "no forwarder is enabled" in err
    status, out, err = run(capsys, tmp_path, "[chirpstack]\nenabled = true\nca_file = 'x'\n")
    assert status == 2 and "chirpstack.ca_file: set, but chirpstack.tls is false" in err


def test_the_local_server_check_loads_the_fleet_and_names_the_database(capsys, tmp_path):
    status, out, err = run(capsys, tmp_path, "[local]\nenabled = true\n")
    assert status == 1 and "local.fleet is not set" in out
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[[device]]\ndev_eui = "70b3d57ed0000001"\nkind = "parking"\n'
        'join_eui = "0000000000000000"\napp_key = "000102030405060708090a0b0c0d0e0f"\n'
    )
    status, out, err = run(capsys, tmp_path, f'[local]\nenabled = true\nfleet = "{fleet}"\n')
    assert status == 0, out + err
    assert "1 devices" in out and "lns.sqlite3 (created at the first start)" in out
    assert not (tmp_path / "state" / "lns.sqlite3").exists()


def test_a_broker_that_hangs_up_after_the_handshake_is_named_with_our_certificate(
    capsys, tmp_path, pki
):
    # A broker refusing our certificate without an alert reaching us (mosquitto in CI: an EOF
    # after the handshake): the reason still says what our certificate is.
    server = TlsServer(pki["server"])
    try:
        text = chirpstack(server.port, pki).replace(
            str(pki["client"].cert), str(pki["client_expired"].cert)
        )
        text = text.replace(str(pki["client"].key), str(pki["client_expired"].key))
        status, out, err = run(capsys, tmp_path, text, "--timeout", "2")
    finally:
        server.close()
    assert status == 1
    assert "the broker closed the connection before its CONNACK" in out, out
    assert f"did it refuse our client certificate? cert_file CN={GW}, EXPIRED on" in out
