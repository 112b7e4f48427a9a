"""The TTN device-repository codec YAML, its `examples` generated from codecs/vectors.json.

Each example is what the exported JavaScript returns for that input (the tests run every one
through node): valid vectors give `data`, error vectors give `errors` with the codec's message.
Values are written in JSON flow style, which every YAML parser reads.
"""

import json
from pathlib import Path

from lorafield_codec import KINDS, CodecError, decode, encode

from .javascript import lorafield_version, schema_digest

# codecs/vectors.json, through a link in this package so that the wheel carries a copy.
VECTORS = Path(__file__).with_name("vectors.json")


def _load_vectors(path=None):
    with open(path or VECTORS, encoding="utf-8") as handle:
        return json.load(handle)


def _direction(fport):
    for spec in KINDS.values():
        if spec["fport"] == fport:
            return spec["direction"]
    return "uplink"  # an unknown fPort is an uplink the network received


def repository_input_ok(fport, payload):
    """The device repository's schema takes decoder inputs with 1..256 bytes and fPort 1..255
    (an empty payload or fPort 0 never reaches a payload codec)."""
    return 1 <= fport <= 255 and 1 <= len(payload) <= 256


def _decode_output(fport, payload):
    try:
        kind, data = decode(fport, payload)
    except CodecError as exc:
        return {"errors": [str(exc)], "warnings": []}
    return {"data": data, "warnings": [], "errors": []}


def _encode_output(kind, data):
    try:
        payload = encode(kind, data)
    except CodecError as exc:
        return {"errors": [str(exc)], "warnings": []}
    return {"bytes": list(payload), "fPort": KINDS[kind]["fport"], "warnings": [], "errors": []}


def examples(vectors=None):
    """{"uplinkDecoder": [...], "downlinkEncoder": [...], "downlinkDecoder": [...]}."""
    vectors = vectors or _load_vectors()
    out = {"uplinkDecoder": [], "downlinkEncoder": [], "downlinkDecoder": []}
    for vec in vectors["valid"]:
        payload = bytes.fromhex(vec["hex"])
        title = f"{vec['kind']}: {vec.get('note', 'valid')}"
        example = {
            "description": title,
            "input": {"fPort": vec["fPort"], "bytes": list(payload)},
            "output": _decode_output(vec["fPort"], payload),
        }
        if KINDS[vec["kind"]]["direction"] == "downlink":
            out["downlinkDecoder"].append(example)
            out["downlinkEncoder"].append(
                {
                    "description": title,
                    "input": {"data": vec["data"]},
                    "output": _encode_output(vec["kind"], vec["data"]),
                }
            )
        else:
            out["uplinkDecoder"].append(example)
    for vec in vectors["decode_errors"]:
        payload = bytes.fromhex(vec["hex"])
        if not repository_input_ok(vec["fPort"], payload):
            continue
        section = "downlinkDecoder" if _direction(vec["fPort"]) == "downlink" else "uplinkDecoder"
        out[section].append(
            {
                "description": f"error, fPort {vec['fPort']}: {vec.get('note', vec['error'])}",
                "input": {"fPort": vec["fPort"], "bytes": list(payload)},
                "output": _decode_output(vec["fPort"], payload),
            }
        )
    for vec in vectors["encode_errors"]:
        if vec["kind"] not in KINDS or KINDS[vec["kind"]]["direction"] != "downlink":
            continue  # encodeDownlink only encodes downlink kinds
        out["downlinkEncoder"].append(
            {
                "description": f"error: {vec['error']} ({vec['field']})",
                "input": {"data": vec["data"]},
                "output": _encode_output(vec["kind"], vec["data"]),
            }
        )
    return out


def _flow(value):
    """A YAML flow value; byte lists in hex as the device repository writes them."""
    return json.dumps(value, ensure_ascii=False)


def _bytes(values):
    return "[" + ", ".join(f"0x{b:02X}" for b in values) + "]"


def render(js_file_name="lorafield.js", vectors=None):
    """The codec YAML text; `js_file_name` is the exported JavaScript next to it."""
    lines = [
        "# lorafield payload codec for The Things Network device repository. GENERATED FILE.",
        f"# lorafield {lorafield_version()}, schema sha256 {schema_digest()}; examples from "
        "codecs/vectors.json.",
        "# Regenerate: lorafield codec export --target ttn -o "
        f"{js_file_name} --ttn-yaml lorafield-codec.yaml",
    ]
    for section, items in examples(vectors).items():
        lines += ["", f"{section}:", f"  fileName: {js_file_name}", "  examples:"]
        for item in items:
            lines.append(f"    - description: {_flow(item['description'])}")
            lines.append("      input:")
            for key, value in item["input"].items():
                text = _bytes(value) if key == "bytes" else _flow(value)
                lines.append(f"        {key}: {text}")
            lines.append("      output:")
            for key, value in item["output"].items():
                text = _bytes(value) if key == "bytes" else _flow(value)
                lines.append(f"        {key}: {text}")
    return "\n".join(lines) + "\n"
