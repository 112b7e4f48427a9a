"""The 4-byte header every Semtech UDP packet starts with (PROTOCOL.TXT section 3-5):
protocol version (2), a random 2-byte token chosen by the sender of a request and echoed by
its acknowledgement, and the packet identifier; PUSH_DATA, PULL_DATA and TX_ACK then carry
the gateway's 8-byte EUI, and JSON follows where the packet type has a body."""

import json
import struct

PROTOCOL_VERSION = 2

PUSH_DATA = 0x00
PUSH_ACK = 0x01
PULL_DATA = 0x02
PULL_RESP = 0x03
PULL_ACK = 0x04
TX_ACK = 0x05

NAMES = {
    PUSH_DATA: "PUSH_DATA",
    PUSH_ACK: "PUSH_ACK",
    PULL_DATA: "PULL_DATA",
    PULL_RESP: "PULL_RESP",
    PULL_ACK: "PULL_ACK",
    TX_ACK: "TX_ACK",
}

_HEADER = struct.Struct(">BHB")
HEADER_LEN = _HEADER.size
EUI_LEN = 8


class SemtechError(ValueError):
    """A datagram that is not a valid packet of the expected type (one-line reason)."""


def identify(data):
    """(token, identifier) of a datagram; SemtechError if it is not protocol version 2."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SemtechError("datagram must be bytes")
    if len(data) < HEADER_LEN:
        raise SemtechError(f"datagram of {len(data)} bytes is shorter than the 4-byte header")
    version, token, identifier = _HEADER.unpack_from(data)
    if version != PROTOCOL_VERSION:
        raise SemtechError(f"protocol version {version}, expected {PROTOCOL_VERSION}")
    if identifier not in NAMES:
        raise SemtechError(f"unknown packet identifier 0x{identifier:02x}")
    return token, identifier


def header(token, identifier):
    if not 0 <= token <= 0xFFFF:
        raise SemtechError(f"token {token} is not a 16-bit value")
    return _HEADER.pack(PROTOCOL_VERSION, token, identifier)


def expect(data, identifier):
    """The token of `data` if it is a packet of type `identifier`."""
    token, found = identify(data)
    if found != identifier:
        raise SemtechError(f"expected {NAMES[identifier]}, got {NAMES[found]}")
    return token


def expect_bare(data, identifier):
    """The token of `data` if it is a header-only packet of type `identifier` (the acks)."""
    token = expect(data, identifier)
    if len(data) != HEADER_LEN:
        raise SemtechError(f"{NAMES[identifier]} of {len(data)} bytes, expected {HEADER_LEN}")
    return token


def eui_bytes(eui):
    """A gateway EUI given as 16 hex digits (or 8 bytes) as 8 bytes."""
    if isinstance(eui, bytes | bytearray):
        raw = bytes(eui)
    else:
        try:
            raw = bytes.fromhex(str(eui))
        except ValueError:
            raw = b""
    if len(raw) != EUI_LEN:
        raise SemtechError(f"gateway EUI must be 8 bytes (16 hex digits), got {eui!r}")
    return raw


def split_eui(data, identifier):
    """(token, eui hex, rest) of a packet whose header is followed by the gateway EUI."""
    token = expect(data, identifier)
    if len(data) < HEADER_LEN + EUI_LEN:
        raise SemtechError(f"{NAMES[identifier]} too short for the gateway EUI")
    eui = bytes(data[HEADER_LEN : HEADER_LEN + EUI_LEN]).hex()
    return token, eui, bytes(data[HEADER_LEN + EUI_LEN :])


def dumps(obj):
    """Compact JSON, as the reference forwarder sends it."""
    return json.dumps(obj, separators=(",", ":")).encode()


def loads_object(body, what):
    """The JSON object in `body`; SemtechError for anything else."""
    try:
        obj = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SemtechError(f"{what}: invalid JSON ({type(exc).__name__})") from None
    except RecursionError:  # the decoder recurses per nesting level: [[[[... from anyone
        raise SemtechError(f"{what}: JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise SemtechError(f"{what}: JSON body is not an object")
    return obj
