"""TX_ACK (PROTOCOL.TXT 5.5, protocol version 2): gateway -> server, the fate of a PULL_RESP,
with the PULL_RESP's token. Layout: version 2 | token (2) | 0x05 | gateway EUI (8) |
optional JSON {"txpk_ack": {"error": "..."}}; "NONE" means the packet was accepted."""

from dataclasses import dataclass

from .header import TX_ACK, SemtechError, dumps, eui_bytes, header, loads_object, split_eui

# PROTOCOL.TXT 6: the values of txpk_ack.error.
ERRORS = (
    "NONE",
    "TOO_LATE",
    "TOO_EARLY",
    "COLLISION_PACKET",
    "COLLISION_BEACON",
    "TX_FREQ",
    "TX_POWER",
    "GPS_UNLOCKED",
)


@dataclass(frozen=True)
class TxAck:
    token: int
    gateway_eui: str
    error: str = "NONE"


def encode(packet):
    if packet.error not in ERRORS:
        raise SemtechError(f"txpk_ack.error {packet.error!r} is not a protocol value")
    body = dumps({"txpk_ack": {"error": packet.error}})
    return header(packet.token, TX_ACK) + eui_bytes(packet.gateway_eui) + body


def decode(data):
    token, eui, body = split_eui(data, TX_ACK)
    if not body.strip(b"\x00 "):
        return TxAck(token, eui, "NONE")  # an empty body also means no error
    obj = loads_object(body.rstrip(b"\x00"), "TX_ACK")
    ack = obj.get("txpk_ack")
    if not isinstance(ack, dict):
        raise SemtechError("TX_ACK txpk_ack is not an object")
    error = ack.get("error", "NONE")
    if error not in ERRORS:
        raise SemtechError(f"TX_ACK txpk_ack.error {error!r} is not a protocol value")
    return TxAck(token, eui, error)
