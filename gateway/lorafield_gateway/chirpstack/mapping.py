"""Records <-> ChirpStack v4 `gw` protobuf messages. Binary protobuf by default; with
``json=True`` the protobuf JSON mapping (`google.protobuf.json_format`), as ChirpStack's
``json`` marshaler uses.

Class A context: an uplink's ``rx_info.context`` is its 32-bit `tmst`, big-endian (what
ChirpStack's Semtech backend puts there); a downlink item timed with ``delay`` is sent at
that `tmst` + delay, which is how ChirpStack schedules RX1/RX2.
"""

import struct

from chirpstack_api import gw
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from ..radio import TxRequest

CODE_RATES = {5: gw.CodeRate.CR_4_5, 6: gw.CodeRate.CR_4_6, 7: gw.CodeRate.CR_4_7, 8: gw.CR_4_8}
CODE_RATE_DENOMINATORS = {v: k for k, v in CODE_RATES.items()}
CRC_STATUS = {"ok": gw.CRCStatus.CRC_OK, "bad": gw.CRCStatus.BAD_CRC, "none": gw.NO_CRC}
TX_ACK_STATUS = {
    name: gw.TxAckStatus.Value(name)
    for name in (
        "IGNORED",
        "OK",
        "TOO_LATE",
        "TOO_EARLY",
        "COLLISION_PACKET",
        "TX_FREQ",
        "TX_POWER",
        "GPS_UNLOCKED",
        "INTERNAL_ERROR",
    )
}


class MappingError(ValueError):
    """A message that cannot be used (malformed protobuf, unsupported timing, ...)."""


def marshal(message, json=False):
    if json:
        return json_format.MessageToJson(message, indent=None).encode()
    return message.SerializeToString()


def unmarshal(cls, data, json=False):
    message = cls()
    try:
        if json:
            json_format.Parse(bytes(data).decode("utf-8"), message)
        else:
            message.ParseFromString(bytes(data))
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        raise MappingError(f"malformed {cls.__name__}: {type(exc).__name__}") from None
    return message


def context_of(tmst):
    return struct.pack(">I", tmst & 0xFFFFFFFF)


def uplink_frame(record, gateway_id, uplink_id):
    """A stored uplink record (see service.frame_record) as gw.UplinkFrame."""
    frame = gw.UplinkFrame(phy_payload=bytes.fromhex(record["phy"]))
    frame.tx_info.frequency = record["freq"]
    lora = frame.tx_info.modulation.lora
    lora.bandwidth = record["bw"]
    lora.spreading_factor = record["sf"]
    lora.code_rate = CODE_RATES[record["cr"]]
    rx = frame.rx_info
    rx.gateway_id = gateway_id
    rx.uplink_id = uplink_id & 0xFFFFFFFF
    rx.gw_time.FromMicroseconds(record["wall_us"])
    rx.rssi = record["rssi"]
    rx.snr = record["snr"]
    rx.channel = 0
    rx.rf_chain = 0
    rx.context = context_of(record["tmst"])
    rx.crc_status = CRC_STATUS[record["crc"]]
    return frame


def gateway_stats(gateway_id, wall_us, counts, metadata=None):
    stats = gw.GatewayStats(gateway_id=gateway_id)
    stats.time.FromMicroseconds(wall_us)
    stats.rx_packets_received = counts.get("rx.received", 0)
    stats.rx_packets_received_ok = counts.get("rx.ok", 0)
    stats.tx_packets_received = counts.get("downlink.requested", 0)
    stats.tx_packets_emitted = counts.get("downlink.emitted", 0)
    for key, value in counts.items():
        if key.startswith("downlink.") and key[9:] in TX_ACK_STATUS:
            stats.tx_packets_per_status[key[9:]] = value
    for key, value in (metadata or {}).items():
        stats.metadata[key] = str(value)
    return stats


def conn_state(gateway_id, online):
    state = gw.ConnState.State.ONLINE if online else gw.ConnState.State.OFFLINE
    return gw.ConnState(gateway_id=gateway_id, state=state)


def tx_request(item, tag=None):
    """A gw.DownlinkFrameItem as a TxRequest; MappingError if it cannot be sent by us."""
    info = item.tx_info
    if not item.phy_payload:
        raise MappingError("downlink item without phy_payload")
    if len(item.phy_payload) > 255:
        raise MappingError("downlink phy_payload longer than 255 bytes")
    if info.modulation.WhichOneof("parameters") != "lora":
        raise MappingError("only LoRa modulation is supported")
    lora = info.modulation.lora
    if not 6 <= lora.spreading_factor <= 12 or lora.bandwidth not in (125_000, 250_000, 500_000):
        raise MappingError("unsupported LoRa data rate")
    coding_rate = CODE_RATE_DENOMINATORS.get(lora.code_rate, 5)
    request = TxRequest(
        phy=bytes(item.phy_payload),
        frequency_hz=info.frequency,
        sf=lora.spreading_factor,
        bw_hz=lora.bandwidth,
        coding_rate=coding_rate,
        power_dbm=info.power,
        ipol=lora.polarization_inversion,
        crc=not lora.no_crc,
        preamble=lora.preamble or 8,
        tag=tag,
    )
    timing = info.timing.WhichOneof("parameters")
    if timing == "immediately":
        request.immediate = True
    elif timing == "delay":
        if len(info.context) != 4:
            raise MappingError("delay timing needs the 4-byte context of the uplink")
        (tmst,) = struct.unpack(">I", info.context)
        delay_us = info.timing.delay.delay.ToMicroseconds()
        request.tmst = (tmst + delay_us) & 0xFFFFFFFF
    elif timing == "gps_epoch":
        raise MappingError("GPS_UNLOCKED")
    else:
        raise MappingError("downlink item without timing")
    return request


def tx_ack(gateway_id, downlink_id, statuses):
    ack = gw.DownlinkTxAck(gateway_id=gateway_id, downlink_id=downlink_id)
    for status in statuses:
        ack.items.add(status=TX_ACK_STATUS.get(status, TX_ACK_STATUS["INTERNAL_ERROR"]))
    return ack
