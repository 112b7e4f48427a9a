"""The shared vectors on the real MicroPython VM: identical bytes and data, within a 64 KiB heap."""

import json
import random
from pathlib import Path

import pytest
from lorafield_codec import KINDS, encode

pytestmark = pytest.mark.micropython

VECTORS_TEXT = (Path(__file__).parents[2] / "codecs" / "vectors.json").read_text()
VECTORS = json.loads(VECTORS_TEXT)

# Runs on MicroPython: one JSON line per vector, computed there from the same file.
RUN_VECTORS = r"""
import json
from lorafield_codec import CodecError, decode, encode, fport_of
with open("/vectors.json") as fh:
    vectors = json.load(fh)
for v in vectors["valid"]:
    payload = encode(v["kind"], v["data"])
    kind, data = decode(v["fPort"], bytes.fromhex(v["hex"]))
    print(json.dumps({"hex": payload.hex(), "fPort": fport_of(v["kind"]), "kind": kind,
                      "data": data}))
for v in vectors["encode_errors"]:
    try:
        encode(v["kind"], v["data"])
        print(json.dumps({"error": None}))
    except CodecError as e:
        print(json.dumps({"error": e.reason, "field": e.field}))
for v in vectors["decode_errors"]:
    try:
        decode(v["fPort"], bytes.fromhex(v["hex"]))
        print(json.dumps({"error": None}))
    except CodecError as e:
        print(json.dumps({"error": e.reason}))
"""


@pytest.fixture(scope="module")
def mp_results(micropython):
    micropython.write_file("/vectors.json", VECTORS_TEXT)
    lines = micropython.run(RUN_VECTORS).splitlines()
    n_valid = len(VECTORS["valid"])
    n_enc = len(VECTORS["encode_errors"])
    assert len(lines) == n_valid + n_enc + len(VECTORS["decode_errors"])
    rows = [json.loads(line) for line in lines]
    return rows[:n_valid], rows[n_valid : n_valid + n_enc], rows[n_valid + n_enc :]


def test_micropython_encodes_identical_bytes(mp_results):
    valid, _, _ = mp_results
    for vec, got in zip(VECTORS["valid"], valid, strict=True):
        assert (got["hex"], got["fPort"]) == (vec["hex"], vec["fPort"]), vec["note"]


def test_micropython_decodes_identical_data(mp_results):
    valid, _, _ = mp_results
    for vec, got in zip(VECTORS["valid"], valid, strict=True):
        assert (got["kind"], got["data"]) == (vec["kind"], vec["data"]), vec["note"]


def test_micropython_raises_the_same_encode_errors(mp_results):
    _, enc, _ = mp_results
    for vec, got in zip(VECTORS["encode_errors"], enc, strict=True):
        assert got["error"] == vec["error"], vec
        if vec["field"] is not None:
            assert got["field"] == vec["field"], vec


def test_micropython_raises_the_same_decode_errors(mp_results):
    _, _, dec = mp_results
    for vec, got in zip(VECTORS["decode_errors"], dec, strict=True):
        assert got["error"] == vec["error"], vec


def test_micropython_cbor_floats_match_cpython(micropython):
    from lorafield_codec.cbor import dumps

    values = [0.0, -0.0, 1.5, -4.1, 65504.0, 5.960464477539063e-08, 100000.0, 1e300, 0.1]
    code = "from lorafield_codec.cbor import dumps, loads\n"
    code += f"for x in {values!r} + [float('inf'), float('-inf'), float('nan')]:\n"
    code += (
        "    b = dumps(x)\n    y = loads(b)\n    print(b.hex(), y == x or (x != x and y != y))\n"
    )
    lines = micropython.run(code).split()
    expected = [dumps(x).hex() for x in values + [float("inf"), float("-inf"), float("nan")]]
    assert lines[0::2] == expected
    assert set(lines[1::2]) == {"True"}


def _random_reading(rng):
    """A valid reading of a random kind, values drawn over the schema's whole ranges."""
    kind = rng.choice(sorted(KINDS))
    opt = rng.random
    if kind == "parking":
        data = {"occupied": rng.random() < 0.5}
        if opt() < 0.5:
            data["since_s"] = rng.choice([rng.randint(0, 40000), rng.randint(0, 2**32 - 1)])
        if opt() < 0.3:
            data["mag_uT"] = rng.randint(-32768, 32767)
    elif kind == "water_level":
        if opt() < 0.5:
            data = {"level_mm": rng.randint(-100000, 100000)}
        else:
            first = rng.randint(-5000, 5000)
            levels = [first + sum(rng.randint(-30, 30) for _ in range(i)) for i in range(32)]
            data = {"levels_mm": levels[: rng.randint(1, 32)], "interval_s": rng.randint(1, 86400)}
        if opt() < 0.3:
            data["alarm"] = rng.choice(["rise", "high", "low"])
        if opt() < 0.3:
            data["distance_mm"] = rng.randint(0, 100000)
    elif kind == "temperature":
        data = {"temperature_c": rng.randint(-4000, 8500) / 100}
        if opt() < 0.5:
            data["humidity_pct"] = rng.randint(0, 1000) / 10
        if opt() < 0.5:
            data["pressure_hpa"] = rng.randint(3000, 11000) / 10
    elif kind == "status":
        data = {"battery_mv": rng.randint(0, 65535)}
        if opt() < 0.5:
            data["uptime_s"] = rng.randint(0, 2**32 - 1)
        if opt() < 0.5:
            data["fw"] = f"{rng.randint(0, 255)}.{rng.randint(0, 31)}.{rng.randint(0, 31)}"
        if opt() < 0.5:
            data["reset_cause"] = rng.choice(["power_on", "watchdog", "deep_sleep", "other"])
        if opt() < 0.5:
            data["errors"] = rng.sample(["sensor", "radio", "i2c", "join"], rng.randint(0, 4))
        if opt() < 0.5:
            data["interval_s"] = rng.randint(1, 86400)
    else:
        data = {"interval_s": rng.randint(60, 86400)}
        for flag in ("reboot", "request_status", "rejoin"):
            if opt() < 0.3:
                data[flag] = True
        if opt() < 0.5:
            data["thresholds"] = {"high_c": rng.randint(-4000, 8500) / 100, "rise_mm": 5}
    return kind, data


def test_random_readings_give_identical_bytes_and_data(micropython):
    rng = random.Random(2)
    readings = [_random_reading(rng) for _ in range(300)]
    micropython.write_file("/readings.json", json.dumps(readings))
    code = """
import json
from lorafield_codec import decode, encode, fport_of
with open("/readings.json") as fh:
    for kind, data in json.load(fh):
        payload = encode(kind, data)
        print(json.dumps([payload.hex(), decode(fport_of(kind), payload)[1]]))
"""
    lines = micropython.run(code).splitlines()
    assert len(lines) == len(readings)
    for (kind, data), line in zip(readings, lines, strict=True):
        hexa, back = json.loads(line)
        assert hexa == encode(kind, data).hex(), (kind, data)
        assert back == data, (kind, data)


CHECK_ONE = r"""
import json
from lorafield_codec import CodecError, decode, encode


def check(line):
    v = json.loads(line)
    if "error" not in v:
        return encode(v["kind"], v["data"]).hex() == v["hex"] and decode(
            v["fPort"], bytes.fromhex(v["hex"])
        ) == (v["kind"], v["data"])
    try:
        if "hex" in v:
            decode(v["fPort"], bytes.fromhex(v["hex"]))
        else:
            encode(v["kind"], v["data"])
    except CodecError as e:
        return e.reason == v["error"]
    return False
"""


def test_all_vectors_run_within_a_64_kib_heap(micropython_factory):
    # The factory's VM raises HeapLimitExceeded if MicroPython had to grow its 64 KiB heap.
    # This WebAssembly port cannot collect garbage in the middle of a call (it cannot scan
    # wasm locals for roots), only between calls; so each vector is one call: the codec's
    # resident code and tables plus everything one message allocates, with no collection,
    # must fit in 64 KiB. A device collects as it goes, so this bound is conservative.
    vm = micropython_factory(heap_kib=64)
    vm.run(CHECK_ONE)
    lines = [line.strip().rstrip(",") for line in VECTORS_TEXT.splitlines()]
    vector_lines = [line for line in lines if line.startswith('{"kind"') or '"fPort"' in line]
    total = sum(len(VECTORS[k]) for k in ("valid", "encode_errors", "decode_errors"))
    assert len(vector_lines) == total
    for line in vector_lines:
        assert vm.run(f"print(check({line!r}))") == "True\n", line


# What a node does with the codec at each boot (firmware: apps/framework.py, deploy.py): encode
# its own kind and status, decode the stored config, check the deployed thresholds.
NODE_BOOT = r"""
import gc, sys
from lorafield_codec import decode, encode
from lorafield_codec.schema import ERROR_CODES
encode(KIND, DATA)
encode("status", {"battery_mv": 3300, "errors": [ERROR_CODES[0]], "fw": "1.2.3"})
decode(30, encode("config", {"interval_s": 600, "thresholds": {"low_battery_mv": 3300}}))
gc.collect()

def strings(v, acc, depth=0):
    if type(v) is str:
        acc.add(v)
    elif depth < 8 and type(v) in (tuple, list):
        for x in v:
            strings(x, acc, depth + 1)
    elif depth < 8 and type(v) is dict:
        for k in v:
            strings(k, acc, depth + 1)
            strings(v[k], acc, depth + 1)
    return acc

held = set()
for name in sorted(sys.modules):
    if name.startswith("lorafield_codec"):
        strings(sys.modules[name].__dict__, held)
print(sorted(held))
"""

NODE_READINGS = {
    "parking": {"occupied": True, "since_s": 60},
    "water_level": {"level_mm": 1200},
    "temperature": {"temperature_c": 21.5},
}
# Fields found in no other table (mag_uT is also a config threshold key).
OWN_FIELDS = {
    "parking": {"occupied", "since_s"},
    "water_level": {"level_mm", "levels_mm", "alarm", "distance_mm"},
    "temperature": {"temperature_c", "humidity_pct", "pressure_hpa"},
}


@pytest.mark.parametrize("kind", sorted(NODE_READINGS))
def test_a_node_holds_only_the_tables_of_its_own_kind(kind):
    # The deployed form (.mpy in /lib): a node encoding its kind and status and decoding config
    # must not have loaded the tables of the other sensor kinds (on MicroPython every module
    # imported from the filesystem, and every name in it, stays in the heap).
    from lorafield_tools.mpcheck import heap
    from lorafield_tools.mpvm import MicroPythonVM

    with MicroPythonVM(heap_kib=256) as vm:
        vm.write_files(heap.mpy_files())
        code = f"KIND = {kind!r}\nDATA = {NODE_READINGS[kind]!r}\n" + NODE_BOOT
        held = set(json.loads(vm.run(code).replace("'", '"')))
    assert OWN_FIELDS[kind] <= held
    for other in set(OWN_FIELDS) - {kind}:
        assert not OWN_FIELDS[other] & held, f"{kind} node holds {other}'s table"
