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
        ({"tpl5110": {"done": 14, "period_s": 0}}, "tpl5110 needs done .* period_s 1..7200"),
        ({"pings": "5"}, "pings must be an integer 1..16"),
        ({"pings": True}, "pings must be an integer 1..16"),
        ({"air_temp_c": 99.5}, "air_temp_c must be a number -40..60"),
        ({"sensor": "hcsr04"}, "sensor must be one of: a02yyuw, jsn_sr04t"),
        ({"sample_s": 5}, "unknown setting 'sample_s' for a water_level node"),
        ({"mount_hieght_mm": 2800}, "unknown setting 'mount_hieght_mm'"),
        ({"thresholds": {"mag_uT": 0}}, "thresholds: .*mag_uT"),
        ({"thresholds": {"depth_mm": 5}}, "thresholds: .*depth_mm"),
    ],
)
def test_bad_fields_are_named_and_keys_never_shown(change, message):
    bad = dict(OTAA, **change)
    with pytest.raises(ConfigError, match=message) as info:
        parse(json.dumps(bad))
    assert "2b7e151628" not in str(info.value)


def test_every_app_setting_of_the_docs_is_accepted_at_a_sensible_value():
    identity = {k: v for k, v in OTAA.items() if k not in ("mount_height_mm", "app")}
    gate = {"tpl5110": {"done": 14, "period_s": 900}}
    for app, settings in {
        "parking": {"sample_s": 5, "debounce": 3, "magnetometer": "hmc5883l", "sampling": "ulp"},
        "water_level": {"sensor": "jsn_sr04t", "pings": 3, "batch": 4, "air_temp_c": 12.5},
        "temperature": {"sensor": "sht31", "check_s": 300, "status_s": 86400, "dr": 5},
    }.items():
        assert parse(json.dumps(dict(identity, app=app, **settings, **gate)))["app"] == app
    parking = dict(identity, app="parking", ulp_i2c={"scl": 2, "sda": 15})
    assert parse(json.dumps(parking))["ulp_i2c"] == {"scl": 2, "sda": 15}


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
    )
    bad = [dict(OTAA, app_key="12"), dict(OTAA, pings="5"), dict(OTAA, sample_s=5)]
    bad += [dict(OTAA, air_temp_c=99.5), dict(OTAA, tpl5110={"done": 1})]
    for config in bad:
        code += f"try:\n    parse({json.dumps(config)!r})\nexcept ConfigError as e:\n    print(e)\n"
    out = micropython.run(code).splitlines()
    assert out[0] == f"70b3d57ed0001001 {OTAA['app_key']} {{'high_mm': 1500}}"
    assert out[1] == "app_key must be 32 hex digits, got a secret key"
    for line, config in zip(out[2:], bad[1:], strict=True):  # the same words as CPython's
        with pytest.raises(ConfigError) as info:
            parse(json.dumps(config))
        assert line == str(info.value)
