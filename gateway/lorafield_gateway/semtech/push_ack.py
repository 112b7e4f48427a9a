"""PUSH_ACK (PROTOCOL.TXT 3.3): server -> gateway, echoes the PUSH_DATA token at once.
Layout: version 2 | token (2) | 0x01."""

from dataclasses import dataclass

from .header import HEADER_LEN, PUSH_ACK, SemtechError, expect, header


@dataclass(frozen=True)
class PushAck:
    token: int


def encode(packet):
    return header(packet.token, PUSH_ACK)


def decode(data):
    token = expect(data, PUSH_ACK)
    if len(data) != HEADER_LEN:
        raise SemtechError(f"PUSH_ACK of {len(data)} bytes, expected {HEADER_LEN}")
    return PushAck(token)
