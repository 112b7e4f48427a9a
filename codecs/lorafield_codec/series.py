"""The packings only a series kind uses (water_level): "delta" and "choice". engine.py loads
this module on first use, so nodes of the other kinds never hold it.
"""

from .engine import _at, _check_len, _dec_int, _dec_slot, _enc_int, _enc_slot, _is_int, _slot_fields
from .errors import CONFLICT, MISSING, WRONG_TYPE, CodecError

# ---- delta packing: [interval, first, delta, delta, ...] ---------------------------------


def enc_delta(slot, data):
    f, fi = slot["field"], slot["interval"]
    name = f["name"]
    if name not in data:
        if fi["name"] in data:
            raise CodecError(MISSING, name)
        return None
    if fi["name"] not in data:
        raise CodecError(MISSING, fi["name"])
    seq = data[name]
    if type(seq) is not list and type(seq) is not tuple:
        raise CodecError(WRONG_TYPE, name, "list expected")
    _check_len(f, seq, name)
    out = [_enc_int(fi, data[fi["name"]], fi["name"])]
    prev = 0
    for i in range(len(seq)):
        try:
            n = _enc_int(f, seq[i], name)
        except CodecError as exc:
            raise _at(exc, name, i) from None
        out.append(n - prev)
        prev = n
    return out


def _dec_delta(slot, v, out):
    f, fi = slot["field"], slot["interval"]
    name = f["name"]
    if type(v) is not list or len(v) < 2:
        raise CodecError(WRONG_TYPE, name)
    _check_len(f, v[1:], name)
    out[fi["name"]] = _dec_int(fi, v[0], fi["name"])
    levels = []
    level = 0
    for i in range(1, len(v)):
        if not _is_int(v[i]):
            raise CodecError(WRONG_TYPE, name)
        level += v[i]
        try:
            levels.append(_dec_int(f, level, name))
        except CodecError as exc:
            raise _at(exc, name, i - 1) from None
    out[name] = levels


def enc_choice(slot, data):
    """Exactly one option may carry fields; the slot is that option's value (None: none)."""
    chosen = None
    for option in slot["options"]:
        for name in _slot_fields(option, []):
            if name in data:
                if chosen is not None and chosen is not option:
                    raise CodecError(CONFLICT, name)
                chosen = option
    if chosen is None:
        if not slot["optional"]:
            raise CodecError(MISSING, _slot_fields(slot["options"][0], [])[0])
        return None
    return _enc_slot(chosen, data)


def _cbor_kind(slot):
    """'array' when the slot is sent as a CBOR array, else 'scalar' (choice: told apart)."""
    pack = slot["pack"]
    if pack == "delta" or (pack == "item" and slot["field"]["type"] == "enum_list"):
        return "array"
    return "scalar"


def dec_delta_or_choice(slot, v, out):
    if slot["pack"] == "delta":
        _dec_delta(slot, v, out)
        return
    want = "array" if type(v) is list else "scalar"
    for option in slot["options"]:
        if _cbor_kind(option) == want:
            _dec_slot(option, v, out)
            return
    raise CodecError(WRONG_TYPE, _slot_fields(slot, [])[0])
