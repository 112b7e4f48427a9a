"""`lorafield gateway check-backhaul`: one connection to each enabled forwarder's server,
as the service would make it, and what was found: the TLS version and certificates, the
broker's CONNACK, the Semtech server's PULL_ACK. Installers run it before they leave.

The MQTT check connects with its own client id (``lorafield-check-<EUI>``), publishes
nothing and sets no will, so a running gateway service on the same broker is not
disturbed.
"""

import os
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from . import tls
from .config import ConfigError
from .credentials import resolve
from .semtech import pull_ack, pull_data
from .semtech.header import SemtechError


@dataclass
class Check:
    """The outcome for one forwarder: `problem` is None when it works."""

    name: str
    target: str
    facts: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    problem: str = None

    @property
    def ok(self):
        return self.problem is None


def check_all(config, timeout_s=10.0):
    """A Check per enabled forwarder of `config`, in the service's order."""
    checks = []
    if config.semtech.enabled:
        checks.append(check_semtech(config, timeout_s))
    if config.chirpstack.enabled:
        checks.append(check_chirpstack(config, timeout_s))
    if config.local.enabled:
        checks.append(check_local(config))
    return checks


def check_chirpstack(config, timeout_s=10.0):
    from .forwarders.chirpstack_mqtt import connect_client

    section = config.chirpstack
    scheme = "mqtts" if section.tls else "mqtt"
    result = Check("chirpstack", f"{scheme}://{section.host}:{section.port}")
    try:
        client = connect_client(section, f"lorafield-check-{config.gateway.id}")
    except ConfigError as exc:
        result.problem = str(exc)
        return result
    answer = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        answer["reason"] = reason_code
        done.set()

    def on_log(client, userdata, level, text):
        if level == mqtt.MQTT_LOG_ERR and "socket" in text:
            client.last_error = text
            done.set()

    def on_disconnect(client, userdata, flags, reason_code, properties):
        answer.setdefault("closed", True)
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_log = on_log
    client.connect_timeout = timeout_s
    try:
        client.connect(section.host, section.port, keepalive=max(10, int(timeout_s)))
    except OSError as exc:
        result.problem = tls.describe(exc, section)
        return result
    try:
        _tls_facts(client.socket(), section, result)
        client.loop_start()
        done.wait(timeout_s)
        client.loop_stop()
        reason = answer.get("reason")
        if reason is None:
            error = client.last_error
            if error:
                result.problem = tls.describe(error, section)
            elif answer.get("closed"):
                result.problem = tls.closed_before_connack(section)
            else:
                result.problem = (
                    f"{section.host}:{section.port}: no MQTT CONNACK in {timeout_s:g} s"
                )
        elif reason.is_failure:
            who = f" (user {section.username})" if section.username else ""
            result.problem = f"{section.host}:{section.port}: the broker refused{who}: {reason}"
        else:
            user = section.username or (
                "the certificate's CN" if section.cert_file else "anonymous"
            )
            result.facts.append(f"MQTT CONNACK: accepted (as {user})")
    finally:
        try:
            client.disconnect()
        except (OSError, ValueError):
            pass
    if not section.tls:
        result.warnings.append(
            "plain MQTT: the password and every frame cross the network readable; set"
            " tls = true for anything beyond this host"
        )
    return result


def _tls_facts(sock, section, result):
    if not isinstance(sock, ssl.SSLSocket):
        return
    result.facts.append(f"{sock.version()}, cipher {sock.cipher()[0]}")
    der = sock.getpeercert(binary_form=True)
    if der:
        facts = tls.certificate_facts(der)
        result.facts.append(
            f"broker certificate {facts['subject']} (issuer {facts['issuer']}),"
            f" {tls.validity_note(facts)}"
        )
    if section.tls_insecure_skip_verify:
        result.warnings.append(
            "tls_insecure_skip_verify = true: the broker's certificate was NOT verified"
        )
    if section.cert_file:
        facts = tls.file_certificate_facts(resolve(section.cert_file))
        if facts is not None:
            result.facts.append(
                f"client certificate {facts['subject']} (issuer {facts['issuer']}),"
                f" {tls.validity_note(facts)}"
            )
            if 0 <= (facts["not_after"] - _utcnow()).days < 30:
                result.warnings.append("the client certificate expires within 30 days")


def _utcnow():
    import datetime

    return datetime.datetime.now(datetime.UTC)


def check_semtech(config, timeout_s=5.0):
    """PULL_DATA to the server's downlink port, and its PULL_ACK within `timeout_s`."""
    section = config.semtech
    result = Check("semtech", f"udp://{section.server}:{section.port_down}")
    result.warnings.append(
        "Semtech UDP is not encrypted or authenticated: keep it on this host or in a VPN"
    )
    token = secrets.randbits(16)
    packet = pull_data.encode(pull_data.PullData(token, config.gateway.id))
    try:
        address = socket.getaddrinfo(section.server, section.port_down, type=socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = address[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(sockaddr)
            began = time.monotonic()
            deadline = began + min(timeout_s, 5.0)
            sock.send(packet)
            while True:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                data = sock.recv(65535)
                try:
                    if pull_ack.decode(data).token == token:
                        break
                except SemtechError:
                    continue  # another packet type, or noise: keep waiting for ours
            result.facts.append(f"PULL_ACK in {(time.monotonic() - began) * 1000:.1f} ms")
    except TimeoutError:
        result.problem = (
            f"{section.server}:{section.port_down}: no PULL_ACK in {min(timeout_s, 5.0):g} s"
            " (is the Gateway Bridge / server listening on this port?)"
        )
    except OSError as exc:
        result.problem = f"{section.server}:{section.port_down}: {exc.strerror or exc}"
    return result


def check_local(config):
    """The embedded server has no network path: its fleet must load. Its database is only
    named (opening it here, perhaps as another user, could create it with the wrong owner)."""
    from .fleet import FleetError, load_fleet

    local = config.local
    path = config.lns_path
    state = "exists" if os.path.exists(path) else "created at the first start"
    result = Check("local", f"embedded network server, database {path} ({state})")
    if not local.fleet:
        result.problem = "local.fleet is not set: the local server would know no device"
        return result
    try:
        fleet = load_fleet(local.fleet)
    except (FleetError, ValueError) as exc:
        result.problem = f"local.fleet: {exc}"
        return result
    result.facts.append(f"fleet {local.fleet}: {len(fleet)} devices")
    return result


def render(checks):
    """The report: one block per forwarder, OK or FAILED first."""
    lines = []
    for check in checks:
        status = "OK" if check.ok else f"FAILED: {check.problem}"
        lines.append(f"{check.name:<11} {check.target}  {status}")
        lines.extend(f"{'':<11} {fact}" for fact in check.facts)
        lines.extend(f"{'':<11} warning: {text}" for text in check.warnings)
    return "\n".join(lines)
