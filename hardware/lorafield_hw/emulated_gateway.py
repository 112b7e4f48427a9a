"""An emulated multi-channel LoRaWAN gateway on the air medium, and its link to a network
server.

`EmulatedGateway` is a concentrator (SX1301/SX1302 style): 8 demodulators listening on the
EU868 default channels at every SF at once, or with `region=` (a name or a region object)
and `sub_bands=` on that region's channels (`lorafield_hw.plans.gateway_channels`: US915
FSB2's eight 125 kHz channels and its 500 kHz channel unless told). Each frame that ends
intact is timestamped on the gateway's 32-bit µs counter (`tmst`, taken at the end of the
frame as the Semtech packet forwarder's "RX finished" timestamp), with RSSI and SNR, and
handed to `on_uplink(phy, RxMetadata)`. `send(DownlinkFrame)` schedules a downlink for the
exact counter value of the first item it can still make (RX1, else RX2), at that item's
frequency/SF/bandwidth and power, with inverted IQ and no CRC; it answers TOO_LATE when
every item is in the past (or closer than `min_lead_us`), and COLLISION_PACKET when the
transmitter is already booked then. The concentrator is half-duplex: it stops listening
while it transmits.

Test knobs: `backhaul_delay_us` (the downlink reaches the gateway that long after the uplink
ended, e.g. 1_001_000 to miss RX1 by 1 ms and fall back to RX2) and `tx_late_us` (the
transmitter fires that much after the requested instant while believing it is on time, to
probe a device's receive-window margins).

`LnsLink` wires gateways to a `lorafield_gateway.lns.NetworkServer`: it forwards uplinks,
closes de-duplication windows on time, routes each downlink to the gateway the server chose
and returns the gateways' TX acknowledgements.
"""

from lorafield_gateway.lns.types import (
    TMST_MASK,
    TX_COLLISION,
    TX_OK,
    TX_TOO_LATE,
    RxMetadata,
    TxAck,
)
from lorafield_node.region import eu868

from .air import Gateway
from .airtime import time_on_air_us
from .plans import gateway_channels

# The three default channels (RP002 2.4.2), from the firmware's region table.
EU868_DEFAULT_CHANNELS_HZ = eu868().default_channels
# 2026-01-01T00:00:00Z: virtual time 0 of the emulated world on the server clock.
EMULATION_EPOCH_US = 1_767_225_600 * 1_000_000


class EmulatedGateway(Gateway):
    def __init__(
        self,
        air,
        gateway_id,
        position=(0.0, 0.0),
        *,
        channels_hz=EU868_DEFAULT_CHANNELS_HZ,
        sfs=(7, 8, 9, 10, 11, 12),
        extra_channels=(),
        region=None,
        sub_bands=None,
        bw_hz=125_000,
        demodulators=8,
        on_uplink=None,
        tmst_offset_us=0,
        epoch_us=EMULATION_EPOCH_US,
        backhaul_delay_us=0,
        tx_late_us=0,
        min_lead_us=0,
    ):
        listen = dict(channels_hz=channels_hz, bw_hz=bw_hz, sfs=sfs, extra_channels=extra_channels)
        if region is not None:
            listen = gateway_channels(region, sub_bands)
        super().__init__(air, gateway_id, position, demodulators=demodulators, **listen)
        self.gateway_id = gateway_id
        self.scheduler = air.scheduler
        self.on_uplink = on_uplink
        self.tmst_offset_us = tmst_offset_us
        self.epoch_us = epoch_us
        self.backhaul_delay_us = backhaul_delay_us
        self.tx_late_us = tx_late_us
        self.min_lead_us = min_lead_us
        self.uplinks = []  # (phy, RxMetadata) heard, in order
        self.transmitted = []  # (DownlinkFrame, DownlinkItem, air Frame) that went out
        self.tx_acks = []
        self._booked = []  # (start_us, end_us) of scheduled transmissions

    # -- clock ----------------------------------------------------------------------------------
    def tmst(self, now_us=None):
        """The concentrator counter (µs, 32 bits, wraps)."""
        now = self.scheduler.now_us if now_us is None else now_us
        return (now + self.tmst_offset_us) & TMST_MASK

    def server_time_us(self, now_us=None):
        now = self.scheduler.now_us if now_us is None else now_us
        return self.epoch_us + now

    # -- receiving ------------------------------------------------------------------------------
    def air_rx_end(self, reception):
        if reception.collided:
            return
        frame = reception.frame
        meta = RxMetadata(
            gateway_id=self.gateway_id,
            tmst_us=self.tmst(),
            frequency_hz=frame.frequency_hz,
            sf=frame.sf,
            bw_hz=frame.bw_hz,
            rssi_dbm=round(reception.rssi_dbm, 1),
            snr_db=round(reception.snr_db, 1),
            time_us=self.server_time_us(),
            coding_rate=frame.coding_rate,
        )
        self.uplinks.append((frame.payload, meta))
        if self.on_uplink is not None:
            self.on_uplink(frame.payload, meta)

    # -- transmitting ---------------------------------------------------------------------------
    def send(self, downlink):
        """Take a DownlinkFrame now; returns the TxAck (OK with the window that will go out)."""
        now = self.scheduler.now_us
        counter = self.tmst(now)
        status = TX_TOO_LATE
        for item in downlink.items:
            # Counter arithmetic modulo 2^32: a target more than half the range ahead is past.
            ahead = (item.tmst_us - counter) & TMST_MASK
            if ahead >= 1 << 31 or ahead < self.min_lead_us:
                continue
            start = now + ahead + self.tx_late_us
            airtime = time_on_air_us(
                len(downlink.phy), item.sf, item.bw_hz, crc=item.crc, preamble=8
            )
            end = start + round(airtime)
            if any(s < end and start < e for s, e in self._booked):
                status = TX_COLLISION
                continue
            self._booked.append((start, end))
            self.scheduler.at(start, self._transmit, downlink, item, (start, end))
            ack = TxAck(downlink.downlink_id, TX_OK, item.window)
            self.tx_acks.append(ack)
            return ack
        ack = TxAck(downlink.downlink_id, status, None)
        self.tx_acks.append(ack)
        return ack

    def _transmit(self, downlink, item, slot):
        listening = self.air.is_listening(self)
        if listening:
            self.air.stop_listening(self)

        def done(frame):
            self._booked.remove(slot)
            if listening and not self.air.is_listening(self):
                self.air.listen(self)

        frame = self.air.transmit(
            self,
            downlink.phy,
            frequency_hz=item.frequency_hz,
            sf=item.sf,
            bw_hz=item.bw_hz,
            power_dbm=item.power_dbm,
            sync_word=self.sync_word,
            iq_inverted=item.iq_inverted,
            crc=item.crc,
            on_end=done,
        )
        self.transmitted.append((downlink, item, frame))


class LnsLink:
    """Connects emulated gateways to a NetworkServer on the same virtual clock."""

    def __init__(self, scheduler, server, gateways):
        self.scheduler = scheduler
        self.server = server
        self.gateways = {}
        self.downlinks = []  # every DownlinkFrame the server returned
        self._flush_event = None
        for gw in gateways:
            self.add(gw)

    def add(self, gateway):
        if gateway.gateway_id in self.gateways:
            raise ValueError("duplicate gateway id")
        self.gateways[gateway.gateway_id] = gateway
        gateway.on_uplink = self._uplink
        gateway.start()
        return gateway

    def _server_now(self):
        gw = next(iter(self.gateways.values()))
        return gw.server_time_us()

    def _uplink(self, phy, meta):
        self._dispatch(self.server.handle_uplink(phy, meta))
        self._arm_flush()

    def _arm_flush(self):
        deadline = self.server.next_deadline()
        if deadline is None:
            return
        gw = next(iter(self.gateways.values()))
        at = deadline - gw.epoch_us
        if self._flush_event is not None and not self._flush_event.cancelled:
            if self._flush_event.time_us <= at:
                return
            self._flush_event.cancel()
        self._flush_event = self.scheduler.at(at, self._flush)

    def _flush(self):
        self._flush_event = None
        self._dispatch(self.server.flush(self._server_now()))
        self._arm_flush()

    def _dispatch(self, frames):
        for frame in frames:
            self.downlinks.append(frame)
            gw = self.gateways.get(frame.gateway_id)
            if gw is None:
                continue
            self.scheduler.after(gw.backhaul_delay_us, self._deliver, gw, frame)

    def _deliver(self, gw, frame):
        ack = gw.send(frame)
        self.server.handle_tx_ack(ack, gw.server_time_us())
