"""Plain records exchanged with the network server (what a gateway hands in, what it gets)."""

from dataclasses import dataclass, field

TMST_MASK = 0xFFFFFFFF  # a concentrator's µs counter is 32 bits and wraps (~71.6 min)

# Transmission acknowledgement statuses, as a concentrator reports them (names from the
# Semtech packet forwarder's TX_ACK and ChirpStack's gw.TxAckStatus).
TX_OK = "OK"
TX_TOO_LATE = "TOO_LATE"
TX_TOO_EARLY = "TOO_EARLY"
TX_COLLISION = "COLLISION_PACKET"
TX_FREQ = "TX_FREQ"


@dataclass(frozen=True)
class RxMetadata:
    """How one gateway heard one frame.

    ``tmst_us``: the gateway's 32-bit µs counter at the end of the frame (Semtech UDP ``tmst``:
    the "RX finished" instant); downlinks are scheduled on this counter. ``time_us``: the
    server's clock (µs since the Unix epoch) when the copy arrived; de-duplication windows and
    DeviceTimeAns use it.
    """

    gateway_id: str
    tmst_us: int
    frequency_hz: int
    sf: int
    bw_hz: int
    rssi_dbm: float
    snr_db: float
    time_us: int
    coding_rate: int = 5  # 4/5


@dataclass(frozen=True)
class DownlinkItem:
    """One way to send a downlink: a window, a radio setting and an instant.

    ``tmst_us`` is on the counter of ``DownlinkFrame.gateway_id`` (uplink tmst + ``delay_us``,
    wrapped to 32 bits). Downlinks go out with inverted IQ and no CRC (LoRaWAN 1.0.4 4.1).
    """

    window: str  # "RX1" or "RX2"
    tmst_us: int
    delay_us: int
    frequency_hz: int
    dr: int
    sf: int
    bw_hz: int
    power_dbm: float
    iq_inverted: bool = True
    crc: bool = False


@dataclass(frozen=True)
class DownlinkFrame:
    """A PHYPayload for one gateway, with alternatives tried in order (RX1 then RX2): the
    gateway transmits the first item it still can and acknowledges with a ``TxAck``."""

    downlink_id: int
    dev_eui: str
    gateway_id: str
    phy: bytes
    items: tuple

    def __repr__(self):
        windows = "/".join(i.window for i in self.items)
        return (
            f"DownlinkFrame(#{self.downlink_id} {self.dev_eui} via {self.gateway_id} "
            f"{windows} {len(self.phy)} B)"
        )


@dataclass(frozen=True)
class TxAck:
    downlink_id: int
    status: str  # TX_OK, TX_TOO_LATE, ...
    window: str | None = None  # the item that went out when status is TX_OK


@dataclass(frozen=True)
class Event:
    """Something the server did or refused. ``detail`` holds plain, non-secret values."""

    time_us: int
    kind: str  # "join", "join_rejected", "uplink", "uplink_rejected", "downlink", ...
    dev_eui: str | None = None
    reason: str | None = None
    detail: dict = field(default_factory=dict)

    def __str__(self):
        bits = [self.kind]
        if self.dev_eui:
            bits.append(self.dev_eui)
        if self.reason:
            bits.append(self.reason)
        if self.detail:
            bits.append(" ".join(f"{k}={v}" for k, v in sorted(self.detail.items())))
        return " ".join(bits)
