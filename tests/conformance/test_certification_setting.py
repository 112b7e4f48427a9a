"""How ``certification`` reaches a device: the fleet file (per device, or fleet-wide under
[defaults] settings) -> the device config /lorafield.json -> the firmware's own parser, which
checks it for every app; a wrong value stops there, naming it."""

import json

import pytest
from lorafield_gateway.fleet import FleetError, parse_fleet
from lorafield_node.deploy import ConfigError, parse
from lorafield_tools.workbench.config import device_config

TEST_APP_KEY = "00112233445566778899aabbccddeeff"  # a test key


def fleet(defaults_settings=None, settings=(None, None)):
    raw = {"defaults": {"join_eui": "70b3d57ed0000000"}, "device": []}
    if defaults_settings is not None:
        raw["defaults"]["settings"] = defaults_settings
    for i, s in enumerate(settings):
        d = {"dev_eui": f"70b3d57ed000100{i}", "kind": "temperature", "app_key": TEST_APP_KEY}
        if s is not None:
            d["settings"] = s
        raw["device"].append(d)
    return parse_fleet(raw, "fleet.toml")


def config_of(device):
    return json.loads(device_config(device, "heltec_lora32_v2"))


def test_fleet_wide_setting_reaches_every_device_and_a_device_can_turn_it_off():
    f = fleet({"certification": True}, ({}, {"certification": False, "interval_s": 600}))
    a, b = f.devices
    assert a.settings == {"certification": True}
    assert b.settings == {"certification": False, "interval_s": 600}
    assert config_of(a)["certification"] is True
    assert config_of(b)["certification"] is False
    assert parse(device_config(a, "heltec_lora32_v2"))["certification"] is True


def test_per_device_setting_and_off_by_default():
    f = fleet(None, (None, {"certification": True}))
    a, b = f.devices
    assert "certification" not in config_of(a)  # off: the framework never loads testapp.py
    assert config_of(b)["certification"] is True


def test_bad_values_are_refused_with_their_names():
    with pytest.raises(FleetError, match=r"\[defaults\] settings must be a table"):
        fleet("yes")
    (a, _) = fleet({"certification": "yes"}).devices
    with pytest.raises(ConfigError, match="certification must be true or false"):
        device_config(a, "heltec_lora32_v2")
