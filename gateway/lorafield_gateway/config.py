"""The gateway's configuration: one typed tree with defaults, loaded from TOML.

Each section is a dataclass; each key carries its documentation and its check in the field
metadata, so the loader, the validation messages and `lorafield gateway print-config` (an
annotated default file) come from the same place. Any problem is a `ConfigError` naming the
key, e.g. ``radio.sf: must be an integer in 7..12, got 13``.
"""

import textwrap
import tomllib
from dataclasses import dataclass, field, fields, replace

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


def _region_name(value):
    from lorafield_node.region import NAMES

    if value not in NAMES:
        return "must be one of " + ", ".join(repr(n) for n in NAMES)
    return None


def _channel_list(value):
    if any(isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 71 for k in value):
        return "must be a list of channels 0..71, e.g. [8]"
    if len(set(value)) != len(value):
        return "must not name a channel twice"
    return None


def _sub_band_list(value):
    if any(isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 8 for k in value):
        return "must be a list of sub-bands 1..8, e.g. [2]"
    if len(set(value)) != len(value):
        return "must not name a sub-band twice"
    return None


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
    region: str = _key(
        "EU868",
        "LoRaWAN region (RP002-1.0.4): EU868, US915, AU915, AS923-1..AS923-4, IN865 or KR920."
        " The local network server runs it; the radio's frequency, SF and TX band and the"
        " ChirpStack topic prefix default to it (see gateway/README.md, Regions). The fleet"
        " file's region must be the same.",
        _region_name,
    )
    sub_bands: tuple = _key(
        (),
        "US915/AU915: the sub-bands 1..8 this gateway (and so the local server's devices) use,"
        " e.g. [2] for FSB2 (channels 8-15 and 65, what TTN and most ChirpStack installs"
        " use); [] = [2]. Other regions: leave empty.",
        _sub_band_list,
    )
    channels: tuple = _key(
        (),
        "US915/AU915: the only channels (0..71) the local server keeps its devices on, instead"
        " of whole sub-bands: a single-channel gateway's own, e.g. [8] in AU915 (US915 needs at"
        " least 2 of 125 kHz). Give the devices the same (fleet [defaults] settings.channels).",
        _channel_list,
    )


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
    return {bool: "true or false", int: "an integer", str: "a string", tuple: "a list"}[kind]


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
        if kind is tuple and type(value) is list:
            value = tuple(value)
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
    config = _regional(Config(**sections), data)
    _check_chirpstack(config.chirpstack)
    radio = config.radio
    if radio.tx_freq_min_hz > radio.tx_freq_max_hz:
        raise ConfigError("radio.tx_freq_min_hz: greater than radio.tx_freq_max_hz")
    gateway = config.gateway
    _check_radio_in_region(radio, gateway.region, gateway.sub_bands, gateway.channels)
    if config.console.enabled and not config.local.enabled:
        raise ConfigError("console.enabled: needs the local network server ([local] enabled)")
    if config.sensorthings.enabled and not config.local.enabled:
        raise ConfigError("sensorthings.enabled: needs the local network server ([local] enabled)")
    if config.sensorthings.enabled and not config.sensorthings.url:
        raise ConfigError("sensorthings.url: required when sensorthings.enabled is true")
    if radio.kind == "replay" and not radio.replay_path:
        raise ConfigError("radio.replay_path: required when radio.kind is 'replay'")
    return config


# The single-channel radio's default per region (keys not in the file). Dynamic plans: the
# first default channel (RP002 .2) at SF7, the fastest default rate, which half of a device's
# join attempts use (lorafield's and LoRaMac-node's join rotation) and where ADR ends, as in
# EU868. US915/AU915: the first channel of the first sub-band (FSB2: channel 8, US915 903.9
# MHz, AU915 916.8 MHz) at the slowest 125 kHz rate a join may use, SF10 (US915 DR0; AU915 DR2,
# its default uplink dwell time rules out DR0/1): RP002 US915 .2 has devices join on the 125
# kHz channels at DR0, so a single-channel gateway at SF7 would never hear a join there; the
# local server then keeps its devices' ADR at the radio's rate (adr_max_dr).
def regional_defaults(name, sub_bands=(), channels=()):
    """RadioSection values for region `name` (and US915/AU915 `sub_bands`, default [2], or
    `channels`: the first 125 kHz one) where they differ from the EU868 defaults:
    frequency_hz, sf, tx_freq_min_hz, tx_freq_max_hz."""
    if name == "EU868":
        return {}
    from lorafield_node.region import region

    plan = region(name)
    if plan.fixed:
        narrow = [ch for ch in channels if ch < 64]
        first = narrow[0] if narrow else 8 * ((sub_bands or DEFAULT_SUB_BANDS)[0] - 1)
        frequency = plan.channel(first)[0]
        dr = min(
            d
            for d in range(plan.num_dr())
            if plan.uplink_dr(d, plan.uplink_dwell) and plan.dr_bw[d] == 125_000
        )
    else:
        frequency = plan.default_channels[0]
        dr = plan.default_dr_max
    return dict(
        frequency_hz=frequency,
        sf=plan.dr_sf[dr],
        tx_freq_min_hz=plan.freq_min,
        tx_freq_max_hz=plan.freq_max,
    )


DEFAULT_SUB_BANDS = (2,)  # FSB2 (US915, AU915), as TTN and ChirpStack's us915_1 / au915_1


def chirpstack_topic_prefix(name, sub_bands=()):
    """ChirpStack v4's region id for the region (its example region files, e.g. us915_1 for
    channels 8-15 + 65): the default MQTT topic prefix."""
    if name in ("US915", "AU915"):
        return f"{name.lower()}_{(sub_bands or DEFAULT_SUB_BANDS)[0] - 1}"
    if name == "AS923-1":
        return "as923"
    return name.lower().replace("-", "_")


def _regional(config, data):
    """Fill the region's defaults into the keys the file leaves out, then check that the
    radio and the region agree (one line naming the key otherwise)."""
    gateway = config.gateway
    name = gateway.region
    from lorafield_node.region import region

    plan = region(name)
    if gateway.sub_bands and not plan.fixed:
        raise ConfigError(f"gateway.sub_bands: {name} has no sub-bands (only US915 and AU915)")
    if gateway.channels:
        if not plan.fixed:
            raise ConfigError(
                f"gateway.channels: {name} takes its channels from the devices' defaults"
                " (only US915 and AU915 have a channel mask to set)"
            )
        narrow = [ch for ch in gateway.channels if ch < 64]
        if narrow and len(narrow) < plan.min_125_channels:
            raise ConfigError(
                f"gateway.channels: {name} needs at least {plan.min_125_channels} channels of"
                " 125 kHz (FCC 15.247 frequency hopping)"
            )
    if plan.fixed and not gateway.sub_bands:
        gateway = replace(gateway, sub_bands=DEFAULT_SUB_BANDS)
        config = replace(config, gateway=gateway)
    given_radio = data.get("radio", {})
    radio_defaults = {
        k: v
        for k, v in regional_defaults(name, gateway.sub_bands, gateway.channels).items()
        if k not in given_radio
    }
    if radio_defaults:
        config = replace(config, radio=replace(config.radio, **radio_defaults))
    if name != "EU868" and "topic_prefix" not in data.get("chirpstack", {}):
        prefix = chirpstack_topic_prefix(name, gateway.sub_bands)
        config = replace(config, chirpstack=replace(config.chirpstack, topic_prefix=prefix))
    return config


def _check_radio_in_region(radio, name, sub_bands, channels=()):
    from lorafield_node.region import region

    plan = region(name)
    freq, sf, bw = radio.frequency_hz, radio.sf, radio.bw_hz
    dr = plan.dr_of(sf, bw)
    if dr < 0 or not plan.uplink_dr(dr):
        raise ConfigError(
            f"radio.sf: SF{sf} at {bw // 1000} kHz is no uplink data rate of {name}"
            " (gateway.region)"
        )
    if plan.fixed:
        from .lns.channelplan import channel_index

        ch = channel_index(plan, freq, bw)
        if ch < 0:
            first = plan.channel(64 if bw == 500_000 else 0)[0]
            step = "1.6 MHz" if bw == 500_000 else "200 kHz"
            raise ConfigError(
                f"radio.frequency_hz: {freq} Hz is no {name} uplink channel at {bw // 1000} kHz"
                f" ({first} Hz + n x {step})"
            )
        band = ch // 8 + 1 if ch < 64 else ch - 63
        wanted = sub_bands or DEFAULT_SUB_BANDS
        if channels:
            if ch not in channels:
                raise ConfigError(
                    f"radio.frequency_hz: {freq} Hz is channel {ch}, not in gateway.channels"
                    f" {list(channels)}"
                )
        elif band not in wanted:
            raise ConfigError(
                f"radio.frequency_hz: {freq} Hz is channel {ch}, in sub-band {band}, not in"
                f" gateway.sub_bands {list(wanted)}"
            )
    elif not plan.freq_min <= freq <= plan.freq_max:
        raise ConfigError(
            f"radio.frequency_hz: {freq} Hz is outside {name}"
            f" ({plan.freq_min}..{plan.freq_max} Hz, gateway.region)"
        )
    if not radio.tx_freq_min_hz <= plan.rx2_frequency <= radio.tx_freq_max_hz:
        raise ConfigError(
            f"radio.tx_freq_min_hz: {radio.tx_freq_min_hz}..{radio.tx_freq_max_hz} Hz leaves out"
            f" the {name} RX2 frequency {plan.rx2_frequency} Hz"
        )


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


def render_defaults(region="EU868", sub_bands=()):
    """The annotated default configuration file (valid TOML that loads to `Config()`), or
    with `region` (and US915/AU915 `sub_bands`) the one that loads to that region's defaults:
    its radio frequency, SF and TX band and ChirpStack topic prefix written in."""
    if region == "EU868" and not sub_bands:
        config = Config()
    else:
        config = from_dict({"gateway": {"region": region, "sub_bands": list(sub_bands)}})
    lines = ["# lorafield gateway configuration (defaults). Every key is optional.", ""]
    for section in fields(Config):
        values = getattr(config, section.name)
        lines.extend("# " + line for line in textwrap.wrap(SECTION_DOCS[section.name], 96))
        lines.append(f"[{section.name}]")
        for key in fields(section.default_factory):
            lines.extend("# " + line for line in textwrap.wrap(key.metadata["doc"], 96))
            lines.append(f"{key.name} = {toml_value(getattr(values, key.name))}")
        lines.append("")
    return "\n".join(lines)


__all__ = ["Config", "ConfigError", "from_dict", "load", "loads", "render_defaults", "replace"]
