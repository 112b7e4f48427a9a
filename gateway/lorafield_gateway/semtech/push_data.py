"""PUSH_DATA (PROTOCOL.TXT 3.2, 4): gateway -> server, received packets (`rxpk`) and/or
gateway status (`stat`). Layout: version 2 | token (2) | 0x00 | gateway EUI (8) | JSON."""

from dataclasses import dataclass, field

from . import fields as f
from .header import PUSH_DATA, SemtechError, dumps, eui_bytes, header, loads_object, split_eui

STAT_OK = 1  # rxpk.stat: CRC OK
STAT_CRC_BAD = -1
STAT_NO_CRC = 0


@dataclass(frozen=True)
class RxPacket:
    """One `rxpk` object: every field the reference forwarder sends for a LoRa packet."""

    tmst: int  # µs counter at "RX finished", 32 bits
    frequency_hz: int
    sf: int
    bw_hz: int
    coding_rate: int  # 5..8 for 4/5..4/8
    rssi: int  # dBm
    lsnr: float  # dB
    data: bytes
    stat: int = STAT_OK
    time: str | None = None  # ISO 8601 UTC ("compact" format), when the clock is known
    chan: int = 0
    rfch: int = 0

    def to_json(self):
        obj = {}
        if self.time is not None:
            obj["time"] = self.time
        obj.update(
            tmst=self.tmst,
            chan=self.chan,
            rfch=self.rfch,
            freq=f.freq_mhz(self.frequency_hz),
            stat=self.stat,
            modu="LORA",
            datr=f.datr(self.sf, self.bw_hz),
            codr=f.codr(self.coding_rate),
            rssi=self.rssi,
            lsnr=self.lsnr,
            size=len(self.data),
            data=f.b64(self.data),
        )
        return obj

    @classmethod
    def from_json(cls, obj, where="rxpk"):
        if not isinstance(obj, dict):
            raise SemtechError(f"{where} is not an object")
        if obj.get("modu") != "LORA":
            raise SemtechError(f"{where}.modu {obj.get('modu')!r} is not 'LORA'")
        sf, bw = f.parse_datr(obj.get("datr"), where)
        data = f.parse_b64(obj.get("data"), where)
        size = f.get_int(obj.get("size"), where + ".size", 0, 255)
        if size != len(data):
            raise SemtechError(f"{where}.size {size} does not match {len(data)} data bytes")
        time = obj.get("time")
        if time is not None and not isinstance(time, str):
            raise SemtechError(f"{where}.time must be a string")
        return cls(
            tmst=f.get_int(obj.get("tmst"), where + ".tmst", 0, 0xFFFFFFFF),
            frequency_hz=f.parse_freq(obj.get("freq"), where),
            sf=sf,
            bw_hz=bw,
            coding_rate=f.parse_codr(obj.get("codr"), where),
            rssi=f.get_int(obj.get("rssi"), where + ".rssi", -200, 50),
            lsnr=float(f.get_number(obj.get("lsnr"), where + ".lsnr")),
            data=data,
            stat=f.get_int(obj.get("stat"), where + ".stat", -1, 1),
            time=time,
            chan=f.get_int(obj.get("chan", 0), where + ".chan", 0, 255),
            rfch=f.get_int(obj.get("rfch", 0), where + ".rfch", 0, 255),
        )


@dataclass(frozen=True)
class Stat:
    """The `stat` object: gateway counters since the previous report (PROTOCOL.TXT 4)."""

    time: str  # "2014-01-12 08:59:28 GMT"
    rxnb: int  # packets received
    rxok: int  # with a valid PHY CRC
    rxfw: int  # forwarded
    ackr: float  # % of upstream datagrams acknowledged
    dwnb: int  # downlink datagrams received
    txnb: int  # packets emitted
    lati: float | None = None
    long: float | None = None
    alti: int | None = None

    def to_json(self):
        obj = {"time": self.time}
        if self.lati is not None:
            obj.update(lati=self.lati, long=self.long, alti=self.alti)
        obj.update(
            rxnb=self.rxnb,
            rxok=self.rxok,
            rxfw=self.rxfw,
            ackr=self.ackr,
            dwnb=self.dwnb,
            txnb=self.txnb,
        )
        return obj

    @classmethod
    def from_json(cls, obj):
        if not isinstance(obj, dict):
            raise SemtechError("stat is not an object")
        if not isinstance(obj.get("time"), str):
            raise SemtechError("stat.time must be a string")
        ints = {k: f.get_int(obj.get(k), "stat." + k, 0, 2**32) for k in ("rxnb", "rxok", "rxfw")}
        ints.update({k: f.get_int(obj.get(k), "stat." + k, 0, 2**32) for k in ("dwnb", "txnb")})
        position = {}
        if "lati" in obj:
            position = dict(
                lati=float(f.get_number(obj.get("lati"), "stat.lati")),
                long=float(f.get_number(obj.get("long"), "stat.long")),
                alti=f.get_int(obj.get("alti"), "stat.alti", -100_000, 100_000),
            )
        ackr = float(f.get_number(obj.get("ackr"), "stat.ackr"))
        return cls(time=obj["time"], ackr=ackr, **ints, **position)


@dataclass(frozen=True)
class PushData:
    token: int
    gateway_eui: str  # 16 hex digits
    rxpk: tuple = field(default_factory=tuple)
    stat: Stat | None = None


def encode(packet):
    body = {}
    if packet.rxpk:
        body["rxpk"] = [rx.to_json() for rx in packet.rxpk]
    if packet.stat is not None:
        body["stat"] = packet.stat.to_json()
    return header(packet.token, PUSH_DATA) + eui_bytes(packet.gateway_eui) + dumps(body)


def decode(data):
    token, eui, body = split_eui(data, PUSH_DATA)
    obj = loads_object(body, "PUSH_DATA")
    rxpk = obj.get("rxpk", [])
    if not isinstance(rxpk, list):
        raise SemtechError("PUSH_DATA rxpk is not an array")
    packets = tuple(RxPacket.from_json(item, f"rxpk[{i}]") for i, item in enumerate(rxpk))
    stat = Stat.from_json(obj["stat"]) if "stat" in obj else None
    return PushData(token, eui, packets, stat)
