"""The gateway's configuration: one typed tree with defaults, loaded from TOML.

Each section is a dataclass; each key carries its documentation and its check in the field
metadata, so the loader, the validation messages and `lorafield gateway print-config` (an
annotated default file) come from the same place. Any problem is a `ConfigError` naming the
key, e.g. ``radio.sf: must be an integer in 7..12, got 13``.
"""

import textwrap
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace

from .toml_text import toml_value


class ConfigError(ValueError):
    """Invalid configuration: one line that names the key."""


def _key(default, doc, check=None, secret=False):
    """A config key; a `secret` one's value is never shown in an error."""
    return field(default=default, metadata={"doc": doc, "check": check, "secret": secret})


def _int_range(low, high):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be an integer in {low}..{high}"
        return None

    return check


def _one_of(*choices):
    def check(value):
        if value not in choices:
            return "must be one of " + ", ".join(repr(c) for c in choices)
        return None

    return check


def _hex_eui(value):
    try:
        ok = isinstance(value, str) and len(bytes.fromhex(value)) == 8 and len(value) == 16
    except ValueError:
        ok = False
    return None if ok else "must be 16 hex digits (an EUI-64)"


def _port(value):
    return _int_range(1, 65535)(value)


@dataclass(frozen=True)
class GatewaySection:
    id: str = _key(
        "0016c001ff000001",
        "Gateway EUI-64, 16 hex digits: set your own (e.g. the MAC with fffe in the middle).",
        _hex_eui,
    )
    state_dir: str = _key(
        "/var/lib/lorafield-gateway", "Directory for the durable queue (systemd StateDirectory)."
    )
    stats_interval_s: int = _key(
        30, "Seconds between stats messages and stats log lines.", _int_range(1, 86400)
    )
    log_level: str = _key("info", "Log level.", _one_of("debug", "info", "warning", "error"))


@dataclass(frozen=True)
class RadioSection:
    kind: str = _key(
        "rfm95",
        "'rfm95' (the SPI radio through Blinka), 'emulated' (emulated SX1276 and nodes, for"
        " tests and demos) or 'replay' (frames read from a JSON-lines file, for tests).",
        _one_of("rfm95", "emulated", "replay"),
    )
    frequency_hz: int = _key(
        868_100_000,
        "Receive frequency in Hz (single channel).",
        _int_range(137_000_000, 1_020_000_000),
    )
    sf: int = _key(7, "Receive spreading factor (single SF).", _int_range(7, 12))
    bw_hz: int = _key(125_000, "Receive bandwidth in Hz.", _one_of(125_000, 250_000, 500_000))
    coding_rate: int = _key(5, "Coding rate 4/N: N.", _int_range(5, 8))
    preamble: int = _key(8, "Preamble length in symbols.", _int_range(6, 65535))
    tx_power_max_dbm: int = _key(
        14,
        "Highest TX power used: higher requests are clamped to it (below 2 dBm: TX_POWER).",
        _int_range(5, 20),
    )
    tx_freq_min_hz: int = _key(
        863_000_000,
        "Lowest TX frequency accepted (else TX_FREQ).",
        _int_range(137_000_000, 1_020_000_000),
    )
    tx_freq_max_hz: int = _key(
        870_000_000,
        "Highest TX frequency accepted (else TX_FREQ).",
        _int_range(137_000_000, 1_020_000_000),
    )
    tx_max_advance_ms: int = _key(
        10_000,
        "Downlinks scheduled further ahead than this are refused as TOO_EARLY.",
        _int_range(100, 60_000),
    )
    tx_prepare_us: int = _key(
        3_000, "Leave RX this long before a downlink to load the FIFO.", _int_range(200, 100_000)
    )
    poll_interval_us: int = _key(
        500, "Radio IRQ poll period: bounds the uplink timestamp error.", _int_range(50, 100_000)
    )
    forward_crc_error: bool = _key(False, "Forward frames whose payload CRC failed.")
    spi_cs_pin: str = _key("CE1", "Blinka `board` pin for the RFM95 chip select.")
    spi_reset_pin: str = _key("D25", "Blinka `board` pin for the RFM95 reset.")
    replay_path: str = _key("", "kind='replay': JSON-lines file of frames, followed as it grows.")
    emulated_nodes: int = _key(
        2,
        "kind='emulated': emulated nodes sending uplinks. With local.fleet set, the first N"
        " devices of that fleet, which join with its keys and send readings of their kind;"
        " otherwise anonymous ABP test nodes.",
        _int_range(0, 1000),
    )
    emulated_interval_ms: int = _key(
        1_000, "kind='emulated': ms between a node's uplinks.", _int_range(10, 3_600_000)
    )


@dataclass(frozen=True)
class QueueSection:
    path: str = _key(
        "", "SQLite file of the store-and-forward queue; '' = state_dir/queue.sqlite3."
    )
    max_frames: int = _key(
        100_000,
        "Frames kept per forwarder; beyond, the oldest are dropped and counted.",
        _int_range(1, 100_000_000),
    )
    max_age_s: int = _key(
        7 * 86400, "Frames older than this are dropped and counted.", _int_range(1, 365 * 86400)
    )


@dataclass(frozen=True)
class SemtechSection:
    enabled: bool = _key(False, "Forward to a Semtech UDP (protocol v2) server.")
    server: str = _key(
        "localhost",
        "Server host name or address. Not encrypted: keep it on this host or a VPN.",
    )
    port_up: int = _key(1700, "Server port for PUSH_DATA.", _port)
    port_down: int = _key(1700, "Server port for PULL_DATA (downlinks).", _port)
    keepalive_s: int = _key(10, "Seconds between PULL_DATA keepalives.", _int_range(1, 3600))
    push_timeout_ms: int = _key(
        1_000, "Resend PUSH_DATA not acknowledged after this long.", _int_range(10, 60_000)
    )
    max_batch: int = _key(8, "rxpk objects per PUSH_DATA.", _int_range(1, 64))


@dataclass(frozen=True)
class ChirpstackSection:
    enabled: bool = _key(False, "Forward to ChirpStack v4 over MQTT.")
    host: str = _key(
        "localhost", "MQTT broker host (with tls: the name its certificate is checked for)."
    )
    port: int = _key(1883, "MQTT broker port. Default 1883, or 8883 with tls = true.", _port)
    tls: bool = _key(
        False,
        "MQTT over TLS (1.2 or newer), the broker's certificate and host name always verified:"
        " what a gateway needs across the internet or LTE.",
    )
    ca_file: str = _key(
        "",
        "tls: CA certificate(s), PEM, that sign the broker's certificate (ChirpStack: the"
        " 'CA certificate' of the gateway's TLS certificate page); '' = the system trust"
        " store. A bare name (no '/') here and in the other *_file keys is a systemd"
        " credential (LoadCredential=, read from $CREDENTIALS_DIRECTORY).",
    )
    cert_file: str = _key(
        "",
        "tls: client certificate, PEM, for brokers that authenticate gateways by certificate"
        " (ChirpStack: the gateway's 'TLS certificate'). Needs key_file.",
    )
    key_file: str = _key(
        "",
        "tls: the client certificate's private key, PEM; a file others cannot read (mode"
        " 0600) or a systemd credential.",
        secret=True,
    )
    tls_insecure_skip_verify: bool = _key(
        False,
        "tls: do NOT verify the broker's certificate and host name. Anyone on the path can"
        " then read and change the traffic: for a lab only, logged as a warning at every"
        " connection.",
    )
    username: str = _key("", "MQTT user name ('' = none).")
    password: str = _key(
        "",
        "MQTT password (never logged). Better kept out of this file: see password_file.",
        secret=True,
    )
    password_file: str = _key(
        "",
        "File holding the MQTT password on one line: mode 0600 (a file every user may read"
        " is refused) or a systemd credential name. Instead of password.",
        secret=True,
    )
    topic_prefix: str = _key("eu868", "Topic prefix: {prefix}/gateway/{id}/...")
    json: bool = _key(False, "Marshal messages as protobuf JSON instead of binary.")
    keepalive_s: int = _key(30, "MQTT keepalive.", _int_range(5, 3600))
    max_inflight: int = _key(
        100, "Uplinks published and not yet acknowledged (PUBACK).", _int_range(1, 10_000)
    )
    reconnect_max_s: int = _key(
        60,
        "Longest wait between connection attempts (the wait doubles from 1 s, with jitter).",
        _int_range(1, 3600),
    )


@dataclass(frozen=True)
class LocalSection:
    enabled: bool = _key(False, "Hand frames to the embedded local network server.")
    fleet: str = _key("", "Fleet file (TOML) of the devices the local server knows ('' = none).")
    db: str = _key("", "SQLite file of the local server's state; '' = state_dir/lns.sqlite3.")


def _host(value):
    if not value or any(c.isspace() for c in value) or "/" in value:
        return "must be a host name or address, e.g. '127.0.0.1' or '0.0.0.0'"
    return None


def _tile_url(value):
    if value and (
        not value.startswith(("https://", "http://"))
        or not all(part in value for part in ("{z}", "{x}", "{y}"))
    ):
        return "must be '' or an http(s) URL with {z}, {x} and {y}"
    return None


@dataclass(frozen=True)
class ConsoleSection:
    enabled: bool = _key(False, "Serve the field console (web pages on the local server's data).")
    host: str = _key(
        "127.0.0.1",
        "Address to listen on. Any other than loopback needs the token to sign in (generated"
        " on first start in token_file; the console refuses to start without it).",
        _host,
    )
    port: int = _key(8080, "TCP port.", _port)
    token_file: str = _key(
        "", "File of the console's token (mode 0600); '' = state_dir/console.token."
    )
    tiles: str = _key(
        "",
        "Map tile URL ('' = a plain plan, nothing fetched), e.g."
        " 'https://tile.openstreetmap.org/{z}/{x}/{y}.png' (mind the tile server's usage policy).",
        _tile_url,
    )


def _sta_url(value):
    if value and not value.startswith(("https://", "http://")):
        return (
            "must be '' or the server's http(s) service root, e.g. https://host/FROST-Server/v1.1"
        )
    return None


@dataclass(frozen=True)
class SensorthingsSection:
    enabled: bool = _key(
        False,
        "Send the local server's readings to an OGC SensorThings server (FROST, ...) as"
        " Observations; run `lorafield sensorthings sync` for the fleet's Things first.",
    )
    url: str = _key("", "Service root, e.g. 'https://example.org/FROST-Server/v1.1'.", _sta_url)
    auth_file: str = _key(
        "",
        "File with user:password or 'Bearer TOKEN' (0600); a bare name is a systemd credential.",
    )
    interval_s: int = _key(10, "Seconds between deliveries.", _int_range(1, 86400))
    data_array: bool = _key(True, "Batch with the Data Array extension (CreateObservations).")


@dataclass(frozen=True)
class Config:
    gateway: GatewaySection = field(default_factory=GatewaySection)
    radio: RadioSection = field(default_factory=RadioSection)
    queue: QueueSection = field(default_factory=QueueSection)
    semtech: SemtechSection = field(default_factory=SemtechSection)
    chirpstack: ChirpstackSection = field(default_factory=ChirpstackSection)
    local: LocalSection = field(default_factory=LocalSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    sensorthings: SensorthingsSection = field(default_factory=SensorthingsSection)

    @property
    def queue_path(self):
        return self.queue.path or f"{self.gateway.state_dir.rstrip('/')}/queue.sqlite3"

    @property
    def lns_path(self):
        """The local network server's database: local.db, or lns.sqlite3 in state_dir."""
        return self.local.db or f"{self.gateway.state_dir.rstrip('/')}/lns.sqlite3"

    @property
    def console_token_path(self):
        return self.console.token_file or f"{self.gateway.state_dir.rstrip('/')}/console.token"

    def forwarders(self):
        return [name for name in ("semtech", "chirpstack", "local") if getattr(self, name).enabled]


SECTION_DOCS = {
    "gateway": "Identity, state and reporting.",
    "radio": "The single-channel radio (one frequency, one SF).",
    "queue": "Durable store-and-forward queue between the radio and each forwarder.",
    "semtech": "Semtech UDP packet forwarder protocol v2 (ChirpStack Gateway Bridge, TTN)."
    " UDP v2 has no encryption and no authentication: send it only to a Gateway Bridge on"
    " this host, or through a VPN (WireGuard); across the internet use [chirpstack] with"
    " tls = true.",
    "chirpstack": "ChirpStack v4 MQTT forwarder (gw.UplinkFrame, gw.DownlinkFrame, ...).",
    "local": "Embedded local network server.",
    "console": "Field console: web pages on the local network server's database (read-only).",
    "sensorthings": "Open data: the local server's readings as SensorThings Observations,"
    " through a durable outbox in state_dir (at least once, never twice).",
}


def _type_name(kind):
    return {bool: "true or false", int: "an integer", str: "a string"}[kind]


def _section(cls, name, table):
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: must be a table")
    values = {}
    known = {f.name: f for f in fields(cls)}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown key")
        spec = known[key]
        kind = type(spec.default)
        got = "a value not shown (a secret)" if spec.metadata["secret"] else repr(value)
        if type(value) is not kind:
            raise ConfigError(f"{name}.{key}: must be {_type_name(kind)}, got {got}")
        check = spec.metadata["check"]
        problem = check(value) if check else None
        if problem:
            raise ConfigError(f"{name}.{key}: {problem}, got {got}")
        values[key] = value
    return cls(**values)


def from_dict(data):
    sections = {}
    known = {f.name: f for f in fields(Config)}
    for name, table in data.items():
        if name not in known:
            raise ConfigError(f"{name}: unknown section")
        sections[name] = _section(known[name].default_factory, name, table)
    chirpstack = sections.get("chirpstack")
    if chirpstack is not None and chirpstack.tls and "port" not in data["chirpstack"]:
        sections["chirpstack"] = replace(chirpstack, port=8883)  # MQTT over TLS's port
    config = Config(**sections)
    _check_chirpstack(config.chirpstack)
    radio = config.radio
    if radio.tx_freq_min_hz > radio.tx_freq_max_hz:
        raise ConfigError("radio.tx_freq_min_hz: greater than radio.tx_freq_max_hz")
    if config.console.enabled and not config.local.enabled:
        raise ConfigError("console.enabled: needs the local network server ([local] enabled)")
    if config.sensorthings.enabled and not config.local.enabled:
        raise ConfigError("sensorthings.enabled: needs the local network server ([local] enabled)")
    if config.sensorthings.enabled and not config.sensorthings.url:
        raise ConfigError("sensorthings.url: required when sensorthings.enabled is true")
    if radio.kind == "replay" and not radio.replay_path:
        raise ConfigError("radio.replay_path: required when radio.kind is 'replay'")
    return config


def _check_chirpstack(section):
    """Combinations that would not do what they seem to: TLS files without TLS, one half of
    a certificate/key pair, two sources of one password."""
    if not section.tls:
        for key in ("ca_file", "cert_file", "key_file", "tls_insecure_skip_verify"):
            if getattr(section, key):
                raise ConfigError(f"chirpstack.{key}: set, but chirpstack.tls is false")
    if bool(section.cert_file) != bool(section.key_file):
        given, missing = (
            ("cert_file", "key_file") if section.cert_file else ("key_file", "cert_file")
        )
        raise ConfigError(f"chirpstack.{missing}: required with chirpstack.{given}")
    if section.password and section.password_file:
        raise ConfigError("chirpstack.password_file: set together with chirpstack.password")
    if (section.password or section.password_file) and not section.username:
        raise ConfigError("chirpstack.username: required with a password")


def loads(text):
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax: {exc}") from None
    return from_dict(data)


def load(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return loads(text)


def render_defaults():
    """The annotated default configuration file (valid TOML that loads to `Config()`)."""
    lines = ["# lorafield gateway configuration (defaults). Every key is optional.", ""]
    for section in fields(Config):
        lines.extend("# " + line for line in textwrap.wrap(SECTION_DOCS[section.name], 96))
        lines.append(f"[{section.name}]")
        for key in fields(section.default_factory):
            lines.extend("# " + line for line in textwrap.wrap(key.metadata["doc"], 96))
            default = key.default if key.default is not MISSING else None
            lines.append(f"{key.name} = {toml_value(default)}")
        lines.append("")
    return "\n".join(lines)


__all__ = ["Config", "ConfigError", "from_dict", "load", "loads", "render_defaults", "replace"]
