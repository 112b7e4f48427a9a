"""PULL_ACK (PROTOCOL.TXT 5.3): server -> gateway, echoes the PULL_DATA token.
Layout: version 2 | token (2) | 0x04."""

from dataclasses import dataclass

from .header import PULL_ACK, expect_bare, header


@dataclass(frozen=True)
class PullAck:
    token: int


def encode(packet):
    return header(packet.token, PULL_ACK)


def decode(data):
    return PullAck(expect_bare(data, PULL_ACK))
