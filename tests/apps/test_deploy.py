"""The per-device config file: parsed the same on both runtimes, refused with the field's
name (never a key's value), and what main.py hands to the app."""

import json

import pytest
from lorafield_node.deploy import ConfigError, parse

OTAA = {
    "board": "heltec_lora32_v2",
    "app": "water_level",
    "dev_eui": "70b3d57ed0001001",
    "join_eui": "70b3d57ed00000ff",
    "app_key": "2b7e151628aed2a6abf7158809cf4f3c",
    "mount_height_mm": 2800,
    "thresholds": {"high_mm": 1500},
}


def test_otaa_and_abp():
    s = parse(json.dumps(OTAA))
    assert s["dev_eui"] == bytes.fromhex("70b3d57ed0001001")
    assert s["app_key"] == bytes.fromhex(OTAA["app_key"])
    assert s["mount_height_mm"] == 2800 and s["thresholds"] == {"high_mm": 1500}
    abp = {"board": "pico_rfm95w", "app": "temperature", "dev_addr": "26011234"}
    abp.update(nwk_skey="00" * 16, app_skey="11" * 16)
    s = parse(json.dumps(abp))
    assert s["dev_addr"] == 0x26011234 and s["app_skey"] == b"\x11" * 16


@pytest.mark.parametrize(
    "change,message",
    [
        ({"board": "uno"}, "board must be one of"),
        ({"app": "radar"}, "app must be one of"),
        ({"app_key": "2b7e1516"}, "app_key must be 32 hex digits, got a secret key"),
        ({"app_key": "zz" * 16}, "app_key is not hexadecimal"),
        ({"dev_eui": None}, "dev_eui must be 16 hex digits"),
        ({"interval_s": 5}, "interval_s must be an integer 60..86400"),
        ({"tpl5110": {"done": "D5"}}, "tpl5110 needs done"),
        ({"thresholds": {"mag_uT": 0}}, "thresholds: .*mag_uT"),
        ({"thresholds": {"depth_mm": 5}}, "thresholds: .*depth_mm"),
    ],
)
def test_bad_fields_are_named_and_keys_never_shown(change, message):
    bad = dict(OTAA, **change)
    with pytest.raises(ConfigError, match=message) as info:
        parse(json.dumps(bad))
    assert "2b7e151628" not in str(info.value)


def test_missing_keys_and_bad_json():
    no_key = {k: v for k, v in OTAA.items() if k != "app_key"}
    with pytest.raises(ConfigError, match="OTAA"):
        parse(json.dumps(no_key))
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse("{board: heltec")
    with pytest.raises(ConfigError, match="JSON object"):
        parse("[1]")


@pytest.mark.micropython
def test_parse_matches_under_micropython(micropython):
    text = json.dumps(OTAA)
    code = (
        "from lorafield_node.deploy import parse, ConfigError\n"
        f"s = parse({text!r})\n"
        "print(s['dev_eui'].hex(), s['app_key'].hex(), s['thresholds'])\n"
        "try:\n"
        f"    parse({json.dumps(dict(OTAA, app_key='12'))!r})\n"
        "except ConfigError as e:\n"
        "    print(e)\n"
    )
    out = micropython.run(code).splitlines()
    assert out[0] == f"70b3d57ed0001001 {OTAA['app_key']} {{'high_mm': 1500}}"
    assert out[1] == "app_key must be 32 hex digits, got a secret key"
