"""A throwaway certificate authority for the TLS tests, `lorafield bench gateway` and lab
brokers: a CA, a broker certificate for 127.0.0.1/localhost and gateway client certificates,
shaped like the ones ChirpStack issues (client CN = the gateway EUI, clientAuth usage).

Keys are EC P-256 (what ChirpStack's own CA issues, and quick to make); every private key
file is written 0600. Nothing here is for production: the CA key sits next to its
certificate.
"""

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _now():
    return datetime.datetime.now(datetime.UTC)


def _write_key(path, key):
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class LabCA:
    """A CA in `directory` (ca.pem, ca-key.pem) that issues certificates into it."""

    def __init__(self, directory, name="lorafield lab CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert = self.directory / "ca.pem"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        _write_key(self.directory / "ca-key.pem", self._key)

    def issue(self, stem, common_name, *, hosts=(), client=False, valid_from=None, days=365):
        """A certificate signed by this CA: `hosts` as subjectAltNames (DNS names and IP
        addresses) for a server, clientAuth usage for a client; valid from `valid_from`
        (default: a day ago) for `days` (negative: already expired)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = valid_from or _now() - DAY
        end = start + days * DAY if days > 0 else _now() + days * DAY
        if end <= start:
            start = end - 30 * DAY
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if hosts:
            names = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        issued = Issued(self.directory / f"{stem}.pem", self.directory / f"{stem}-key.pem")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(issued.key, key)
        return issued

    def server(self, stem="broker", hosts=("localhost", "127.0.0.1"), **kwargs):
        return self.issue(stem, hosts[0], hosts=hosts, **kwargs)

    def client(self, common_name, stem="gateway", **kwargs):
        return self.issue(stem, common_name, client=True, **kwargs)
