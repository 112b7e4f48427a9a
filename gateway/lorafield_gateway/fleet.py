"""The fleet file: one TOML file that lists a field's devices and their keys.

Every tool reads the same file: the local network server (device registry), provisioning
(`lorafield provision` appends to it), deploy (per-device config) and the ChirpStack sync.

    region = "US915"                   # optional, before any table: the field's LoRaWAN
    sub_bands = [2]                    # region (default EU868) and US915/AU915 sub-bands

    [defaults]
    join_eui = "70b3d57ed0000000"      # used by devices that name none
    settings = { certification = true }  # optional, every device's settings (its own win)

    [[device]]
    dev_eui = "70b3d57ed0001001"
    name = "bay-01"
    kind = "parking"                   # parking | water_level | temperature
    app_key = "…32 hex digits…"        # OTAA
    location = { lat = 52.5201, lon = 13.4050 }
    board = "heltec_v2"                # optional
    settings = { interval_s = 3600 }   # optional, app settings for deploy

    [[device]]                         # ABP instead of OTAA
    dev_eui = "70b3d57ed0001002"
    kind = "temperature"
    dev_addr = "26011f00"
    nwk_s_key = "…"
    app_s_key = "…"

The region is the fleet's, one for all its devices: the local network server must run the
same (gateway.region) and the ChirpStack sync sets it in the device profile. A fleet file that
names a region gives every device the settings `region` (and `sub_bands`) for deploy, so the
devices start on the plan the server expects; a device's own settings may repeat them but not
differ (one region per network server).

Errors name the file, the device (by position and DevEUI) and the key, and never echo a
key's value. The file holds secrets: it is written with mode 0600.
"""

import os
import textwrap
import tomllib

from .lns.errors import RegistryError
from .lns.registry import DeviceRegistry, eui_bytes, key_bytes
from .toml_text import toml_value

KINDS = ("parking", "water_level", "temperature")
SECRET_FIELDS = ("app_key", "nwk_s_key", "app_s_key")
# The keys a [[device]] table may have: FleetDevice's attributes, written once.
_DEVICE_FIELDS = (
    "dev_eui",
    "join_eui",
    "name",
    "kind",
    "app_key",
    "dev_addr",
    "nwk_s_key",
    "app_s_key",
    "location",
    "board",
    "settings",
)


class FleetError(ValueError):
    """A fleet file that cannot be used; the message says where and why."""


class FleetDevice:
    """One device of the fleet. Keys are bytes and stay out of repr()."""

    __slots__ = _DEVICE_FIELDS

    def __init__(self, dev_eui, kind, name=None, join_eui=None, app_key=None, **optional):
        self.dev_eui = dev_eui
        self.kind = kind
        self.name = name
        self.join_eui = join_eui
        self.app_key = app_key
        self.dev_addr = optional.get("dev_addr")
        self.nwk_s_key = optional.get("nwk_s_key")
        self.app_s_key = optional.get("app_s_key")
        self.location = optional.get("location")
        self.board = optional.get("board")
        self.settings = optional.get("settings") or {}

    @property
    def dev_eui_hex(self):
        return self.dev_eui.hex()

    @property
    def otaa(self):
        return self.app_key is not None

    @property
    def abp(self):
        return self.dev_addr is not None

    def public_dict(self):
        """Everything but the keys (for listings, logs and JSON output)."""
        out = {"dev_eui": self.dev_eui_hex, "name": self.name, "kind": self.kind}
        out["activation"] = "OTAA" if self.otaa else "ABP"
        if self.join_eui is not None:
            out["join_eui"] = self.join_eui.hex()
        if self.dev_addr is not None:
            out["dev_addr"] = f"{self.dev_addr:08x}"
        if self.location is not None:
            out["location"] = dict(self.location)
        if self.board is not None:
            out["board"] = self.board
        if self.settings:
            out["settings"] = dict(self.settings)
        return out

    def __repr__(self):
        mode = "OTAA" if self.otaa else "ABP"
        return f"FleetDevice({self.dev_eui_hex}, {mode}, kind={self.kind!r}, name={self.name!r})"


DEFAULT_REGION = "EU868"


class Fleet:
    def __init__(self, devices, defaults=None, path=None, region=DEFAULT_REGION, sub_bands=()):
        self.devices = list(devices)
        self.defaults = dict(defaults or {})
        self.path = path
        self.region = region
        self.sub_bands = tuple(sub_bands)

    def __iter__(self):
        return iter(self.devices)

    def __len__(self):
        return len(self.devices)

    def get(self, dev_eui):
        """The device with this DevEUI (bytes or hex), or None."""
        try:
            wanted = eui_bytes(dev_eui, "DevEUI")
        except RegistryError:
            return None
        for device in self.devices:
            if device.dev_eui == wanted:
                return device
        return None

    def registry(self):
        """A network-server DeviceRegistry holding every device of the fleet."""
        registry = DeviceRegistry()
        for d in self.devices:
            if d.otaa:
                registry.add_otaa(d.dev_eui, d.join_eui, d.app_key, kind=d.kind, name=d.name)
            if d.abp and not d.otaa:
                registry.add_abp(
                    d.dev_eui, d.dev_addr, d.nwk_s_key, d.app_s_key, kind=d.kind, name=d.name
                )
        return registry


# -- reading ----------------------------------------------------------------------------------
def load_fleet(path):
    """Read and validate a fleet file; raises FleetError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise FleetError(f"{path}: no such fleet file") from None
    except OSError as exc:
        raise FleetError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:  # tomllib reads UTF-8 only
        raise FleetError(f"{path}: not UTF-8 text") from None
    return parse_fleet(raw, source=str(path))


def parse_fleet(raw, source="fleet"):
    unknown = set(raw) - {"defaults", "device", "region", "sub_bands"}
    if unknown:
        raise FleetError(f"{source}: unknown top-level key {sorted(unknown)[0]!r}")
    region, sub_bands = _region(raw, source)
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise FleetError(f"{source}: [defaults] must be a table")
    default_join_eui = None
    if "join_eui" in defaults:
        default_join_eui = _field(lambda: eui_bytes(defaults["join_eui"], "join_eui"), source)
    default_settings = defaults.get("settings", {})
    if not isinstance(default_settings, dict):
        raise FleetError(f"{source}: [defaults] settings must be a table")
    if "region" in raw:  # every device starts on the fleet's plan (its own settings first)
        default_settings = dict(default_settings, region=region)
        if sub_bands:
            default_settings["sub_bands"] = list(sub_bands)
    entries = raw.get("device", [])
    if not isinstance(entries, list):
        raise FleetError(f"{source}: devices must be [[device]] tables")
    devices = []
    seen = {}
    for index, entry in enumerate(entries, 1):
        where = f"{source}: device {index}"
        device = _parse_device(entry, where, default_join_eui, default_settings)
        _check_device_region(device, region, f"{where} ({device.dev_eui_hex})")
        if device.dev_eui in seen:
            first = seen[device.dev_eui]
            raise FleetError(f"{where}: duplicate dev_eui (also device {first})")
        seen[device.dev_eui] = index
        devices.append(device)
    _check_unique_dev_addrs(devices, source)
    return Fleet(devices, defaults, source, region, sub_bands)


def _region(raw, source):
    """(region, sub_bands) of the file's top-level keys: a name of lorafield_node.region.NAMES
    (default EU868) and, for US915/AU915 only, a list of sub-bands 1..8."""
    from lorafield_node.region import NAMES

    region = raw.get("region", DEFAULT_REGION)
    if region not in NAMES:
        raise FleetError(f"{source}: region must be one of {', '.join(NAMES)}, got {region!r}")
    sub_bands = raw.get("sub_bands", [])
    if not isinstance(sub_bands, list) or any(
        isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 8 for k in sub_bands
    ):
        raise FleetError(f"{source}: sub_bands must be a list of sub-bands 1..8, e.g. [2]")
    if sub_bands and region not in ("US915", "AU915"):
        raise FleetError(f"{source}: sub_bands: {region} has no sub-bands (only US915 and AU915)")
    return region, tuple(sub_bands)


def _check_device_region(device, region, where):
    """A device's settings may name the fleet's region, never another."""
    own = device.settings.get("region", region)
    if own != region:
        raise FleetError(
            f"{where}: settings.region {own!r} differs from the fleet's region {region}"
            " (one region per network server)"
        )


def _field(parse, where):
    try:
        return parse()
    except RegistryError as exc:
        raise FleetError(f"{where}: {exc}") from None


def _parse_device(entry, where, default_join_eui, default_settings=None):
    if not isinstance(entry, dict):
        raise FleetError(f"{where}: must be a table")
    unknown = set(entry) - set(_DEVICE_FIELDS)
    if unknown:
        raise FleetError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    if "dev_eui" not in entry:
        raise FleetError(f"{where}: dev_eui is missing")
    dev_eui = _field(lambda: eui_bytes(_text(entry, "dev_eui", where), "dev_eui"), where)
    where = f"{where} ({dev_eui.hex()})"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise FleetError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise FleetError(f"{where}: name must be a string")
    fields = {}
    if "join_eui" in entry:
        fields["join_eui"] = _field(
            lambda: eui_bytes(_text(entry, "join_eui", where), "join_eui"), where
        )
    else:
        fields["join_eui"] = default_join_eui
    if "app_key" in entry:
        fields["app_key"] = _field(
            lambda: key_bytes(_text(entry, "app_key", where), "app_key"), where
        )
        if fields["join_eui"] is None:
            raise FleetError(f"{where}: join_eui is missing (and [defaults] has none)")
    abp_keys = [k for k in ("dev_addr", "nwk_s_key", "app_s_key") if k in entry]
    if abp_keys and len(abp_keys) != 3:
        missing = sorted({"dev_addr", "nwk_s_key", "app_s_key"} - set(abp_keys))[0]
        raise FleetError(f"{where}: ABP needs dev_addr, nwk_s_key, app_s_key ({missing} missing)")
    if abp_keys:
        fields["dev_addr"] = _dev_addr(_text(entry, "dev_addr", where), where)
        for key in ("nwk_s_key", "app_s_key"):
            fields[key] = _field(lambda key=key: key_bytes(_text(entry, key, where), key), where)
    if "app_key" not in fields and not abp_keys:
        raise FleetError(f"{where}: needs app_key (OTAA) or dev_addr + session keys (ABP)")
    if "location" in entry:
        fields["location"] = _location(entry["location"], where)
    if "board" in entry:
        fields["board"] = _text(entry, "board", where)
    settings = dict(default_settings or {})  # fleet-wide ([defaults] settings) first
    if "settings" in entry:
        if not isinstance(entry["settings"], dict):
            raise FleetError(f"{where}: settings must be a table")
        settings.update(entry["settings"])
    if settings:
        fields["settings"] = settings
    return FleetDevice(dev_eui, kind, name, **fields)


def _text(entry, key, where):
    value = entry[key]
    if not isinstance(value, str):
        raise FleetError(f"{where}: {key} must be a string")
    return value


def _dev_addr(text, where):
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise FleetError(f"{where}: dev_addr is not hex") from None
    if len(value) != 4:
        raise FleetError(f"{where}: dev_addr must be 4 bytes (8 hex digits)")
    return int.from_bytes(value, "big")


def _location(value, where):
    if not isinstance(value, dict) or set(value) - {"lat", "lon", "alt"}:
        raise FleetError(f"{where}: location must be {{ lat = ..., lon = ... }}")
    for axis, limit in (("lat", 90), ("lon", 180)):
        number = value.get(axis)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise FleetError(f"{where}: location.{axis} must be a number")
        if not -limit <= number <= limit:
            raise FleetError(f"{where}: location.{axis} out of range")
    return dict(value)


def _check_unique_dev_addrs(devices, source):
    owners = {}
    for device in devices:
        if device.dev_addr is None:
            continue
        if device.dev_addr in owners:
            raise FleetError(
                f"{source}: dev_addr {device.dev_addr:08x} used by {owners[device.dev_addr]} "
                f"and {device.dev_eui_hex}"
            )
        owners[device.dev_addr] = device.dev_eui_hex


# -- writing ----------------------------------------------------------------------------------
def device_toml(device):
    """The [[device]] table of one device, keys included (for the fleet file only)."""
    lines = ["[[device]]", f'dev_eui = "{device.dev_eui_hex}"']
    if device.name is not None:
        lines.append(f"name = {toml_value(device.name)}")
    lines.append(f'kind = "{device.kind}"')
    if device.join_eui is not None:
        lines.append(f'join_eui = "{device.join_eui.hex()}"')
    if device.app_key is not None:
        lines.append(f'app_key = "{device.app_key.hex()}"')
    if device.dev_addr is not None:
        lines.append(f'dev_addr = "{device.dev_addr:08x}"')
        lines.append(f'nwk_s_key = "{device.nwk_s_key.hex()}"')
        lines.append(f'app_s_key = "{device.app_s_key.hex()}"')
    if device.location is not None:
        lines.append(f"location = {toml_value(device.location)}")
    if device.board is not None:
        lines.append(f"board = {toml_value(device.board)}")
    if device.settings:
        lines.append(f"settings = {toml_value(device.settings)}")
    return "\n".join(lines) + "\n"


def append_devices(path, devices, defaults=None, note=None, region=None, sub_bands=()):
    """Append devices to a fleet file (created 0600 with [defaults] if new, and `note` as a
    comment under its first line: e.g. that its keys are test keys; `region` and `sub_bands`
    written as its top-level keys when given).

    The result is validated before it replaces the file, so a bad append (a duplicate
    DevEUI, say) leaves the existing file untouched. Returns the new Fleet.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = "# lorafield fleet file: device keys. Keep it private (mode 0600).\n"
        if note:
            text += "".join(f"# {line}\n" for line in textwrap.wrap(note, 90))
        if region is not None:
            text += f"\nregion = {toml_value(region)}\n"
            if sub_bands:
                text += f"sub_bands = {toml_value(list(sub_bands))}\n"
        if defaults:
            text += "\n[defaults]\n"
            text += "".join(f"{k} = {toml_value(v)}\n" for k, v in defaults.items())
    additions = "".join("\n" + device_toml(d) for d in devices)
    new_text = text if text.endswith("\n") else text + "\n"
    new_text += additions
    try:
        fleet = parse_fleet(tomllib.loads(new_text), source=str(path))
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"{path}: not valid TOML ({exc})") from None
    write_private(path, new_text)
    return fleet


def write_private(path, text):
    """Write `text` to `path` with mode 0600 whatever the umask, replacing it atomically
    (an existing file's wider mode is not kept)."""
    temporary = f"{path}.tmp-{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
