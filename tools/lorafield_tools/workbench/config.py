"""The per-device config (/lorafield.json, format of firmware/lib/lorafield_node/deploy.py)
from a fleet entry. It is checked with the firmware's own parser before it leaves the host."""

import json

from lorafield_node.deploy import ConfigError, parse

CONFIG_PATH = "/lorafield.json"
_KEY_FIELDS = ("board", "app", "dev_eui", "join_eui", "app_key", "dev_addr", "nwk_skey", "app_skey")


def device_config(device, board):
    """JSON text for `device` (a fleet FleetDevice) on `board`; raises ConfigError (whose
    message names the field, never a key's value)."""
    config = {"board": board, "app": device.kind}
    if device.otaa:
        config["dev_eui"] = device.dev_eui.hex()
        config["join_eui"] = device.join_eui.hex()
        config["app_key"] = device.app_key.hex()
    else:
        config["dev_addr"] = f"{device.dev_addr:08x}"
        config["nwk_skey"] = device.nwk_s_key.hex()
        config["app_skey"] = device.app_s_key.hex()
    for key, value in (device.settings or {}).items():
        if key in _KEY_FIELDS:
            raise ConfigError(f"settings.{key} would override the device's identity")
        config[key] = value
    text = json.dumps(config, sort_keys=True)
    parse(text)  # the device's own check, here, before anything is written
    return text
