"""PUSH_ACK (PROTOCOL.TXT 3.3): server -> gateway, echoes the PUSH_DATA token at once.
Layout: version 2 | token (2) | 0x01."""

from dataclasses import dataclass

from .header import PUSH_ACK, expect_bare, header


@dataclass(frozen=True)
class PushAck:
    token: int


def encode(packet):
    return header(packet.token, PUSH_ACK)


def decode(data):
    return PushAck(expect_bare(data, PUSH_ACK))
