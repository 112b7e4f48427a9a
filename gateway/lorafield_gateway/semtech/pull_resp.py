"""PULL_RESP (PROTOCOL.TXT 5.4, 6): server -> gateway, one packet to transmit (`txpk`).
Layout: version 2 | token (2) | 0x03 | JSON {"txpk": {...}}. In version 2 the token is
echoed by the gateway's TX_ACK."""

from dataclasses import dataclass

from . import fields as f
from .header import HEADER_LEN, PULL_RESP, SemtechError, dumps, expect, header, loads_object


@dataclass(frozen=True)
class TxPacket:
    """A LoRa `txpk`: immediately (`imme`) or at `tmst` on the gateway's µs counter."""

    data: bytes
    frequency_hz: int
    sf: int
    bw_hz: int
    coding_rate: int = 5
    power_dbm: int = 14
    tmst: int | None = None
    immediate: bool = False
    ipol: bool = True  # LoRaWAN downlinks invert the IQ polarity
    preamble: int = 8
    ncrc: bool = True  # LoRaWAN downlinks carry no payload CRC
    rfch: int = 0

    def to_json(self):
        obj = {"imme": True} if self.immediate else {"tmst": self.tmst}
        obj.update(
            freq=f.freq_mhz(self.frequency_hz),
            rfch=self.rfch,
            powe=self.power_dbm,
            modu="LORA",
            datr=f.datr(self.sf, self.bw_hz),
            codr=f.codr(self.coding_rate),
            ipol=self.ipol,
            prea=self.preamble,
            size=len(self.data),
            ncrc=self.ncrc,
            data=f.b64(self.data),
        )
        return obj

    @classmethod
    def from_json(cls, obj):
        where = "txpk"
        if not isinstance(obj, dict):
            raise SemtechError("PULL_RESP txpk is not an object")
        if obj.get("modu") != "LORA":
            raise SemtechError(f"txpk.modu {obj.get('modu')!r} is not 'LORA' (FSK unsupported)")
        immediate = f.get_bool(obj.get("imme", False), "txpk.imme")
        tmst = None
        if not immediate:
            if "tmst" not in obj:
                raise SemtechError("txpk needs tmst (or imme); tmms/GPS time is unsupported")
            tmst = f.get_int(obj["tmst"], "txpk.tmst", 0, 0xFFFFFFFF)
        sf, bw = f.parse_datr(obj.get("datr"), where)
        data = f.parse_b64(obj.get("data"), where)
        if not 1 <= len(data) <= 255:
            raise SemtechError(f"txpk.data of {len(data)} bytes (1..255 allowed)")
        if "size" in obj and f.get_int(obj["size"], "txpk.size", 0, 255) != len(data):
            raise SemtechError(f"txpk.size {obj['size']} does not match {len(data)} data bytes")
        return cls(
            data=data,
            frequency_hz=f.parse_freq(obj.get("freq"), where),
            sf=sf,
            bw_hz=bw,
            coding_rate=f.parse_codr(obj.get("codr", "4/5"), where),
            power_dbm=f.get_int(obj.get("powe", 14), "txpk.powe", -10, 40),
            tmst=tmst,
            immediate=immediate,
            ipol=f.get_bool(obj.get("ipol", False), "txpk.ipol"),
            preamble=f.get_int(obj.get("prea", 8), "txpk.prea", 6, 65535),
            ncrc=f.get_bool(obj.get("ncrc", False), "txpk.ncrc"),
            rfch=f.get_int(obj.get("rfch", 0), "txpk.rfch", 0, 255),
        )


@dataclass(frozen=True)
class PullResp:
    token: int
    txpk: TxPacket


def encode(packet):
    return header(packet.token, PULL_RESP) + dumps({"txpk": packet.txpk.to_json()})


def decode(data):
    token = expect(data, PULL_RESP)
    obj = loads_object(bytes(data[HEADER_LEN:]), "PULL_RESP")
    if "txpk" not in obj:
        raise SemtechError("PULL_RESP has no txpk")
    return PullResp(token, TxPacket.from_json(obj["txpk"]))
