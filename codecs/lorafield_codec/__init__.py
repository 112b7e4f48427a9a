"""lorafield's shared LoRaWAN payload codec: deterministic CBOR, one schema per message kind.

Runs unchanged on MicroPython 1.27+ and CPython 3.11+.

    payload = encode("temperature", {"temperature_c": 21.5})   # b'\\x19\\x08\\x66'
    port = fport_of("temperature")                              # 12
    kind, data = decode(port, payload)    # ("temperature", {"temperature_c": 21.5})

Every failure raises CodecError (with `.reason` and `.field`).
"""

from .engine import decode, encode, fport_of, kind_of
from .errors import CodecError


def __getattr__(name):
    # KINDS (every kind's table) is built on access: importing the package loads no table.
    if name == "KINDS":
        from .schema import kinds

        return kinds()
    raise AttributeError(name)


__all__ = ["KINDS", "CodecError", "decode", "encode", "fport_of", "kind_of"]
