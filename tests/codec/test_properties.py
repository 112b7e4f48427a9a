"""Hypothesis properties of the message codec: round trips, no crash, canonical bytes."""

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st
from lorafield_codec import KINDS, CodecError, decode, encode, fport_of
from lorafield_codec.kind_config import THRESHOLDS
from lorafield_codec.kind_status import RESET_CAUSES
from lorafield_codec.kind_water_level import ALARMS
from lorafield_codec.schema import ERROR_CODES

U32 = 2**32 - 1


def scaled(lo, hi, scale):
    """Values on the field's resolution grid, as a sensor app would pass them."""
    if scale == 1:
        return st.integers(lo, hi)
    digits = len(str(scale)) - 1
    return st.integers(lo * scale, hi * scale).map(lambda n: round(n / scale, digits))


def with_optionals(required, optional):
    """A dict of the required entries plus any subset of the optional ones."""
    return st.fixed_dictionaries(required, optional=optional)


parking = with_optionals(
    {"occupied": st.booleans()},
    {"since_s": st.integers(0, U32), "mag_uT": st.integers(-32768, 32767)},
)
level = st.integers(-100000, 100000)
series = st.fixed_dictionaries(
    {"levels_mm": st.lists(level, min_size=1, max_size=32), "interval_s": st.integers(1, 86400)}
)
water_extra = {"alarm": st.sampled_from(ALARMS), "distance_mm": st.integers(0, 100000)}
water_level = st.one_of(
    with_optionals({"level_mm": level}, water_extra),
    st.tuples(series, with_optionals({}, water_extra)).map(lambda p: {**p[0], **p[1]}),
)
temperature = with_optionals(
    {"temperature_c": scaled(-40, 85, 100)},
    {"humidity_pct": scaled(0, 100, 10), "pressure_hpa": scaled(300, 1100, 10)},
)
version = st.tuples(st.integers(0, 255), st.integers(0, 31), st.integers(0, 31)).map(
    lambda v: "{}.{}.{}".format(*v)
)
status = with_optionals(
    {"battery_mv": st.integers(0, 65535)},
    {
        "uptime_s": st.integers(0, U32),
        "fw": version,
        "reset_cause": st.sampled_from(RESET_CAUSES),
        "errors": st.lists(st.sampled_from(ERROR_CODES), max_size=8),
        "interval_s": st.integers(1, 86400),
    },
)
thresholds = st.fixed_dictionaries(
    {},
    optional={t["name"]: scaled(t["min"], t["max"], t["scale"]) for t in THRESHOLDS},
).filter(bool)
config = with_optionals(
    {},
    {
        "interval_s": st.integers(60, 86400),
        "reboot": st.just(True),
        "request_status": st.just(True),
        "rejoin": st.just(True),
        "thresholds": thresholds,
    },
).filter(bool)

READINGS = {
    "parking": parking,
    "water_level": water_level,
    "temperature": temperature,
    "status": status,
    "config": config,
}
readings = st.sampled_from(sorted(READINGS)).flatmap(
    lambda kind: st.tuples(st.just(kind), READINGS[kind])
)


def test_strategies_cover_every_kind():
    assert set(READINGS) == set(KINDS)


@settings(max_examples=400)
@given(readings)
def test_valid_readings_round_trip_and_are_canonical_cbor(reading):
    kind, data = reading
    payload = encode(kind, data)
    assert decode(fport_of(kind), payload) == (kind, data)
    assert cbor2.dumps(cbor2.loads(payload), canonical=True) == payload


def _decode_or_codec_error(port, raw):
    """decode() returns data or raises CodecError; accepted bytes re-encode to themselves."""
    try:
        kind, data = decode(port, raw)
    except CodecError as exc:
        assert exc.reason and isinstance(exc.reason, str)
        return
    assert encode(kind, data) == raw


PORTS = st.sampled_from([k["fport"] for k in KINDS.values()]) | st.integers(-5, 300)


@settings(max_examples=600)
@given(PORTS, st.binary(max_size=48))
def test_random_bytes_never_raise_anything_but_codec_error(port, raw):
    _decode_or_codec_error(port, raw)


@settings(max_examples=600)
@given(readings, st.data())
def test_mutated_payloads_never_raise_anything_but_codec_error(reading, data):
    # Mutations of valid payloads reach deep into the schema engine, unlike pure noise.
    kind, value = reading
    raw = bytearray(encode(kind, value))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        i = data.draw(st.integers(0, len(raw)))
        if op == "insert":
            raw.insert(i, data.draw(st.integers(0, 255)))
        elif raw and i < len(raw):
            if op == "flip":
                raw[i] ^= 1 << data.draw(st.integers(0, 7))
            elif op == "delete":
                del raw[i]
            else:
                raw[i] = data.draw(st.integers(0, 255))
    port = data.draw(st.sampled_from([fport_of(kind)] * 3 + [k["fport"] for k in KINDS.values()]))
    _decode_or_codec_error(port, bytes(raw))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELD_NAMES = sorted(
    {"level_mm", "levels_mm", "interval_s", "occupied", "since_s", "mag_uT", "alarm", "fw"}
    | {"distance_mm", "temperature_c", "humidity_pct", "pressure_hpa", "battery_mv"}
    | {"uptime_s", "reset_cause", "errors", "reboot", "request_status", "rejoin", "thresholds"}
)


@settings(max_examples=500)
@given(
    st.sampled_from(sorted(KINDS)) | st.text(max_size=5),
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), json_values, max_size=5)
    | json_values,
)
def test_encoding_arbitrary_json_gives_bytes_or_codec_error(kind, data):
    try:
        payload = encode(kind, data)
    except CodecError as exc:
        assert exc.reason
        return
    assert decode(fport_of(kind), payload)[0] == kind
