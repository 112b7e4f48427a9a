"""The per-device config file written at deploy time (``/lorafield.json`` on the device).

    {"board": "heltec_lora32_v2", "app": "water_level",
     "dev_eui": "70b3d57ed0001001", "join_eui": "70b3d57ed00000ff", "app_key": "<32 hex>",
     "mount_height_mm": 2800, "interval_s": 900, "thresholds": {"high_mm": 1500},
     "tpl5110": {"done": 12, "period_s": 900}}

OTAA needs dev_eui, join_eui and app_key; ABP needs dev_addr (8 hex digits), nwk_skey and
app_skey instead. Everything else is app settings (see firmware/README.md), checked by
lorafield_node.settings. `parse(text)` returns the settings with keys as bytes
(dev_addr as an int) or raises ConfigError, whose message names the field but never shows a
key.
"""

import json

APPS = ("parking", "water_level", "temperature")
_HEX = {"dev_eui": 8, "join_eui": 8, "app_key": 16, "nwk_skey": 16, "app_skey": 16}
_SECRET = ("app_key", "nwk_skey", "app_skey")


class ConfigError(ValueError):
    pass


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
    from .pinmaps import MCU  # not kept: the board unloads the pin maps once it is built

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
    from .settings import check_settings  # loaded here only: load() unloads it again

    check_settings(settings["app"], settings)
    return settings


def load(path="/lorafield.json"):
    """The device's config, parsed and checked (at every boot: the check is what a changed
    file meets first); the settings check is then unloaded, it is not needed again."""
    with open(path) as f:
        text = f.read()
    try:
        return parse(text)
    finally:
        from . import unload

        unload("lorafield_node.settings")
