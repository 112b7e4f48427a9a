"""TLS for the gateway's backhaul: the client context from `[chirpstack]`, and what a failed
handshake means, in one line an installer can act on.

OpenSSL reports a problem either on our side of the handshake (the broker's certificate
does not verify: `ssl.SSLCertVerificationError` with its X.509 verify code) or as an alert
the broker sends (it refused our certificate: the alert's name in the error text, e.g.
``SSLV3_ALERT_CERTIFICATE_EXPIRED``). With TLS 1.3 that alert arrives after our side has
finished, on the first read, so paho only logs it: `describe` therefore also takes text.
When the broker closes at once, the alert can be lost (a reset) and only an EOF is left.
"""

import datetime
import ssl

from .config import ConfigError
from .credentials import CredentialError, check_private, resolve

# X.509 verify codes (OpenSSL x509_vfy.h) of the broker's certificate.
_VERIFY_EXPIRED = 10
_VERIFY_NOT_YET_VALID = 9
_VERIFY_HOSTNAME = 62
_VERIFY_IP = 64
_VERIFY_UNKNOWN_ISSUER = (2, 7, 18, 19, 20, 21)  # 7: signed by a same-named other CA

_CLOCK_HINT = "check this gateway's clock (NTP; a Pi has no RTC)"


def _file(section, key):
    """A `*_file` option's path (a credential name resolved); the private key checked."""
    value = getattr(section, key)
    if not value:
        return None
    try:
        path = resolve(value)
        return check_private(path) if key == "key_file" else path
    except CredentialError as exc:
        raise ConfigError(f"chirpstack.{key}: {exc}") from None


def client_context(section):
    """An SSLContext for `section` (config.ChirpstackSection with tls = true): TLS >= 1.2,
    the broker verified against ca_file or the system store, the client certificate loaded.
    File problems are ConfigErrors naming the key."""
    ca_file = _file(section, "ca_file")
    cert_file = _file(section, "cert_file")
    key_file = _file(section, "key_file")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    except FileNotFoundError as exc:
        raise ConfigError(f"chirpstack.ca_file: cannot read {ca_file}: {exc.strerror}") from None
    except (ssl.SSLError, OSError):
        raise ConfigError(f"chirpstack.ca_file: {ca_file} holds no PEM certificate") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file)
        except OSError as exc:
            if isinstance(exc, ssl.SSLError) and "KEY_VALUES_MISMATCH" in str(exc):
                raise ConfigError(
                    f"chirpstack.key_file: {key_file} is not the key of the certificate in"
                    f" chirpstack.cert_file {cert_file}"
                ) from None
            if isinstance(exc, ssl.SSLError):
                raise ConfigError(
                    f"chirpstack.cert_file: {cert_file} / key_file {key_file}: not a PEM"
                    " certificate and its unencrypted private key"
                ) from None
            raise ConfigError(f"chirpstack.cert_file: cannot read: {exc.strerror}") from None
    if section.tls_insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def certificate_facts(der):
    """Subject, issuer and validity of a DER certificate (for messages and check-backhaul)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return {
        "subject": cert.subject.rfc4514_string() or "(empty)",
        "issuer": cert.issuer.rfc4514_string() or "(empty)",
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
    }


def file_certificate_facts(path):
    """`certificate_facts` of the first certificate in a PEM file, or None if unreadable."""
    try:
        with open(path, "rb") as handle:
            der = ssl.PEM_cert_to_DER_cert(handle.read().decode("ascii"))
        return certificate_facts(der)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def validity_note(facts, now=None):
    """'valid until 2027-01-01 (300 days)', 'EXPIRED on ...' or 'not valid before ...'."""
    now = now or datetime.datetime.now(datetime.UTC)
    if now > facts["not_after"]:
        return f"EXPIRED on {facts['not_after']:%Y-%m-%d}"
    if now < facts["not_before"]:
        return f"not valid before {facts['not_before']:%Y-%m-%d %H:%M} UTC ({_CLOCK_HINT})"
    days = (facts["not_after"] - now).days
    return f"valid until {facts['not_after']:%Y-%m-%d} ({days} days)"


def describe(error, section):
    """One line saying what went wrong in a connection attempt to `section`'s broker, from
    the exception or from paho's log text; never a secret (ssl texts carry none)."""
    host = f"{section.host}:{section.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        if code == _VERIFY_EXPIRED:
            return f"{host}: the broker's certificate has expired ({_CLOCK_HINT} if it should not)"
        if code == _VERIFY_NOT_YET_VALID:
            return f"{host}: the broker's certificate is not valid yet: {_CLOCK_HINT}"
        if code in (_VERIFY_HOSTNAME, _VERIFY_IP):
            return (
                f"{host}: the broker's certificate is not issued for {section.host!r}"
                " (set chirpstack.host to a name in the certificate)"
            )
        if code in _VERIFY_UNKNOWN_ISSUER:
            trust = f"ca_file {section.ca_file}" if section.ca_file else "the system trust store"
            return f"{host}: the broker's certificate is not signed by a CA in {trust}"
        return f"{host}: the broker's certificate does not verify: {error.verify_message}"
    text = str(error)
    if "ALERT_CERTIFICATE_REQUIRED" in text or (
        "ALERT_HANDSHAKE_FAILURE" in text and not section.cert_file
    ):
        return f"{host}: the broker demands a client certificate" + (
            " and refused ours" if section.cert_file else ": set cert_file and key_file"
        )
    if "ALERT_CERTIFICATE_EXPIRED" in text:
        return f"{host}: the broker refused our client certificate: {_own_certificate(section)}"
    if "ALERT_UNKNOWN_CA" in text:
        return f"{host}: the broker does not trust the CA of our client certificate (cert_file)"
    if "ALERT_BAD_CERTIFICATE" in text or "ALERT_CERTIFICATE_UNKNOWN" in text:
        return f"{host}: the broker refused our client certificate ({_own_certificate(section)})"
    if _hung_up(error, text):
        return closed_before_connack(section)
    if "ALERT_PROTOCOL_VERSION" in text or "UNSUPPORTED_PROTOCOL" in text:
        return f"{host}: no common TLS version (we need TLS 1.2 or newer)"
    if "WRONG_VERSION_NUMBER" in text or "RECORD_LAYER_FAILURE" in text:
        return f"{host}: the broker does not speak TLS on this port (plain MQTT is 1883)"
    if isinstance(error, ConnectionRefusedError):
        return f"{host}: connection refused (is the broker running, is this its port?)"
    if isinstance(error, TimeoutError):
        return f"{host}: no answer (timeout): firewall, or a wrong address"
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror
        if getattr(error, "errno", None) in (-2, -3, -5):  # socket.EAI_*: the name
            reason = f"cannot resolve the host name ({reason})"
        return f"{host}: {reason}"
    return f"{host}: {text or type(error).__name__}"


def _hung_up(error, text):
    """The broker closed the TCP connection with no TLS alert: a refusal of our certificate
    looks like this whenever the alert is lost (it races our CONNECT; seen with mosquitto),
    so it is named like a close before CONNACK, with our certificate's own facts."""
    if isinstance(error, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError)):
        return True
    return "EOF occurred in violation of protocol" in text or "Connection reset by peer" in text


def closed_before_connack(section):
    """The broker hung up between the handshake and its CONNACK, without a TLS alert."""
    text = f"{section.host}:{section.port}: the broker closed the connection before its CONNACK"
    if section.tls and section.cert_file:
        return f"{text} (did it refuse our client certificate? {_own_certificate(section)})"
    return text


def _own_certificate(section):
    """What our client certificate says about itself, for a refusal's message."""
    try:
        path = resolve(section.cert_file) if section.cert_file else None
    except CredentialError:
        path = None
    facts = file_certificate_facts(path) if path else None
    if facts is None:
        return "cert_file"
    return f"cert_file {facts['subject']}, {validity_note(facts)}"
