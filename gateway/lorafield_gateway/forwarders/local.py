"""Local: hands each queued frame to the embedded network server
(`lorafield_gateway.lns.NetworkServer`) in the gateway's own process and schedules the
downlinks it answers with, trying each frame's items (RX1, then RX2) in order and returning
the outcome with `handle_tx_ack`. A frame leaves this queue once the server has taken it."""

from ..lns import NetworkServer, RxMetadata, TxAck
from ..lns.registry import DeviceRegistry
from ..radio import TxRequest
from .base import Forwarder


def server_options(config):
    """The NetworkServer options a gateway configuration implies: its region and sub-bands
    or channels (`gateway.region`, `gateway.sub_bands`, `gateway.channels`) and, since the
    radio hears one data rate, ADR kept at or below it (`adr_max_dr`: EU868 SF7 is DR5, the
    most ADR gives anyway)."""
    from lorafield_node.region import region

    gateway, radio = config.gateway, config.radio
    plan = region(gateway.region)
    options = {"region": plan, "sub_bands": gateway.sub_bands or None}
    if gateway.channels:  # the only channels, instead of the sub-bands
        options.update(sub_bands=None, channels=gateway.channels)
    dr = plan.dr_of(radio.sf, radio.bw_hz)
    if dr >= 0 and plan.uplink_dr(dr):
        options["adr_max_dr"] = dr
    return options


def stored_network_server(config):
    """The server of `lorafield gateway run`: devices from `local.fleet`, state in SQLite at
    `local.db` (default state_dir/lns.sqlite3), the region of `gateway.region`, which the
    fleet's must match. Problems are ConfigErrors naming the key."""
    from ..config import ConfigError
    from ..fleet import FleetError, load_fleet
    from ..lns.sqlite_store import SqliteStore, StoredNetworkServer, StoreError

    local = config.local
    path = config.lns_path
    try:
        fleet = load_fleet(local.fleet)
        registry = fleet.registry()
    except (FleetError, ValueError) as exc:
        raise ConfigError(f"local.fleet: {exc}") from None
    if fleet.region != config.gateway.region:
        raise ConfigError(
            f"local.fleet: {local.fleet} is a {fleet.region} fleet, gateway.region is"
            f" {config.gateway.region}: set the same region in both"
        )
    try:
        store = SqliteStore(path)
    except (StoreError, OSError) as exc:
        raise ConfigError(f"local.db: {exc}") from None
    try:
        return StoredNetworkServer(registry, store, **server_options(config))
    except StoreError as exc:  # the database is another region's
        store.close()
        raise ConfigError(f"local.db: {exc}") from None


class LocalForwarder(Forwarder):
    name = "local"

    def __init__(self, service, network_server=None):
        super().__init__(service)
        if network_server is None:
            network_server = NetworkServer(DeviceRegistry(), **server_options(service.config))
        self.ns = network_server
        self.gateway_id = service.config.gateway.id

    def run(self):
        while not self.stopping:
            if not self.pump():
                self.wait(0.2)
                self.flush(self.service.clock.wall_us())

    def pump(self, limit=50):
        """Hand up to `limit` queued frames to the server now; returns how many. The thread
        above calls it (the emulated field hands its frames in with `hand_in`)."""
        entries = self.queue.peek(self.name, limit)
        if not entries:
            return 0
        for entry in entries:
            self.hand_in(entry)
        self.queue.ack(self.name, [e.id for e in entries])
        self.stats.add(f"forwarded.{self.name}", len(entries))
        return len(entries)

    def hand_in(self, entry):
        """One queued frame to the server (one call), its answers to the radio."""
        record = entry.record
        meta = RxMetadata(
            gateway_id=self.gateway_id,
            tmst_us=record["tmst"],
            frequency_hz=record["freq"],
            sf=record["sf"],
            bw_hz=record["bw"],
            rssi_dbm=float(record["rssi"]),
            snr_db=float(record["snr"]),
            time_us=record["wall_us"],
            coding_rate=record["cr"],
        )
        for downlink in self.ns.handle_uplink(bytes.fromhex(record["phy"]), meta):
            self._send(downlink)

    def flush(self, now_wall_us):
        """Send the answers to frames whose de-duplication window closed by then."""
        for downlink in self.ns.flush(now_wall_us):
            self._send(downlink)

    def _send(self, downlink):
        """Schedule a DownlinkFrame's items in order; the outcome goes back to the server,
        stamped with the gateway's wall clock (emulated time in the emulated field)."""
        self.stats.add("downlink.requested")
        status = "TOO_LATE"
        for item in downlink.items:
            request = TxRequest(
                phy=downlink.phy,
                frequency_hz=item.frequency_hz,
                sf=item.sf,
                bw_hz=item.bw_hz,
                power_dbm=int(item.power_dbm),
                tmst=item.tmst_us,
                ipol=item.iq_inverted,
                crc=item.crc,
                tag=("local", downlink.downlink_id, item.window),
            )
            status = self.service.schedule(request)
            if status == "OK":
                ack = TxAck(downlink.downlink_id, "OK", item.window)
                self.ns.handle_tx_ack(ack, self.service.clock.wall_us())
                return
        self.ns.handle_tx_ack(TxAck(downlink.downlink_id, status), self.service.clock.wall_us())
