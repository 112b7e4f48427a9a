"""The app settings of a device config (``/lorafield.json``, lorafield_node.deploy): which
ones each app knows and their ranges. `check_settings` is shared by the device (deploy.parse)
and the host's tools (`lorafield deploy`, scenarios). In a module of its own so that a boot
that does not check them leaves its tables and messages in flash (firmware/main.py)."""

from lorafield_codec import CodecError, encode

from .deploy import ConfigError

# The app settings a device config may hold besides its identity, per app ("" = every
# app): (low, high) an integer range, _REAL a number range, a tuple of str the choices,
# dict a table checked in _check_table, bool true or false, _RADIO the radio settings
# checked together against the region's tables (_check_radio). firmware/README.md says what
# each one does.
_REAL = "real"
_RADIO = "radio"
_SETTINGS = {
    "": {
        "certification": bool,  # the TS009 test app on FPort 224 (testapp.py)
        "interval_s": (60, 86400),
        "status_s": (60, 604800),
        "region": _RADIO,  # one of region.NAMES (default EU868)
        "sub_bands": _RADIO,  # US915/AU915: the sub-bands 1..8 a fresh session enables
        "channels": _RADIO,  # the only channel indices enabled (a single-channel gateway)
        "dr": _RADIO,  # a fixed uplink data rate: one the region's default channels carry
        "watchdog_ms": (1000, 600000),
        "thresholds": dict,
        "tpl5110": dict,
    },
    "parking": {
        "sample_s": (1, 3600),
        "debounce": (1, 20),
        "magnetometer": ("qmc5883l", "hmc5883l"),
        "sampling": ("light_sleep", "ulp"),
        "ulp_i2c": dict,
    },
    "water_level": {
        "sensor": ("a02yyuw", "jsn_sr04t"),
        "mount_height_mm": (100, 20000),
        "pings": (1, 16),
        "batch": (1, 16),
        "alarm_interval_s": (10, 3600),
        "air_sensor": ("ds18b20",),
        "air_temp_c": (-40, 60, _REAL),
    },
    "temperature": {
        "sensor": ("ds18b20", "sht31", "bme280"),
        "check_s": (10, 3600),
    },
}
_IDENTITY = ("board", "app", "dev_eui", "join_eui", "app_key", "dev_addr", "nwk_skey", "app_skey")


def check_settings(app, settings):
    """Raise ConfigError for an app setting that is unknown to `app` or out of its range
    (the identity fields are parse()'s). Shared by the device and the host's tools."""
    radio = False
    for name in settings:
        if name in _IDENTITY:
            continue
        rule = _SETTINGS[""].get(name)
        if rule is None:
            rule = _SETTINGS.get(app, {}).get(name)
        if rule is None:
            raise ConfigError("unknown setting %r for a %s node" % (name, app))
        value = settings[name]
        if rule is _RADIO:
            radio = True
        elif rule is bool:
            if value is not True and value is not False:
                raise ConfigError("%s must be true or false" % name)
        elif rule is dict:
            _check_table(name, value)
        elif isinstance(rule[0], str):
            if value not in rule:
                raise ConfigError("%s must be one of: %s" % (name, ", ".join(rule)))
        else:
            number = isinstance(value, int) and not isinstance(value, bool)
            if len(rule) > 2:
                number = number or isinstance(value, float)
            if not number or not rule[0] <= value <= rule[1]:
                kind = "a number" if len(rule) > 2 else "an integer"
                raise ConfigError("%s must be %s %d..%d" % (name, kind, rule[0], rule[1]))
    if radio:
        _check_radio(settings)


_REGION = "lorafield_node.region"  # region.py and the region_*.py table modules


def _check_radio(settings):
    """``region`` (one of region.NAMES), ``sub_bands`` and ``channels`` (lists of integers
    the region's ``region()`` accepts) and ``dr`` (an uplink data rate that a channel the
    device starts with carries: EU868 0..5, US915 0..4 or 0..3 without a 500 kHz channel,
    AS923 2..5 with its default uplink dwell time). The region's tables are loaded for the
    check only: on the device they are unloaded again (the MAC loads its own later)."""
    import sys

    from . import unload

    had = [m for m in sys.modules if m.startswith(_REGION)]
    try:
        _check_radio_tables(settings)
    finally:
        for m in [m for m in sys.modules if m.startswith(_REGION) and m not in had]:
            unload(m)


def _check_radio_tables(settings):
    from .region import NAMES, region

    name = settings.get("region", "EU868")
    if name not in NAMES:
        raise ConfigError("region must be one of: %s" % ", ".join(NAMES))
    for key in ("sub_bands", "channels"):
        value = settings.get(key)
        if value is not None and not (
            isinstance(value, list)
            and value
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ConfigError("%s must be a non-empty list of integers" % key)
    try:
        r = region(name, settings.get("sub_bands"), settings.get("channels"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    dr = settings.get("dr")
    if dr is None:
        return
    low, high = uplink_dr_range(r)
    if isinstance(dr, bool) or not isinstance(dr, int) or not low <= dr <= high:
        where = "" if name == "EU868" else " in " + name
        raise ConfigError("dr must be an integer %d..%d%s" % (low, high, where))


def uplink_dr_range(r):
    """(lowest, highest) uplink data rate the channels a fresh session of region ``r``
    enables carry, as far as the region lets uplinks use it (dwell time as by default)."""
    if r.fixed:
        mask = r.default_mask()
        drs = []
        if mask & ((1 << 64) - 1):
            drs += list(range(r.dr125[0], r.dr125[1] + 1))
        if mask >> 64:
            drs.append(r.dr500)
    else:
        drs = list(range(r.default_dr_min, r.default_dr_max + 1))
    drs = [d for d in drs if r.uplink_dr(d, r.uplink_dwell)]
    return min(drs), max(drs)


def _check_table(name, value):
    if not isinstance(value, dict):
        raise ConfigError("%s must be an object" % name)
    if name == "thresholds":
        if value:
            try:  # the same limits as a config downlink (they are stored in that form)
                encode("config", {"thresholds": value})
            except CodecError as e:
                raise ConfigError("thresholds: %s" % e) from None
    elif name == "tpl5110":
        period = value.get("period_s")
        if not (
            isinstance(value.get("done"), int)
            and isinstance(period, int)
            and 1 <= period <= 7200  # the TPL5110's range (datasheet 7.5.1)
        ):
            raise ConfigError("tpl5110 needs done (a GPIO number) and period_s 1..7200")
    elif not (isinstance(value.get("scl"), int) and isinstance(value.get("sda"), int)):
        raise ConfigError("%s needs scl and sda (GPIO numbers)" % name)
