"""The per-device config file written at deploy time (``/lorafield.json`` on the device).

    {"board": "heltec_lora32_v2", "app": "water_level",
     "dev_eui": "70b3d57ed0001001", "join_eui": "70b3d57ed00000ff", "app_key": "<32 hex>",
     "mount_height_mm": 2800, "interval_s": 900, "thresholds": {"high_mm": 1500},
     "tpl5110": {"done": 12, "period_s": 900}}

OTAA needs dev_eui, join_eui and app_key; ABP needs dev_addr (8 hex digits), nwk_skey and
app_skey instead. Everything else is app settings (see firmware/README.md). `parse(text)`
returns the settings with keys as bytes (dev_addr as an int) or raises ConfigError, whose
message names the field but never shows a key.
"""

import json

from lorafield_codec import CodecError, encode

from .pinmaps import MCU

APPS = ("parking", "water_level", "temperature")
_HEX = {"dev_eui": 8, "join_eui": 8, "app_key": 16, "nwk_skey": 16, "app_skey": 16}
_SECRET = ("app_key", "nwk_skey", "app_skey")


class ConfigError(ValueError):
    pass


# The app settings a device config may hold besides its identity, per app ("" = every
# app): (low, high) an integer range, _REAL a number range, a tuple of str the choices,
# dict a table checked in _check_table. firmware/README.md says what each one does.
_REAL = "real"
_SETTINGS = {
    "": {
        "interval_s": (60, 86400),
        "status_s": (60, 604800),
        "dr": (0, 5),
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
    for name in settings:
        if name in _IDENTITY:
            continue
        rule = _SETTINGS[""].get(name)
        if rule is None:
            rule = _SETTINGS.get(app, {}).get(name)
        if rule is None:
            raise ConfigError("unknown setting %r for a %s node" % (name, app))
        value = settings[name]
        if rule is dict:
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


def _bytes(settings, name, n):
    value = settings[name]
    what = "a secret key" if name in _SECRET else repr(value)
    if not isinstance(value, str) or len(value) != 2 * n:
        raise ConfigError("%s must be %d hex digits, got %s" % (name, 2 * n, what))
    try:
        return bytes(int(value[i : i + 2], 16) for i in range(0, 2 * n, 2))
    except ValueError:
        raise ConfigError("%s is not hexadecimal" % name) from None


def parse(text):
    try:
        settings = json.loads(text)
    except ValueError:
        raise ConfigError("the device config is not valid JSON") from None
    if not isinstance(settings, dict):
        raise ConfigError("the device config must be a JSON object")
    if settings.get("board") not in MCU:
        raise ConfigError("board must be one of: %s" % ", ".join(sorted(MCU)))
    if settings.get("app") not in APPS:
        raise ConfigError("app must be one of: %s" % ", ".join(APPS))
    otaa = ("dev_eui", "join_eui", "app_key")
    abp = ("dev_addr", "nwk_skey", "app_skey")
    if all(k in settings for k in otaa):
        keys = otaa
    elif all(k in settings for k in abp):
        keys = abp
    else:
        raise ConfigError("need dev_eui, join_eui, app_key (OTAA) or dev_addr, nwk_skey, app_skey")
    for name in keys:
        if name == "dev_addr":
            addr = _bytes(settings, "dev_addr", 4)
            settings["dev_addr"] = (addr[0] << 24) | (addr[1] << 16) | (addr[2] << 8) | addr[3]
        else:
            settings[name] = _bytes(settings, name, _HEX[name])
    check_settings(settings["app"], settings)
    return settings


def load(path="/lorafield.json"):
    with open(path) as f:
        return parse(f.read())
