"""CBOR floats (half, single, double): loaded by cbor.py only when a float is encoded or
decoded. The codec's messages never carry one, so a node does not keep this code in its heap.

Floats are written in the shortest of float16/32/64 that keeps the value (NaN = f97e00), and
only that form is accepted when reading.
"""

import struct

from .errors import NOT_CANONICAL, CodecError


def _f16_bits(x):
    """IEEE 754 half-precision bits of `x` if `x` converts exactly, else -1.

    Done with integer maths (not struct 'e') because not every MicroPython port has 'e'.
    `x` is finite and non-zero here.
    """
    sign = 0
    if x < 0:
        sign = 0x8000
        x = -x
    # Largest half is 65504; smallest subnormal is 2**-24.
    if x > 65504.0 or x < 5.960464477539063e-08:
        return -1
    scaled = x * 16777216.0  # x * 2**24: exact (power of two), whole iff x is a multiple of 2**-24
    units = int(scaled)
    if units != scaled:
        return -1
    if units < 1024:  # subnormal: value = frac * 2**-24
        return sign | units
    # Normal: value = (1024 + frac) * 2**(e - 25); find e so the mantissa has 11 bits.
    e = 1
    while units >= 2048:
        if units & 1:
            return -1  # would need more than 11 significant bits
        units >>= 1
        e += 1
    return sign | (e << 10) | (units - 1024)


def _f16_value(h):
    exp = (h >> 10) & 0x1F
    frac = h & 0x3FF
    if exp == 0:
        val = frac / 16777216.0
    elif exp == 0x1F:
        val = float("inf") if frac == 0 else float("nan")
    else:
        val = (1024 + frac) * (2.0 ** (exp - 25))
    return -val if h & 0x8000 else val


def encode_float(out, x):
    if x != x:  # NaN: the canonical quiet NaN in half precision
        out.extend(b"\xf9\x7e\x00")
        return
    if x in (float("inf"), float("-inf")):
        out.extend(b"\xf9\x7c\x00" if x > 0 else b"\xf9\xfc\x00")
        return
    if x == 0:
        neg = str(x)[0] == "-"  # keeps -0.0 (copysign is not on every port)
        out.extend(b"\xf9\x80\x00" if neg else b"\xf9\x00\x00")
        return
    h = _f16_bits(x)
    if h >= 0:
        out.append(0xF9)
        out.extend(h.to_bytes(2, "big"))
        return
    try:
        f32 = struct.pack(">f", x)
        if struct.unpack(">f", f32)[0] == x:
            out.append(0xFA)
            out.extend(f32)
            return
    except (OverflowError, ValueError):
        pass
    out.append(0xFB)
    out.extend(struct.pack(">d", x))


def decode_float(info, raw):
    """The float of a head with additional information `info` (25, 26, 27) and its bytes."""
    if info == 25:
        h = int.from_bytes(raw, "big")
        v = _f16_value(h)
        if v != v and h != 0x7E00:
            raise CodecError(NOT_CANONICAL, None, "NaN not in canonical form")
        return v
    v = struct.unpack(">f" if info == 26 else ">d", raw)[0]
    shorter = bytearray()
    encode_float(shorter, v)
    if len(shorter) != len(raw) + 1 or bytes(shorter[1:]) != bytes(raw):
        raise CodecError(NOT_CANONICAL, None, "float not in shortest form")
    return v
