"""PULL_ACK (PROTOCOL.TXT 5.3): server -> gateway, echoes the PULL_DATA token.
Layout: version 2 | token (2) | 0x04."""

from dataclasses import dataclass

from .header import HEADER_LEN, PULL_ACK, SemtechError, expect, header


@dataclass(frozen=True)
class PullAck:
    token: int


def encode(packet):
    return header(packet.token, PULL_ACK)


def decode(data):
    token = expect(data, PULL_ACK)
    if len(data) != HEADER_LEN:
        raise SemtechError(f"PULL_ACK of {len(data)} bytes, expected {HEADER_LEN}")
    return PullAck(token)
