"""PULL_DATA (PROTOCOL.TXT 5.2): gateway -> server keepalive that opens the downlink path
through NAT. Layout: version 2 | token (2) | 0x02 | gateway EUI (8)."""

from dataclasses import dataclass

from .header import PULL_DATA, SemtechError, eui_bytes, header, split_eui


@dataclass(frozen=True)
class PullData:
    token: int
    gateway_eui: str


def encode(packet):
    return header(packet.token, PULL_DATA) + eui_bytes(packet.gateway_eui)


def decode(data):
    token, eui, rest = split_eui(data, PULL_DATA)
    if rest:
        raise SemtechError(f"PULL_DATA has {len(rest)} unexpected bytes after the EUI")
    return PullData(token, eui)
