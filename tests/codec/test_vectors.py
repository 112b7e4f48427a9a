"""The shared vectors (codecs/vectors.json) on CPython; test_micropython.py runs them too."""

import json
from pathlib import Path

import cbor2
import pytest
from lorafield_codec import CodecError, decode, encode, fport_of

VECTORS = json.loads((Path(__file__).parents[2] / "codecs" / "vectors.json").read_text())
VALID = VECTORS["valid"]


def _id(v):
    return f"{v['kind']}-{v['note']}"


@pytest.mark.parametrize("vec", VALID, ids=_id)
def test_valid_vector_encodes_to_its_hex(vec):
    assert fport_of(vec["kind"]) == vec["fPort"]
    assert encode(vec["kind"], vec["data"]).hex() == vec["hex"]


@pytest.mark.parametrize("vec", VALID, ids=_id)
def test_valid_vector_decodes_to_its_data(vec):
    assert decode(vec["fPort"], bytes.fromhex(vec["hex"])) == (vec["kind"], vec["data"])


@pytest.mark.parametrize("vec", VALID, ids=_id)
def test_valid_vector_layout_seen_by_cbor2(vec):
    # An independent CBOR decoder sees the documented layout, and the bytes are canonical.
    # (Through JSON, as in the file: JSON turns integer map keys into strings.)
    raw = bytes.fromhex(vec["hex"])
    assert json.loads(json.dumps(cbor2.loads(raw))) == vec["cbor"]
    assert cbor2.dumps(cbor2.loads(raw), canonical=True) == raw


@pytest.mark.parametrize(
    "vec", VECTORS["encode_errors"], ids=lambda v: f"{v['kind']}-{v['error']}-{v['field']}"
)
def test_encode_error_vector(vec):
    with pytest.raises(CodecError) as err:
        encode(vec["kind"], vec["data"])
    assert err.value.reason == vec["error"]
    if vec["field"] is not None:
        assert err.value.field == vec["field"]
        assert vec["field"] in str(err.value)


@pytest.mark.parametrize("vec", VECTORS["decode_errors"], ids=lambda v: v["note"])
def test_decode_error_vector(vec):
    with pytest.raises(CodecError) as err:
        decode(vec["fPort"], bytes.fromhex(vec["hex"]))
    assert err.value.reason == vec["error"]


def test_vectors_cover_every_kind_and_every_decode_reason():
    kinds = {v["kind"] for v in VALID}
    assert kinds == {"parking", "water_level", "temperature", "status", "config"}
    reasons = {v["error"] for v in VECTORS["decode_errors"]}
    for reason in ("truncated", "trailing bytes", "wrong type", "out of range", "unknown fPort"):
        assert reason in reasons
    assert "nesting too deep" in reasons
