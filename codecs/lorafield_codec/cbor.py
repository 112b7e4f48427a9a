"""A small deterministic CBOR (RFC 8949) encoder and a strict decoder.

Encoding follows the core deterministic rules (RFC 8949 §4.2.1): shortest-form integers and
lengths, definite lengths only, floats in the shortest of float16/32/64 that keeps the value.
Map keys are sorted length-first, then bytewise (RFC 7049 §3.9 canonical, what cbor2's
`canonical=True` does); for keys that all encode to the same length (the codec's schema only
uses 1-byte integer keys) this is the same order as RFC 8949's bytewise rule.

The decoder accepts exactly what the encoder emits: anything not in that form (non-shortest
heads, indefinite lengths, unsorted or duplicate keys, tags, undefined and other simple values,
floats that would fit a shorter form) raises CodecError, so decode -> encode is the identity.

Supported values: int (-2**64 .. 2**64-1), bytes, str, list/tuple, dict (int or str keys),
False/True/None, float.
"""

from .errors import (
    MALFORMED,
    NOT_CANONICAL,
    OUT_OF_RANGE,
    TOO_DEEP,
    TRAILING,
    TRUNCATED,
    UNSUPPORTED,
    WRONG_TYPE,
    CodecError,
)

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


MAX_DEPTH = const(8)  # arrays/maps nested deeper than this are refused (both directions)

_UINT = const(0)
_NINT = const(1)
_BYTES = const(2)
_TEXT = const(3)
_ARRAY = const(4)
_MAP = const(5)
_TAG = const(6)
_SIMPLE = const(7)


def _head(out, major, n):
    """Append the shortest head for major type `major` and argument `n` (RFC 8949 §3)."""
    mt = major << 5
    if n < 24:
        out.append(mt | n)
    elif n < 0x100:
        out.append(mt | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(mt | 25)
        out.extend(n.to_bytes(2, "big"))
    elif n < 0x100000000:
        out.append(mt | 26)
        out.extend(n.to_bytes(4, "big"))
    elif n < 0x10000000000000000:
        out.append(mt | 27)
        out.extend(n.to_bytes(8, "big"))
    else:
        raise CodecError(OUT_OF_RANGE, None, "integer needs more than 64 bits")


def _key_order(enc):
    # Length-first, then bytewise (cbor2 canonical); equal to bytewise when lengths are equal.
    return (len(enc), enc)


def _first(pair):
    return pair[0]


def _encode(out, v, depth):
    if depth > MAX_DEPTH:
        raise CodecError(TOO_DEEP)
    t = type(v)
    if v is None:
        out.append(0xF6)
    elif t is bool:  # before int: CPython's bool is an int subclass
        out.append(0xF5 if v else 0xF4)
    elif t is int:
        if v >= 0:
            _head(out, _UINT, v)
        else:
            _head(out, _NINT, -1 - v)
    elif t is float:
        # Message payloads never hold floats: the float code loads only when one is met.
        from .cbor_float import encode_float

        encode_float(out, v)
    elif t is str:
        b = v.encode("utf-8")
        _head(out, _TEXT, len(b))
        out.extend(b)
    elif t is bytes or t is bytearray:
        _head(out, _BYTES, len(v))
        out.extend(v)
    elif t is list or t is tuple:
        _head(out, _ARRAY, len(v))
        for item in v:
            _encode(out, item, depth + 1)
    elif t is dict:
        pairs = []
        for k in v:
            kb = bytearray()
            _encode(kb, k, depth + 1)
            pairs.append((_key_order(bytes(kb)), k))
        # Distinct keys have distinct encodings, so the order is total (no duplicates possible).
        pairs.sort(key=_first)
        _head(out, _MAP, len(pairs))
        for order, k in pairs:
            out.extend(order[1])
            _encode(out, v[k], depth + 1)
    else:
        raise CodecError(UNSUPPORTED, None, "cannot encode " + t.__name__)


def dumps(value):
    """Deterministic CBOR encoding of `value` as bytes."""
    out = bytearray()
    _encode(out, value, 0)
    return bytes(out)


class _Reader:
    """Cursor over the payload; every read is bounds-checked (truncated -> CodecError)."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        end = self.pos + n
        if end > len(self.buf):
            raise CodecError(TRUNCATED)
        b = self.buf[self.pos : end]
        self.pos = end
        return b

    def byte(self):
        if self.pos >= len(self.buf):
            raise CodecError(TRUNCATED)
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def remaining(self):
        return len(self.buf) - self.pos


def _argument(r, info):
    """Read the argument of a head; refuse non-shortest forms and indefinite lengths."""
    if info < 24:
        return info
    if info == 24:
        n = r.byte()
        if n < 24:
            raise CodecError(NOT_CANONICAL, None, "integer not in shortest form")
        return n
    if info == 25:
        n = int.from_bytes(r.take(2), "big")
        lower = 0x100
    elif info == 26:
        n = int.from_bytes(r.take(4), "big")
        lower = 0x10000
    elif info == 27:
        n = int.from_bytes(r.take(8), "big")
        lower = 0x100000000
    elif info == 31:
        raise CodecError(UNSUPPORTED, None, "indefinite length")
    else:
        raise CodecError(MALFORMED, None, "reserved additional information")
    if n < lower:
        raise CodecError(NOT_CANONICAL, None, "integer not in shortest form")
    return n


def _decode_simple(r, info):
    if info == 20:
        return False
    if info == 21:
        return True
    if info == 22:
        return None
    if 25 <= info <= 27:  # half, single, double float (2, 4, 8 bytes)
        from .cbor_float import decode_float

        return decode_float(info, r.take(1 << (info - 24)))
    if info == 31:
        raise CodecError(MALFORMED, None, "break outside indefinite item")
    if info >= 28:
        raise CodecError(MALFORMED, None, "reserved additional information")
    raise CodecError(UNSUPPORTED, None, "simple value")


def _decode(r, depth):
    if depth > MAX_DEPTH:
        raise CodecError(TOO_DEEP)
    ib = r.byte()
    major = ib >> 5
    info = ib & 0x1F
    if major == _SIMPLE:
        return _decode_simple(r, info)
    n = _argument(r, info)
    if major == _UINT:
        return n
    if major == _NINT:
        return -1 - n
    if major == _BYTES:
        return bytes(r.take(n))
    if major == _TEXT:
        raw = r.take(n)
        try:
            return str(raw, "utf-8")
        except Exception:  # UnicodeDecodeError (CPython) / UnicodeError (MicroPython)
            raise CodecError(MALFORMED, None, "text is not UTF-8") from None
    if major == _ARRAY:
        if n > r.remaining():  # every item takes at least one byte: refuse before allocating
            raise CodecError(TRUNCATED)
        return [_decode(r, depth + 1) for _ in range(n)]
    if major == _MAP:
        if 2 * n > r.remaining():
            raise CodecError(TRUNCATED)
        out = {}
        prev = None
        for _ in range(n):
            start = r.pos
            k = _decode(r, depth + 1)
            order = _key_order(bytes(r.buf[start : r.pos]))
            if type(k) is not int and type(k) is not str:
                raise CodecError(UNSUPPORTED, None, "map key type")
            if prev is not None and not prev < order:
                raise CodecError(NOT_CANONICAL, None, "map keys unsorted or duplicated")
            prev = order
            out[k] = _decode(r, depth + 1)
        return out
    raise CodecError(UNSUPPORTED, None, "tag")  # major 6


def loads(payload):
    """Decode one CBOR item that must fill `payload` exactly."""
    if type(payload) is not bytes:
        if type(payload) is bytearray or type(payload) is memoryview:
            payload = bytes(payload)
        else:
            raise CodecError(WRONG_TYPE, None, "payload must be bytes")
    r = _Reader(payload)
    value = _decode(r, 0)
    if r.remaining():
        raise CodecError(TRAILING)
    return value
