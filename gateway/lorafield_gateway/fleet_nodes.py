"""Emulated nodes with a fleet file's identities, for `radio.kind = "emulated"` with
`local.fleet` set: each OTAA device joins with its DevEUI, JoinEUI and AppKey, each ABP
device starts with its session; then every node sends a reading of its kind (shared codec,
its FPort) every `interval_ms`. So the emulated gateway run shows the whole path: join,
Join-accept in RX1, uplinks decoded into readings by the local network server.

Frames come from the firmware's builders (`lorafield_node.join`, `lorafield_node.phy`).
A node sends on the gateway's one channel and SF (it is a single-channel gateway) and
listens for downlinks (inverted IQ) in the region's RX1 (the uplink channel, or in US915/AU915
its downlink channel at 500 kHz) and RX2, at the region's default data rates (RP002-1.0.4). It
takes no MAC commands: it is a traffic source, not a LoRaWAN MAC. It keeps its next DevNonce in
`state_path`, as a device keeps it in flash: the server refuses a DevNonce it has seen, also
after the gateway restarts. Keys never leave the node objects (no repr, no log line).
"""

import json
import logging
import os

import lorafield_codec
from lorafield_hw.air import Gateway
from lorafield_node.aes import new_aes
from lorafield_node.join import build_join_request, derive_session_keys, open_join_accept
from lorafield_node.phy import (
    DOWNLINK,
    JOIN_ACCEPT,
    UNCONFIRMED_UP,
    FrameError,
    SessionCrypto,
    build_data,
    fcnt32_from16,
    open_data,
    parse_data,
    parse_mhdr,
)
from lorafield_node.region import region as region_by_name

from .lns.channelplan import channel_index

log = logging.getLogger("lorafield.gateway.emulation")

JOIN_RETRY_US = 8_000_000  # a Join-accept comes 5 s (RX1) or 6 s (RX2) after the request
CONFIG_FPORT = lorafield_codec.fport_of("config")


def reading(kind, count):
    """A plausible reading of `kind` for the node's `count`-th uplink."""
    if kind == "parking":
        return {"occupied": count % 4 < 2}
    if kind == "water_level":
        return {"level_mm": 400 + 10 * (count % 12)}
    return {"temperature_c": 18.0 + (count % 10) / 4}


def receive_windows(plan, frequency_hz, sf, bw_hz):
    """((frequency, SF, bandwidth) of RX1, of RX2) after an uplink on ``frequency_hz`` at
    ``sf``/``bw_hz`` in region ``plan``, with its default settings (RX1DROffset 0, its
    downlink dwell time, its RX2): what a device listens on before any MAC command."""
    up_dr = plan.dr_of(sf, bw_hz)
    if up_dr < 0:
        raise ValueError(f"SF{sf} at {bw_hz} Hz is no {plan.name} data rate")
    rx1_freq = frequency_hz
    if plan.fixed:
        ch = channel_index(plan, frequency_hz, bw_hz)
        if ch < 0:
            raise ValueError(f"{frequency_hz} Hz is no {plan.name} uplink channel")
        rx1_freq = plan.rx1_frequency(ch, frequency_hz)
    rx1_dr = plan.rx1_dr(up_dr, 0, plan.downlink_dwell)
    rx1 = (rx1_freq,) + plan.dr_params(rx1_dr)
    rx2 = (plan.rx2_frequency,) + plan.dr_params(plan.rx2_dr)
    return rx1, rx2


class FleetNode(Gateway):
    """One emulated device on the air: a receiver for downlinks that also transmits."""

    def __init__(self, nodes, device, position):
        (f1, sf1, bw1), (f2, sf2, bw2) = nodes.windows
        super().__init__(
            nodes.world.air,
            device.name or device.dev_eui_hex,
            position,
            channels_hz=(f1,),
            bw_hz=bw1,
            sfs=(sf1,),
            extra_channels=((f2, bw2, (sf2,)),),
            iq_inverted=True,
        )
        self.nodes = nodes
        self.device = device
        self.kind = device.kind
        self.crypto = None
        self.dev_addr = None
        self.fcnt_up = 0
        self.fcnt_down_next = 0
        self.joins = 0
        self.downlinks = 0
        self.interval_us = nodes.interval_us
        self._join_retry = None
        self._nonce = None
        if device.otaa:
            self._app_aes = new_aes(device.app_key)
        else:
            self._start_session(device.dev_addr, device.nwk_s_key, device.app_s_key)
        self.start()  # listening from power-on

    def __repr__(self):
        return f"FleetNode({self.device.dev_eui_hex}, kind={self.kind!r})"

    def _start_session(self, dev_addr, nwk_s_key, app_s_key):
        self.dev_addr = dev_addr
        self.crypto = SessionCrypto(nwk_s_key, app_s_key)
        self.fcnt_up = 0
        self.fcnt_down_next = 0

    def _send(self, phy):
        nodes = self.nodes
        self.air.transmit(
            self, phy, frequency_hz=nodes.frequency_hz, sf=nodes.sf, bw_hz=nodes.bw_hz
        )

    # -- scheduler callbacks ------------------------------------------------------------------
    def wake(self):
        if self.crypto is None:
            self._join()
        else:
            self._uplink()

    def _join(self):
        device = self.device
        nonce = self.nodes.take_dev_nonce(device.dev_eui_hex)
        self._nonce = nonce
        self._send(build_join_request(self._app_aes, device.join_eui, device.dev_eui, nonce))
        self._join_retry = self.nodes.world.scheduler.after(JOIN_RETRY_US, self._join)

    def _uplink(self):
        count = self.fcnt_up
        fport = lorafield_codec.fport_of(self.kind)
        payload = lorafield_codec.encode(self.kind, reading(self.kind, count))
        self._send(
            build_data(self.crypto, UNCONFIRMED_UP, self.dev_addr, count, 0, b"", fport, payload)
        )
        self.fcnt_up += 1
        self.nodes.sent += 1
        self.nodes.world.scheduler.after(self.interval_us, self._uplink)

    def air_rx_end(self, reception):
        if reception.collided:
            return
        phy = reception.frame.payload
        try:
            if parse_mhdr(phy) == JOIN_ACCEPT:
                self._join_accept(phy)
            elif self.crypto is not None:
                self._downlink(phy)
        except FrameError:
            pass  # another node's frame (wrong key or DevAddr), or damaged

    def _join_accept(self, phy):
        if self.crypto is not None or self._join_retry is None:
            return
        accept = open_join_accept(phy, self._app_aes)  # FrameError unless it is ours
        nwk, app = derive_session_keys(self._app_aes, accept.join_nonce, accept.net_id, self._nonce)
        self._join_retry.cancel()
        self._join_retry = None
        self._start_session(accept.dev_addr, nwk, app)
        self.joins += 1
        self.nodes.joined += 1
        self.nodes.world.scheduler.after(self.interval_us, self._uplink)

    def _downlink(self, phy):
        frame = parse_data(phy)
        if frame.dev_addr != self.dev_addr or frame.direction != DOWNLINK:
            return
        fcnt32 = fcnt32_from16(self.fcnt_down_next, frame.fcnt)
        frame = open_data(phy, self.crypto, fcnt32)
        self.fcnt_down_next = fcnt32 + 1
        self.downlinks += 1
        if frame.fport == CONFIG_FPORT:
            try:
                _, config = lorafield_codec.decode(frame.fport, frame.payload)
            except lorafield_codec.CodecError:
                return
            if "interval_s" in config:  # as the firmware applies a config downlink
                self.interval_us = config["interval_s"] * 1_000_000


class FleetNodes:
    """The first `count` devices of `fleet`, 10-40 m from the gateway, on the world's air,
    in `region` (a name; default the fleet's)."""

    def __init__(
        self,
        world,
        fleet,
        count,
        interval_ms,
        *,
        frequency_hz,
        sf,
        bw_hz,
        state_path=None,
        region=None,
    ):
        self.world = world
        self.frequency_hz = frequency_hz
        self.sf = sf
        self.bw_hz = bw_hz
        plan = region_by_name(region or getattr(fleet, "region", "EU868"))
        self.windows = receive_windows(plan, frequency_hz, sf, bw_hz)
        self.interval_us = interval_ms * 1000
        self.state_path = state_path
        self.sent = 0
        self.joined = 0
        self._dev_nonces = self._load_state()
        devices = list(fleet)[:count]
        self.nodes = []
        for index, device in enumerate(devices):
            position = (10.0 + 30.0 * index / max(1, len(devices)), 5.0)
            node = FleetNode(self, device, position)
            self.nodes.append(node)
            # Staggered, so that the nodes on the one channel do not collide.
            offset = 100_000 + self.interval_us * index // max(1, len(devices))
            world.scheduler.after(offset, node.wake)
        log.info(
            "emulated nodes: %d of the %d devices in the fleet file (%s)",
            len(devices),
            len(fleet),
            ", ".join(node.name for node in self.nodes) or "none",
        )

    # -- DevNonce, kept across runs ------------------------------------------------------------
    def _load_state(self):
        if not self.state_path:
            return {}
        try:
            with open(self.state_path, encoding="utf-8") as handle:
                state = json.load(handle)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("%s unreadable: emulated DevNonces start again at 0", self.state_path)
            return {}
        nonces = state.get("dev_nonce", {}) if isinstance(state, dict) else {}
        return {k: v for k, v in nonces.items() if isinstance(v, int) and 0 <= v <= 0xFFFF}

    def take_dev_nonce(self, dev_eui_hex):
        nonce = self._dev_nonces.get(dev_eui_hex, 0)
        self._dev_nonces[dev_eui_hex] = min(nonce + 1, 0xFFFF)
        if self.state_path:
            temporary = f"{self.state_path}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({"dev_nonce": self._dev_nonces}, handle)
            os.replace(temporary, self.state_path)
        return nonce
