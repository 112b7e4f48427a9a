"""The shared vectors on the real MicroPython VM: identical bytes and data, within a 64 KiB heap."""

import json
from pathlib import Path

import pytest

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
