"""Semtech UDP packet forwarder protocol, version 2 (Semtech PROTOCOL.TXT, "LoRa packet
forwarder protocol", rev. for protocol version 2): one module per packet type, each with pure
``encode(obj) -> bytes`` / ``decode(bytes) -> obj`` functions and no sockets."""

from .header import (
    PROTOCOL_VERSION,
    PULL_ACK,
    PULL_DATA,
    PULL_RESP,
    PUSH_ACK,
    PUSH_DATA,
    TX_ACK,
    SemtechError,
    identify,
)

__all__ = [
    "PROTOCOL_VERSION",
    "PULL_ACK",
    "PULL_DATA",
    "PULL_RESP",
    "PUSH_ACK",
    "PUSH_DATA",
    "TX_ACK",
    "SemtechError",
    "identify",
]
