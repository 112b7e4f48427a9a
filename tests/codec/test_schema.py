"""The schema tables are the contract: plain data, fixed fPorts, the issue's field names."""

import pytest
from lorafield_codec import KINDS, CodecError, decode, encode, fport_of, kind_of
from lorafield_codec.engine import _slot_fields

CONTRACT_FIELDS = {
    "parking": {"occupied", "since_s", "mag_uT"},
    "water_level": {"level_mm", "levels_mm", "interval_s", "alarm", "distance_mm"},
    "temperature": {"temperature_c", "humidity_pct", "pressure_hpa"},
    "status": {"battery_mv", "uptime_s", "fw", "reset_cause", "errors", "interval_s"},
    "config": {"interval_s", "thresholds", "reboot", "request_status", "rejoin"},
}


def _plain(value, path="KINDS"):
    """Only dict (str keys), tuple, str and int: what a JavaScript exporter can walk."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), path
            _plain(v, f"{path}.{k}")
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            _plain(v, f"{path}[{i}]")
    else:
        assert type(value) in (str, int), f"{path} is {type(value).__name__}"


def test_schema_is_plain_data():
    _plain(KINDS)


def test_field_names_are_the_contract():
    for kind, spec in KINDS.items():
        names = []
        for slot in spec["items"]:
            _slot_fields(slot, names)
        assert set(names) == CONTRACT_FIELDS[kind]
        assert len(names) == len(set(names)), kind


def test_fports_are_fixed_distinct_application_ports():
    ports = [fport_of(kind) for kind in KINDS]
    assert len(set(ports)) == len(ports)
    assert all(1 <= p <= 223 for p in ports)
    assert {kind_of(p) for p in ports} == set(KINDS)
    assert [KINDS[k]["direction"] for k in KINDS].count("downlink") == 1
    assert KINDS["config"]["direction"] == "downlink"


@pytest.mark.parametrize("port", [0, 1, 224, 255, -1, "12", 12.0, None, True])
def test_unknown_fports_are_codec_errors(port):
    with pytest.raises(CodecError) as err:
        decode(port, b"\x01")
    assert err.value.reason == "unknown fPort"


def test_status_battery_only_is_valid_and_every_other_field_optional():
    assert decode(fport_of("status"), encode("status", {"battery_mv": 3300}))[1] == {
        "battery_mv": 3300
    }


def test_scaled_values_decode_to_exact_decimals():
    for text in ("21.5", "21.55", "-0.01", "-39.99", "84.99", "0.1", "0.07"):
        _, data = decode(12, encode("temperature", {"temperature_c": float(text)}))
        assert repr(data["temperature_c"]) == text


def test_sensor_float_is_rounded_to_the_resolution():
    _, data = decode(
        12, encode("temperature", {"temperature_c": 21.5549999, "humidity_pct": 45.46})
    )
    assert data == {"temperature_c": 21.55, "humidity_pct": 45.5}


def test_integer_input_for_a_scaled_field_is_accepted():
    assert encode("temperature", {"temperature_c": 21}) == encode(
        "temperature", {"temperature_c": 21.0}
    )


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("temperature", {"temperature_c": float("nan")}, "temperature_c"),
        ("temperature", {"temperature_c": float("inf")}, "temperature_c"),
        ("parking", {"occupied": True, "since_s": True}, "since_s"),
        ("status", {"battery_mv": 3300.0}, "battery_mv"),
        ("water_level", {"levels_mm": "123", "interval_s": 60}, "levels_mm"),
        ("config", {"thresholds": [1, 2]}, "thresholds"),
        ("status", {"battery_mv": 1, "errors": "sensor"}, "errors"),
    ],
)
def test_bad_values_name_their_field(kind, data, field):
    with pytest.raises(CodecError) as err:
        encode(kind, data)
    assert err.value.field == field
    assert field in str(err.value)


def test_non_dict_data_is_a_codec_error():
    with pytest.raises(CodecError) as err:
        encode("parking", [True])
    assert err.value.reason == "wrong type"


@pytest.mark.parametrize(
    "fw", ["1.2", "1.2.3.4", "01.2.3", "1..3", "a.b.c", "\u0661.0.0", " 1.2.3", 123]
)
def test_fw_must_be_plain_a_b_c(fw):
    with pytest.raises(CodecError) as err:
        encode("status", {"battery_mv": 1, "fw": fw})
    assert err.value.field == "fw"
