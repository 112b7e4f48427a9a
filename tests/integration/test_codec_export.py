"""The exported JavaScript codec, run in node, against the Python codec.

One node process per module (a bare vm context: what TTN/ChirpStack give a codec): every shared
vector, hypothesis readings (JS decode of Python-encoded bytes == Python decode), JS encoders
byte for byte, arbitrary bytes and data (same error message as Python, never an exception).
"""

import json
import shutil
import subprocess
from pathlib import Path

import cbor2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jscodec import JsCodec
from lorafield_codec import KINDS, CodecError, decode, encode
from lorafield_tools.codec_export import MAX_BYTES, ExportError, export_js, ttn_codec_yaml
from lorafield_tools.codec_export.javascript import schema_json

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "codecs" / "vectors.json").read_text())
HYP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def js_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "lorafield.js"
    path.write_text(export_js("ttn"))
    return path


@pytest.fixture(scope="module")
def js(js_path):
    codec = JsCodec(js_path)
    yield codec
    codec.close()


def py_decode(fport, payload):
    """What the JS decoder must return: data, or the Python error message."""
    try:
        return {"data": json.loads(json.dumps(decode(fport, payload)[1]))}
    except CodecError as exc:
        return {"error": str(exc)}


def py_encode(kind, data):
    try:
        return {"bytes": list(encode(kind, data))}
    except CodecError as exc:
        return {"error": str(exc)}


def js_outcome(result):
    if result.get("errors"):
        assert result["warnings"] == []
        assert len(result["errors"]) == 1 and "data" not in result and "bytes" not in result
        return {"error": result["errors"][0]}
    assert result["errors"] == []
    return {"data": result["data"]} if "data" in result else {"bytes": result["bytes"]}


def decode_fn(fport):
    for spec in KINDS.values():
        if spec["fport"] == fport and spec["direction"] == "downlink":
            return "decodeDownlink"
    return "decodeUplink"


def decode_requests(cases):
    return [{"fn": decode_fn(p), "input": {"fPort": p, "bytes": list(b)}} for p, b in cases]


# ---- the file itself --------------------------------------------------------------------------


def test_export_is_es51_small_and_says_it_is_generated(js_path):
    text = js_path.read_text()
    assert len(text.encode()) <= MAX_BYTES
    head = text.splitlines()[:10]
    assert "GENERATED FILE" in head[0]
    assert any("lorafield 0.1.0" in line and "--target ttn" in line for line in head)
    assert any("schema.py" in line and "sha256" in line for line in head)
    check = ROOT / "node_modules" / "acorn"
    assert check.exists(), "npm ci installs acorn (package.json devDependency)"
    script = (
        "const acorn = require(process.argv[1]); const src = require('fs').readFileSync(0, 'utf8');"
        "try { acorn.parse(src, {ecmaVersion: 5, sourceType: 'script'}); console.log('ok'); }"
        "catch (e) { console.log('ES5 error: ' + e.message); }"
    )

    def es5(source):
        out = subprocess.run(
            ["node", "-e", script, str(check)], input=source, capture_output=True, text=True
        )
        return out.stdout.strip()

    assert es5(text) == "ok"
    # The check can fail: ES2015 syntax is refused.
    for snippet in ("let a = 1;", "var f = (x) => x;", "var s = `t`;", "class A {}"):
        assert es5(snippet).startswith("ES5 error"), snippet


def test_export_also_runs_as_a_strict_mode_module(tmp_path):
    # ChirpStack's QuickJS host may load the script as an ES module (always strict mode).
    module = tmp_path / "codec.mjs"
    module.write_text(
        export_js("chirpstack") + "\nexport { decodeUplink, decodeDownlink, encodeDownlink };\n"
    )
    script = (
        f"import * as c from {json.dumps(str(module))};"
        "console.log(JSON.stringify([c.decodeUplink({fPort: 12, bytes: [25, 8, 102]}),"
        "c.encodeDownlink({data: {reboot: true}}), c.decodeDownlink({fPort: 30, bytes: [1]})]));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    up, down, bad = json.loads(out.stdout)
    assert up["data"] == {"temperature_c": 21.5}
    assert down["bytes"] == [0x82, 0xF6, 0x01] and down["fPort"] == 30
    assert bad["errors"] == [py_decode(30, b"\x01")["error"]]


def test_targets_share_one_body_and_differ_in_the_header():
    ttn, chirpstack = export_js("ttn"), export_js("chirpstack")
    assert "The Things Network" in ttn.splitlines()[0]
    assert "ChirpStack v4" in chirpstack.splitlines()[0]
    assert ttn.split("var LORAFIELD_SCHEMA")[1] == chirpstack.split("var LORAFIELD_SCHEMA")[1]
    with pytest.raises(ExportError):
        export_js("loriot")


def test_schema_is_emitted_from_the_tables_and_unknown_packings_are_refused():
    assert json.loads(schema_json())["temperature"]["fport"] == 12
    bad = {"x": {"fport": 1, "direction": "uplink", "items": ({"pack": "zigzag"},)}}
    with pytest.raises(ExportError, match="zigzag"):
        schema_json(bad)
    huge = {
        "x": {
            "fport": 1,
            "direction": "uplink",
            "items": (
                {"pack": "item", "field": {"name": "n", "type": "int", "min": 0, "max": 2**60}},
            ),
        }
    }
    with pytest.raises(ExportError, match="2\\^53"):
        schema_json(huge)


# ---- shared vectors ---------------------------------------------------------------------------


def test_every_valid_vector_decodes_in_js_like_python(js):
    vecs = VECTORS["valid"]
    results = js.batch(decode_requests((v["fPort"], bytes.fromhex(v["hex"])) for v in vecs))
    for vec, result in zip(vecs, results, strict=True):
        assert result == {"data": vec["data"], "warnings": [], "errors": []}, vec
        assert js_outcome(result) == py_decode(vec["fPort"], bytes.fromhex(vec["hex"]))


def test_every_valid_vector_encodes_in_js_byte_for_byte(js):
    vecs = VECTORS["valid"]
    results = js.batch([{"fn": "encode", "kind": v["kind"], "data": v["data"]} for v in vecs])
    for vec, result in zip(vecs, results, strict=True):
        assert bytes(result["bytes"]).hex() == vec["hex"], vec
    downlinks = [v for v in vecs if KINDS[v["kind"]]["direction"] == "downlink"]
    assert downlinks
    results = js.batch([{"fn": "encodeDownlink", "input": {"data": v["data"]}} for v in downlinks])
    for vec, result in zip(downlinks, results, strict=True):
        assert result == {
            "bytes": list(bytes.fromhex(vec["hex"])),
            "fPort": vec["fPort"],
            "warnings": [],
            "errors": [],
        }


def test_every_decode_error_vector_gives_the_python_error(js):
    vecs = VECTORS["decode_errors"]
    results = js.batch(decode_requests((v["fPort"], bytes.fromhex(v["hex"])) for v in vecs))
    for vec, result in zip(vecs, results, strict=True):
        expected = py_decode(vec["fPort"], bytes.fromhex(vec["hex"]))
        assert expected["error"].startswith(vec["error"])
        assert js_outcome(result) == expected, vec


def test_every_encode_error_vector_gives_the_python_error(js):
    vecs = VECTORS["encode_errors"]
    results = js.batch([{"fn": "encode", "kind": v["kind"], "data": v["data"]} for v in vecs])
    for vec, result in zip(vecs, results, strict=True):
        expected = py_encode(vec["kind"], vec["data"])
        assert expected["error"].startswith(vec["error"])
        assert js_outcome(result) == expected, vec
    config = [v for v in vecs if v["kind"] == "config"]
    results = js.batch([{"fn": "encodeDownlink", "input": {"data": v["data"]}} for v in config])
    for vec, result in zip(config, results, strict=True):
        assert js_outcome(result) == py_encode("config", vec["data"])


def test_scaled_values_round_half_to_even_like_python(js):
    # Exact binary ties (x.5 after scaling): Python's round() goes to the even neighbour.
    cases = [
        ("temperature", {"temperature_c": 21.125}),
        ("temperature", {"temperature_c": 21.375}),
        ("temperature", {"temperature_c": -0.125}),
        ("temperature", {"temperature_c": 20.0, "humidity_pct": 50.25}),
        ("temperature", {"temperature_c": 20.0, "pressure_hpa": 1000.75}),
        ("config", {"thresholds": {"high_c": 30.625, "low_c": -5.875}}),
    ]
    results = js.batch([{"fn": "encode", "kind": k, "data": d} for k, d in cases])
    for (kind, data), result in zip(cases, results, strict=True):
        assert bytes(result["bytes"]) == encode(kind, data), data
    assert encode("temperature", {"temperature_c": 21.125}) == encode(
        "temperature", {"temperature_c": 21.12}
    )


def test_malformed_calls_return_errors_and_never_throw(js):
    inputs = [
        None,
        {},
        {"fPort": 12},
        {"fPort": "12", "bytes": [0]},
        {"fPort": 12.5, "bytes": [0]},
        {"fPort": 12, "bytes": "190866"},
        {"fPort": 12, "bytes": [25, 8, 256]},
        {"fPort": 12, "bytes": [25, 8, -1]},
        {"fPort": 12, "bytes": [25, 8, 102.5]},
        {"fPort": 12, "bytes": [25, None, 102]},
        {"fPort": 12, "bytes": {"length": 1}},
    ]
    requests = [{"fn": fn, "input": i} for fn in ("decodeUplink", "decodeDownlink") for i in inputs]
    requests += [
        {"fn": "encodeDownlink", "input": i}
        for i in (None, {}, {"data": None}, {"data": [1]}, {"data": "x"}, {"fPort": 10})
    ]
    requests.append({"fn": "encodeDownlink", "input": {"fPort": 99, "data": {"reboot": True}}})
    for request, result in zip(requests, js.batch(requests), strict=True):
        assert isinstance(result["errors"], list) and len(result["errors"]) == 1, request
        assert result["warnings"] == []
        assert isinstance(result["errors"][0], str) and result["errors"][0], request
    bad_type = js.call("decodeUplink", input={"fPort": 12, "bytes": [25, 8, 256]})
    assert bad_type["errors"] == ["wrong type (payload must be bytes)"]


def test_uplink_on_a_downlink_port_decodes_with_a_warning(js):
    result = js.call("decodeUplink", input={"fPort": 30, "bytes": [0x82, 0xF6, 0x01]})
    assert result["data"] == {"reboot": True}
    assert result["warnings"] == ["fPort 30 carries config, a downlink message"]
    decoded = js.call("decodeDownlink", input={"fPort": 30, "bytes": [0x82, 0xF6, 0x01]})
    assert decoded == {"data": {"reboot": True}, "warnings": [], "errors": []}


# ---- hypothesis: readings from the schema ---------------------------------------------------


def _field(f):
    t = f["type"]
    if t == "int":
        scale = f.get("scale", 1)
        if scale == 1:
            return st.integers(f["min"], f["max"])
        scaled = st.integers(f["min"] * scale, f["max"] * scale).map(lambda n, s=scale: n / s)
        return st.one_of(scaled, st.integers(f["min"], f["max"]))
    if t == "bool":
        return st.booleans()
    if t == "flag":
        return st.just(True)
    if t == "enum":
        return st.sampled_from(f["values"])
    if t == "enum_list":
        return st.lists(st.sampled_from(f["values"]), min_size=f["min_len"], max_size=f["max_len"])
    if t == "int_list":
        return st.lists(
            st.integers(f["min"], f["max"]), min_size=f["min_len"], max_size=f["max_len"]
        )
    if t == "version":
        part = st.integers(0, 2 ** f["minor_bits"] - 1)
        major = st.integers(0, f["major_max"])
        return st.tuples(major, part, part).map(lambda v: ".".join(map(str, v)))
    if t == "map":
        keys = f["keys"]
        chosen = st.lists(
            st.sampled_from(keys), min_size=f["min_len"], unique_by=lambda k: k["name"]
        )
        return chosen.flatmap(
            lambda ks: st.fixed_dictionaries({k["name"]: _field(dict(k, type="int")) for k in ks})
        )
    raise AssertionError(t)


def _slot(slot):
    pack = slot["pack"]
    fields = {"item": lambda: [slot["field"]], "bits": lambda: slot["fields"]}
    if pack in fields:
        required = {f["name"]: _field(f) for f in fields[pack]() if not f["optional"]}
        optional = {f["name"]: _field(f) for f in fields[pack]() if f["optional"]}
        return st.fixed_dictionaries(required, optional=optional)
    if pack == "delta":
        series, interval = slot["field"], slot["interval"]
        return st.fixed_dictionaries(
            {series["name"]: _field(series), interval["name"]: _field(interval)}
        )
    options = st.one_of([_slot(o) for o in slot["options"]])
    return st.one_of(st.just({}), options) if slot["optional"] else options


def readings(kind):
    spec = KINDS[kind]

    def merge(parts):
        out = {}
        for part in parts:
            out.update(part)
        return out

    data = st.tuples(*[_slot(s) for s in spec["items"]]).map(merge)
    return data.filter(bool) if spec.get("require_any") else data


ANY_READING = st.sampled_from(sorted(KINDS)).flatmap(lambda k: st.tuples(st.just(k), readings(k)))


@HYP
@given(st.lists(ANY_READING, min_size=1, max_size=20))
def test_js_decodes_python_encoded_readings_like_python(js, cases):
    encoded = [(KINDS[kind]["fport"], encode(kind, data)) for kind, data in cases]
    results = js.batch(decode_requests(encoded))
    for (fport, payload), result in zip(encoded, results, strict=True):
        assert js_outcome(result) == py_decode(fport, payload)


@HYP
@given(st.lists(readings("config"), min_size=1, max_size=20))
def test_js_encode_downlink_matches_python_byte_for_byte(js, datas):
    results = js.batch([{"fn": "encodeDownlink", "input": {"data": d}} for d in datas])
    for data, result in zip(datas, results, strict=True):
        assert bytes(result["bytes"]) == encode("config", data)
        assert result["fPort"] == KINDS["config"]["fport"]


@HYP
@given(st.lists(ANY_READING, min_size=1, max_size=20))
def test_js_encoder_matches_python_for_every_kind(js, cases):
    results = js.batch([{"fn": "encode", "kind": k, "data": d} for k, d in cases])
    for (kind, data), result in zip(cases, results, strict=True):
        assert bytes(result["bytes"]) == encode(kind, data)


# ---- hypothesis: malformed input ---------------------------------------------------------------

PORTS = st.sampled_from([0, 1, 10, 11, 12, 20, 30, 99, 224])
CBOR_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64 - 1),
    st.integers(-300, 300),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.binary(max_size=4),
)
CBOR_VALUE = st.recursive(
    CBOR_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.integers(-2, 9), st.text(max_size=2)), inner, max_size=4),
    ),
    max_leaves=12,
)


def _mutate(data):
    payload, cut, pos, byte = data
    payload = bytearray(payload)
    if payload and pos < len(payload):
        payload[pos] = byte
    return bytes(payload[: len(payload) - cut])


VALID_PAYLOADS = [bytes.fromhex(v["hex"]) for v in VECTORS["valid"]]
PAYLOADS = st.one_of(
    st.binary(max_size=40),
    CBOR_VALUE.map(lambda v: cbor2.dumps(v, canonical=True)),
    CBOR_VALUE.map(cbor2.dumps),  # not canonical: unsorted keys, wider floats
    st.tuples(
        st.sampled_from(VALID_PAYLOADS), st.integers(0, 2), st.integers(0, 20), st.integers(0, 255)
    ).map(_mutate),
)


@HYP
@given(st.lists(st.tuples(PORTS, PAYLOADS), min_size=1, max_size=30))
def test_any_bytes_decode_like_python_and_never_throw(js, cases):
    results = js.batch(decode_requests(cases))
    for (fport, payload), result in zip(cases, results, strict=True):
        assert js_outcome(result) == py_decode(fport, payload), (fport, payload.hex())


# JSON values as a user would send them. Integral floats are left out: JSON (and so JS) cannot
# tell 60.0 from 60, which Python refuses for an int field (documented in the README).
NAMES = sorted({n for s in KINDS.values() for n in json.dumps(s).split('"') if n.isidentifier()})
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.integers(-5, 120),
    st.floats(-1e6, 1e6).filter(lambda x: x != int(x)),
    st.sampled_from(["1.2.3", "0.0.1", "1.02.3", "rise", "watchdog", "sensor", "x"]),
)
KEYS = st.one_of(st.sampled_from(NAMES), st.text("abcxyz_", min_size=1, max_size=3))
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
ANY_DATA = st.one_of(
    st.dictionaries(KEYS, JSON_VALUE, max_size=5),
    ANY_READING.map(lambda kd: kd[1]),
    JSON_VALUE,
)


@HYP
@given(st.lists(st.tuples(st.sampled_from(sorted(KINDS) + ["nope"]), ANY_DATA), max_size=20))
def test_any_data_encodes_like_python_and_never_throws(js, cases):
    cases = [(k, json.loads(json.dumps(d))) for k, d in cases]
    results = js.batch([{"fn": "encode", "kind": k, "data": d} for k, d in cases])
    for (kind, data), result in zip(cases, results, strict=True):
        assert js_outcome(result) == py_encode(kind, data), (kind, data)
    downlink = js.batch([{"fn": "encodeDownlink", "input": {"data": d}} for _, d in cases])
    for (_, data), result in zip(cases, downlink, strict=True):
        assert js_outcome(result) == py_encode("config", data), data


# ---- TTN device-repository YAML ---------------------------------------------------------------


def test_ttn_yaml_examples_are_what_the_js_returns(js, tmp_path):
    text = ttn_codec_yaml("lorafield.js")
    doc = yaml.safe_load(text)
    assert set(doc) == {"uplinkDecoder", "downlinkEncoder", "downlinkDecoder"}
    fns = {
        "uplinkDecoder": "decodeUplink",
        "downlinkEncoder": "encodeDownlink",
        "downlinkDecoder": "decodeDownlink",
    }
    total = 0
    for section, fn in fns.items():
        assert doc[section]["fileName"] == "lorafield.js"
        examples = doc[section]["examples"]
        results = js.batch([{"fn": fn, "input": e["input"]} for e in examples])
        for example, result in zip(examples, results, strict=True):
            assert result == example["output"], example["description"]
            if "bytes" in example["input"]:  # the repository schema's decoder input
                assert 1 <= len(example["input"]["bytes"]) <= 256
                assert 1 <= example["input"]["fPort"] <= 255
        total += len(examples)
        assert any(e["output"].get("errors") for e in examples), section  # error examples too
    valid_downlinks = sum(KINDS[v["kind"]]["direction"] == "downlink" for v in VECTORS["valid"])
    config_errors = sum(v["kind"] == "config" for v in VECTORS["encode_errors"])
    decode_errors = [v for v in VECTORS["decode_errors"] if v["hex"] and v["fPort"] >= 1]
    expected = len(VECTORS["valid"]) + valid_downlinks + len(decode_errors) + config_errors
    assert len(decode_errors) == len(VECTORS["decode_errors"]) - 2  # empty payload, fPort 0
    assert total == expected
    assert "0x19, 0x08, 0x66" in text  # bytes written in hex, as the repository does


def test_cli_export_writes_the_files(tmp_path):
    lorafield = shutil.which("lorafield") or str(ROOT / ".venv" / "bin" / "lorafield")
    js_file, yaml_file = tmp_path / "codec.js", tmp_path / "codec.yaml"
    run = subprocess.run(
        [
            lorafield,
            "codec",
            "export",
            "--target",
            "ttn",
            "-o",
            str(js_file),
            "--ttn-yaml",
            str(yaml_file),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert js_file.read_text() == export_js("ttn")
    assert yaml.safe_load(yaml_file.read_text())["uplinkDecoder"]["fileName"] == "codec.js"
    assert f"{js_file.stat().st_size} bytes" in run.stdout
    stdout = subprocess.run(
        [lorafield, "codec", "export", "--target", "chirpstack"], capture_output=True, text=True
    )
    assert stdout.returncode == 0 and stdout.stdout == export_js("chirpstack")
    bad = subprocess.run(
        [lorafield, "codec", "export", "--target", "chirpstack", "--ttn-yaml", "x.yaml"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_cli_export_writes_both_files_or_neither(tmp_path, capsys):
    from lorafield_tools.cli import main

    js_file = tmp_path / "codec.js"
    argv = ["codec", "export", "--target", "ttn", "-o", str(js_file)]
    assert main([*argv, "--ttn-yaml", str(tmp_path / "missing" / "codec.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err
    assert list(tmp_path.iterdir()) == []  # no codec.js, no temporary file left
    js_file.write_text("old")
    assert main([*argv, "--ttn-yaml", str(tmp_path / "codec.yaml")]) == 0
    assert js_file.read_text() == export_js("ttn") and (tmp_path / "codec.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codec.js", "codec.yaml"]
