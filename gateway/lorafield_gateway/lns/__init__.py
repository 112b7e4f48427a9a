"""The embedded local network server (LoRaWAN 1.0.4, Class A; one RP002-1.0.4 region per
server, EU868 by default): protocol core.

Pure: no sockets, no threads, no wall clock. Frames and radio metadata go in, scheduled
downlinks and events come out. ``server.NetworkServer`` ties the parts together; storage is
behind ``store.MemoryStore`` (the seam for SQLite).
"""

from .errors import LnsError, RegistryError
from .registry import Device, DeviceRegistry
from .server import NetworkServer
from .types import DownlinkFrame, DownlinkItem, Event, RxMetadata, TxAck

__all__ = [
    "Device",
    "DeviceRegistry",
    "DownlinkFrame",
    "DownlinkItem",
    "Event",
    "LnsError",
    "NetworkServer",
    "RegistryError",
    "RxMetadata",
    "TxAck",
]
