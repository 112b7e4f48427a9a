"""The one engine that encodes and decodes every message kind from its schema table.

Payload layout (codecs/README.md has the full rules): the slots of a kind form a positional
CBOR array; absent trailing slots are left out, an absent slot before a present one is null;
when only the first slot is present and it is not itself an array, it is sent bare (no array).
Every check the encoder makes, the decoder makes too, so decode(encode(x)) == x and
encode(decode(b)) == b for every payload the decoder accepts.
"""

from .cbor import dumps, loads
from .errors import (
    MISSING,
    NOT_CANONICAL,
    OUT_OF_RANGE,
    UNKNOWN_FIELD,
    UNKNOWN_FPORT,
    UNKNOWN_KIND,
    WRONG_TYPE,
    CodecError,
)
from .schema import PORTS, table


def _is_int(v):
    return type(v) is int  # excludes bool on CPython (a subclass) and MicroPython alike


def _digits(scale):
    d = 0
    while scale > 1:
        scale //= 10
        d += 1
    return d


# ---- field values: user value <-> integer / CBOR value ------------------------------------


def _enc_int(f, v, name):
    scale = f.get("scale", 1)
    if _is_int(v):
        n = v * scale
    elif type(v) is float and scale > 1:
        try:
            n = round(v * scale)
        except (ValueError, OverflowError):  # nan, inf
            raise CodecError(OUT_OF_RANGE, name) from None
    else:
        raise CodecError(WRONG_TYPE, name, "number expected" if scale > 1 else "int expected")
    if n < f["min"] * scale or n > f["max"] * scale:
        raise CodecError(OUT_OF_RANGE, name)
    return n


def _dec_int(f, n, name):
    if not _is_int(n):
        raise CodecError(WRONG_TYPE, name)
    scale = f.get("scale", 1)
    if n < f["min"] * scale or n > f["max"] * scale:
        raise CodecError(OUT_OF_RANGE, name)
    if scale == 1:
        return n
    return round(n / scale, _digits(scale))


def _enc_enum(f, v, name):
    if type(v) is not str:
        raise CodecError(WRONG_TYPE, name, "name expected")
    values = f["values"]
    for i in range(len(values)):
        if values[i] == v:
            return i
    raise CodecError(OUT_OF_RANGE, name, "unknown value")


def _dec_enum(f, n, name):
    if not _is_int(n):
        raise CodecError(WRONG_TYPE, name)
    if n < 0 or n >= len(f["values"]):
        raise CodecError(OUT_OF_RANGE, name)
    return f["values"][n]


def _enc_version(f, v, name):
    if type(v) is not str:
        raise CodecError(WRONG_TYPE, name, "'a.b.c' expected")
    parts = v.split(".")
    if len(parts) != 3:
        raise CodecError(WRONG_TYPE, name, "'a.b.c' expected")
    for p in parts:
        # ASCII digits only (CPython's isdigit() also takes other scripts), no leading zeros.
        ok = 0 < len(p) < 4 and not (len(p) > 1 and p[0] == "0")
        for c in p:
            ok = ok and "0" <= c <= "9"
        if not ok:
            raise CodecError(WRONG_TYPE, name, "'a.b.c' expected")
    major, minor, patch = int(parts[0]), int(parts[1]), int(parts[2])
    mb, pb = f["minor_bits"], f["patch_bits"]
    if major > f["major_max"] or minor >= (1 << mb) or patch >= (1 << pb):
        raise CodecError(OUT_OF_RANGE, name)
    return (((major << mb) | minor) << pb) | patch


def _dec_version(f, n, name):
    if not _is_int(n):
        raise CodecError(WRONG_TYPE, name)
    mb, pb = f["minor_bits"], f["patch_bits"]
    major = n >> (mb + pb)
    if n < 0 or major > f["major_max"]:
        raise CodecError(OUT_OF_RANGE, name)
    minor = (n >> pb) & ((1 << mb) - 1)
    return str(major) + "." + str(minor) + "." + str(n & ((1 << pb) - 1))


def _check_len(f, seq, name):
    if len(seq) < f["min_len"] or len(seq) > f.get("max_len", len(seq)):
        raise CodecError(OUT_OF_RANGE, name, "length")


def _at(exc, name, i):
    """The same error, naming element i (built only on failure: no garbage per element)."""
    return CodecError(exc.reason, name + "[" + str(i) + "]", exc.detail)


def _enc_enum_list(f, v, name):
    if type(v) is not list and type(v) is not tuple:
        raise CodecError(WRONG_TYPE, name, "list expected")
    _check_len(f, v, name)
    out = []
    for i in range(len(v)):
        try:
            out.append(_enc_enum(f, v[i], name))
        except CodecError as exc:
            raise _at(exc, name, i) from None
    return out


def _dec_enum_list(f, v, name):
    if type(v) is not list:
        raise CodecError(WRONG_TYPE, name)
    _check_len(f, v, name)
    out = []
    for i in range(len(v)):
        try:
            out.append(_dec_enum(f, v[i], name))
        except CodecError as exc:
            raise _at(exc, name, i) from None
    return out


def _enc_map(f, v, name):
    if type(v) is not dict:
        raise CodecError(WRONG_TYPE, name, "object expected")
    _check_len(f, v, name)
    out = {}
    for k in v:
        key = None
        for entry in f["keys"]:
            if entry["name"] == k:
                key = entry
        if key is None:
            raise CodecError(UNKNOWN_FIELD, name + "." + str(k))
        out[key["code"]] = _enc_int(key, v[k], name + "." + k)
    return out


def _dec_map(f, v, name):
    if type(v) is not dict:
        raise CodecError(WRONG_TYPE, name)
    _check_len(f, v, name)
    out = {}
    for code in v:
        key = None
        for entry in f["keys"]:
            if entry["code"] == code:
                key = entry
        if key is None:
            raise CodecError(UNKNOWN_FIELD, name + "." + str(code))
        out[key["name"]] = _dec_int(key, v[code], name + "." + key["name"])
    return out


def _enc_value(f, v):
    """User value -> CBOR value of an "item" slot (int, bool, list or map)."""
    t, name = f["type"], f["name"]
    if t == "int":
        return _enc_int(f, v, name)
    if t == "enum":
        return _enc_enum(f, v, name)
    if t == "bool":
        if type(v) is not bool:
            raise CodecError(WRONG_TYPE, name, "true/false expected")
        return v
    if t == "flag":
        if v is not True:
            raise CodecError(WRONG_TYPE, name, "only true is valid")
        return True
    if t == "version":
        return _enc_version(f, v, name)
    if t == "enum_list":
        return _enc_enum_list(f, v, name)
    if t == "map":
        return _enc_map(f, v, name)
    raise CodecError(WRONG_TYPE, name, "schema type " + t)


def _dec_value(f, v):
    t, name = f["type"], f["name"]
    if t == "int":
        return _dec_int(f, v, name)
    if t == "enum":
        return _dec_enum(f, v, name)
    if t == "bool":
        if type(v) is not bool:
            raise CodecError(WRONG_TYPE, name)
        return v
    if t == "flag":
        if v is not True:
            raise CodecError(WRONG_TYPE, name)
        return True
    if t == "version":
        return _dec_version(f, v, name)
    if t == "enum_list":
        return _dec_enum_list(f, v, name)
    if t == "map":
        return _dec_map(f, v, name)
    raise CodecError(WRONG_TYPE, name, "schema type " + t)


# ---- bits packing: several fields in one unsigned int ------------------------------------


def _enc_code(f, v):
    """A present field's unsigned code inside a bits slot (before the optional +1)."""
    t = f["type"]
    if t == "bool" or t == "flag":
        return 1 if _enc_value(f, v) else 0
    if t == "int":
        return _enc_int(f, v, f["name"]) - f["min"] * f.get("scale", 1)
    if t == "enum":
        return _enc_enum(f, v, f["name"])
    if t == "version":
        return _enc_version(f, v, f["name"])
    raise CodecError(WRONG_TYPE, f["name"], "schema type " + t + " in bits")


def _dec_code(f, code):
    t = f["type"]
    if t == "bool":
        return code == 1
    if t == "flag":
        return True
    if t == "int":
        return _dec_int(f, code + f["min"] * f.get("scale", 1), f["name"])
    return _dec_value(f, code)


def _offset(f):
    """Optional fields are sent as code + 1 so that 0 means absent; a flag's 1 already is."""
    return 1 if f["optional"] and f["type"] != "flag" else 0


def _enc_bits(slot, data):
    total = 0
    shift = 0
    present = False
    for f in slot["fields"]:
        name = f["name"]
        width = f["bits"]
        if name in data:
            present = True
            code = _enc_code(f, data[name]) + _offset(f)
            if width and code >= (1 << width):
                raise CodecError(OUT_OF_RANGE, name)
            total |= code << shift
        elif not f["optional"]:
            raise CodecError(MISSING, name)
        shift += width
    return total if present else None


def _dec_bits(slot, v, out):
    fields = slot["fields"]
    if not _is_int(v) or v < 0:
        raise CodecError(WRONG_TYPE, fields[0]["name"])
    required = False
    shift = 0
    for f in fields:
        width = f["bits"]
        code = v >> shift
        if width:
            code &= (1 << width) - 1
        if f["optional"]:
            if code:
                out[f["name"]] = _dec_code(f, code - _offset(f))
        else:
            required = True
            if f["type"] == "bool" and code > 1:
                raise CodecError(OUT_OF_RANGE, f["name"])
            out[f["name"]] = _dec_code(f, code)
        shift += width
    last = fields[len(fields) - 1]
    if last["bits"] and v >> shift:
        raise CodecError(OUT_OF_RANGE, last["name"])
    if not required and v == 0:
        raise CodecError(NOT_CANONICAL, fields[0]["name"], "empty packed item")


# ---- slots --------------------------------------------------------------------------------


def _slot_fields(slot, acc):
    """Append the names of every field of `slot` to `acc` (for the unknown-field check)."""
    pack = slot["pack"]
    if pack == "item":
        acc.append(slot["field"]["name"])
    elif pack == "bits":
        for f in slot["fields"]:
            acc.append(f["name"])
    elif pack == "delta":
        acc.append(slot["field"]["name"])
        acc.append(slot["interval"]["name"])
    else:
        for option in slot["options"]:
            _slot_fields(option, acc)
    return acc


def _enc_slot(slot, data):
    """CBOR value of one slot, or None when all of its fields are absent."""
    pack = slot["pack"]
    if pack == "item":
        f = slot["field"]
        if f["name"] in data:
            return _enc_value(f, data[f["name"]])
        if not f["optional"]:
            raise CodecError(MISSING, f["name"])
        return None
    if pack == "bits":
        return _enc_bits(slot, data)
    if pack == "delta":
        from .series import enc_delta

        return enc_delta(slot, data)
    # choice (only water_level has one, like delta): code loaded on first use
    from .series import enc_choice

    return enc_choice(slot, data)


def _is_required(slot):
    pack = slot["pack"]
    if pack == "item":
        return not slot["field"]["optional"]
    if pack == "bits":
        return any(not f["optional"] for f in slot["fields"])
    if pack == "delta":
        return True
    return not slot["optional"]


def _dec_slot(slot, v, out):
    pack = slot["pack"]
    if v is None:
        if _is_required(slot):
            raise CodecError(MISSING, _slot_fields(slot, [])[0])
        return
    if pack == "item":
        f = slot["field"]
        out[f["name"]] = _dec_value(f, v)
    elif pack == "bits":
        _dec_bits(slot, v, out)
    else:
        from .series import dec_delta_or_choice

        dec_delta_or_choice(slot, v, out)


# ---- public API ---------------------------------------------------------------------------


def _spec(kind):
    # Only this kind's table is loaded (schema.table): a node never holds the others.
    for name, _ in PORTS:
        if name == kind:
            return table(kind)
    raise CodecError(UNKNOWN_KIND, kind)


def fport_of(kind):
    """The fixed LoRaWAN FPort of a message kind."""
    for name, port in PORTS:
        if name == kind:
            return port
    raise CodecError(UNKNOWN_KIND, kind)


def kind_of(fport):
    """The message kind sent on `fport` (CodecError 'unknown fPort' if none)."""
    if _is_int(fport):
        for kind, port in PORTS:
            if port == fport:
                return kind
    raise CodecError(UNKNOWN_FPORT, None, str(fport) if _is_int(fport) else "not an int")


def encode(kind, data):
    """Application payload (bytes) for `data` (a dict of the kind's fields)."""
    spec = _spec(kind)
    if type(data) is not dict:
        raise CodecError(WRONG_TYPE, kind, "object expected")
    known = []
    for slot in spec["items"]:
        _slot_fields(slot, known)
    for name in data:
        if name not in known:
            raise CodecError(UNKNOWN_FIELD, name)
    items = [_enc_slot(slot, data) for slot in spec["items"]]
    while items and items[len(items) - 1] is None:
        items.pop()
    if not items:
        raise CodecError(MISSING, " | ".join(known), "at least one field")
    if len(items) == 1 and type(items[0]) is not list:
        return dumps(items[0])
    return dumps(items)


def decode(fport, payload):
    """(kind, data) for an application payload received on `fport`."""
    kind = kind_of(fport)
    slots = table(kind)["items"]
    value = loads(payload)
    if type(value) is list:
        n = len(value)
        if n == 0 or value[n - 1] is None:
            raise CodecError(NOT_CANONICAL, None, "empty array or trailing null")
        if n == 1 and type(value[0]) is not list:
            raise CodecError(NOT_CANONICAL, None, "single item must be sent bare")
        if n > len(slots):
            raise CodecError(OUT_OF_RANGE, None, "too many items")
        items = value
    else:
        items = [value]
    data = {}
    for i in range(len(slots)):
        _dec_slot(slots[i], items[i] if i < len(items) else None, data)
    if not data:  # a bare null: the encoder refuses a message with no field at all
        raise CodecError(MISSING, None, "at least one field")
    return kind, data
