"""The gateway service: radio -> durable queue -> forwarders, downlinks back to the radio.

`GatewayService(config)` builds everything from the config tree; tests inject the clock,
the radio, an emulated world or the network server. `run()` is what `lorafield gateway run`
and the systemd unit execute: start, READY=1, watchdog pings while the radio loop and every
forwarder thread are alive, periodic stats, clean stop on SIGTERM/SIGINT.
"""

import logging
import os
import signal
import threading
import time

from .clock import MonotonicClock, VirtualClock
from .queue import open_queue
from .radio import ReplayRadio, Rfm95
from .radio_loop import RadioLoop
from .sdnotify import Notifier
from .stats import Stats

log = logging.getLogger("lorafield.gateway")

# LoRaWAN 1.0.4 section 4.2: MHDR = MType (bits 7..5) | RFU | Major (bits 1..0, 0 = R1).
MIN_FRAME_LEN = 12  # MHDR + FHDR(7) + MIC(4): the shortest data frame
JOIN_REQUEST = 0
DATA_TYPES = (2, 3, 4, 5)


def device_of(phy):
    """The sender's identity for per-device order: DevAddr or DevEUI (hex, as printed)."""
    mtype = phy[0] >> 5
    if mtype in DATA_TYPES:
        return "addr:" + phy[4:0:-1].hex()
    if mtype == JOIN_REQUEST and len(phy) == 23:
        return "eui:" + phy[16:8:-1].hex()
    return "other"


def frame_record(frame):
    """What the queue stores for a received frame (JSON-able; no keys, payload as hex)."""
    return {
        "phy": frame.payload.hex(),
        "tmst": frame.tmst_us,
        "mono_us": frame.monotonic_us,
        "wall_us": frame.wall_us,
        "freq": frame.frequency_hz,
        "sf": frame.sf,
        "bw": frame.bw_hz,
        "cr": frame.coding_rate,
        "rssi": frame.rssi_dbm,
        "snr": frame.snr_db,
        "crc": frame.crc,
    }


class GatewayService:
    def __init__(
        self,
        config,
        *,
        clock=None,
        radio=None,
        world=None,
        gateway_chip=None,
        network_server=None,
        notifier=None,
    ):
        self.config = config
        self.world = world
        self.gateway_chip = gateway_chip
        self.clock = clock
        self.radio = radio
        self.network_server = network_server
        self.notifier = notifier or Notifier()
        self.stats = Stats()
        self.queue = None
        self.forwarders = []
        self.loop = None
        self.nodes = None
        self._radio_thread = None
        self._radio_process = None
        self._housekeeper = None
        self._stopping = threading.Event()
        self.console = None
        self.sensorthings = None
        self._last_stats = {}
        self.tx_log = []  # finished downlinks (TxRequest), newest last, bounded

    # -- radio path --------------------------------------------------------------------------
    def on_frame(self, frame):
        """Called by the radio loop for every frame: stored durably before it returns."""
        stats = self.stats
        stats.add("rx.received")
        if frame.crc == "bad":
            stats.add("rx.crc_error")
            if not self.config.radio.forward_crc_error:
                return self._skip(frame)
        else:
            stats.add("rx.ok")
        phy = frame.payload
        if len(phy) < MIN_FRAME_LEN or phy[0] & 0x03:
            stats.add("rejected.radio")  # too short, or not LoRaWAN R1 (Major != 0)
            return self._skip(frame)
        self.queue.put(frame_record(frame), device_of(phy), frame.source_meta)
        stats.add("queued")
        for forwarder in self.forwarders:
            forwarder.wake()

    def _skip(self, frame):
        if frame.source_meta:  # a replay source's offset still moves past the frame
            self.queue.put_meta(frame.source_meta)

    def schedule(self, request):
        """Downlink from a forwarder: the scheduling status (see radio_loop.RadioLoop)."""
        status = self.loop.submit(request)
        log.debug("downlink %s: %s", request.tag, status)
        return status

    def _on_tx(self, request):
        self.tx_log.append(request)
        del self.tx_log[:-1000]

    # -- building ----------------------------------------------------------------------------
    def _build_forwarders(self):
        cfg = self.config
        if cfg.semtech.enabled:
            from .forwarders.semtech_udp import SemtechForwarder

            self.forwarders.append(SemtechForwarder(self, cfg.semtech))
        if cfg.chirpstack.enabled:
            from .forwarders.chirpstack_mqtt import ChirpstackForwarder

            self.forwarders.append(ChirpstackForwarder(self, cfg.chirpstack))
        if cfg.local.enabled:
            from .forwarders.local import LocalForwarder, stored_network_server

            server = self.network_server
            if server is None and cfg.local.fleet:
                server = self.network_server = stored_network_server(cfg)
            self.forwarders.append(LocalForwarder(self, server))

    def _build_radio(self):
        rcfg = self.config.radio
        if self.radio is not None:
            self.clock = self.clock or MonotonicClock()
            return
        if rcfg.kind == "replay":
            self.clock = self.clock or MonotonicClock()
            offset = self.queue.meta(ReplayRadio.META_KEY, 0)
            self.radio = ReplayRadio(rcfg.replay_path, rcfg, self.clock, offset)
        elif rcfg.kind == "emulated":
            from .emulation import PacedWorld

            if self.world is None:
                self.world = PacedWorld()
                self.nodes = self._emulated_nodes()
            scheduler = self.world.scheduler
            self.clock = self.clock or VirtualClock(scheduler)
            chip = self.gateway_chip or self.world.gateway_chip()
            self.gateway_chip = chip
            self.radio = Rfm95.open_emulated(chip, rcfg, self.clock, scheduler.time_module())
        else:  # pragma: no cover - needs the Pi's SPI
            self.clock = self.clock or MonotonicClock()
            self.radio = Rfm95.open_blinka(rcfg, self.clock)

    def _emulated_nodes(self):
        """The fleet's devices when `local.fleet` is set (they join with its keys), else
        anonymous ABP test nodes (frames for a remote server to see, not to decode)."""
        from .config import ConfigError
        from .emulation import EmulatedNodes

        cfg = self.config
        rcfg = cfg.radio
        radio = dict(frequency_hz=rcfg.frequency_hz, sf=rcfg.sf, bw_hz=rcfg.bw_hz)
        if not cfg.local.fleet:
            return EmulatedNodes(
                self.world, rcfg.emulated_nodes, rcfg.emulated_interval_ms, **radio
            )
        from .fleet import FleetError, load_fleet
        from .fleet_nodes import FleetNodes

        try:
            fleet = load_fleet(cfg.local.fleet)
        except FleetError as exc:
            raise ConfigError(f"local.fleet: {exc}") from None
        state_path = os.path.join(cfg.gateway.state_dir, "emulated-nodes.json")
        os.makedirs(cfg.gateway.state_dir, exist_ok=True)
        return FleetNodes(
            self.world,
            fleet,
            rcfg.emulated_nodes,
            rcfg.emulated_interval_ms,
            state_path=state_path,
            region=cfg.gateway.region,
            **radio,
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        cfg = self.config
        self._build_forwarders()
        names = [f.name for f in self.forwarders]
        if not names:
            log.warning(
                "no forwarder enabled ([semtech], [chirpstack] or [local]): frames go nowhere"
            )
        if cfg.semtech.enabled and not _is_local_host(cfg.semtech.server):
            log.warning(
                "semtech.server %s is not this host: Semtech UDP is neither encrypted nor"
                " authenticated, so keep it inside a VPN (or use [chirpstack] with tls)",
                cfg.semtech.server,
            )
        if cfg.local.enabled and not cfg.local.fleet and self.network_server is None:
            log.warning("local.fleet is not set: the local network server knows no device")
        path = cfg.queue_path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.queue = open_queue(
            path, names, max_frames=cfg.queue.max_frames, max_age_s=cfg.queue.max_age_s
        )
        for forwarder in self.forwarders:
            forwarder.queue = self.queue
        self._build_radio()
        self.loop = RadioLoop(
            self.radio, self.clock, cfg.radio, self.on_frame, self.stats, on_tx=self._on_tx
        )
        for forwarder in self.forwarders:
            forwarder.start()
        if self.world is not None:
            self._radio_process = self.world.scheduler.spawn(self.loop.run, name="radio-loop")
            self.world.start()
        else:
            self._radio_thread = threading.Thread(
                target=self._radio_main, name="radio", daemon=True
            )
            self._radio_thread.start()
        log.info(
            "gateway %s started: radio %s %.3f MHz SF%d, forwarders %s, queue %s",
            cfg.gateway.id,
            cfg.radio.kind,
            cfg.radio.frequency_hz / 1e6,
            cfg.radio.sf,
            ",".join(names) or "none",
            path,
        )
        self._housekeeper = threading.Thread(
            target=self._housekeeping, name="housekeeping", daemon=True
        )
        self._housekeeper.start()
        if cfg.console.enabled:
            self._start_console()
        if cfg.sensorthings.enabled:
            self._start_sensorthings()
        self.notifier.ready(self.status_line())

    def _start_sensorthings(self):
        """The `[sensorthings]` publisher: like the console, one that cannot start is logged
        and the radio runs on (its readings wait in the server's database)."""
        from .credentials import CredentialError, private_file
        from .sensorthings.client import StaError
        from .sensorthings.outbox import OutboxBusy
        from .sensorthings.publisher import Publisher

        cfg = self.config
        section = cfg.sensorthings
        try:
            auth = private_file(section.auth_file) if section.auth_file else ""
            self.sensorthings = Publisher(
                cfg.lns_path,
                f"{cfg.gateway.state_dir.rstrip('/')}/sensorthings-outbox.sqlite3",
                section.url,
                auth,
                section.interval_s,
                section.data_array,
            ).start()
        except (StaError, CredentialError, OutboxBusy) as exc:
            log.error("sensorthings not started: %s", exc)
            return
        log.info("sensorthings: readings to %s every %d s", section.url, section.interval_s)

    def _start_console(self):
        """The field console beside the radio. One that cannot start is logged, not fatal:
        the radio and the forwarders are the gateway's job, and they keep running."""
        from .console import Console, ConsoleError

        cfg = self.config
        try:
            self.console = Console(
                cfg.lns_path,
                host=cfg.console.host,
                port=cfg.console.port,
                token_file=cfg.console_token_path,
                fleet_path=cfg.local.fleet,
                tiles_url=cfg.console.tiles,
            ).start()
        except ConsoleError as exc:
            log.error("console not started: %s", exc)
            return
        log.info(
            "console on %s (token in %s%s)",
            self.console.url,
            self.console.token_file,
            "; sign-in required" if self.console.login_required else "",
        )

    def _radio_main(self):
        try:
            self.loop.run()
        except Exception:
            log.exception("radio loop stopped")
            self.stats.add("error.radio")

    def radio_alive(self, max_age_us=10_000_000):
        """The radio loop went round recently (what the watchdog pings vouch for); the age
        allows for the longest downlink (SF12, 255 bytes: about 9 s on air)."""
        if self.world is not None:
            return self.world.error is None and self._radio_process.alive
        if self._radio_thread is None or not self._radio_thread.is_alive():
            return False
        return self.clock.now_us() - self.loop.heartbeat_us < max_age_us

    def dead_threads(self):
        """Names of the threads that must run and do not: the radio loop, each forwarder's."""
        dead = [] if self.radio_alive() else ["radio"]
        for forwarder in self.forwarders:
            dead += forwarder.dead_threads()
        return dead

    def stop(self):
        self._stopping.set()
        self.notifier.stopping()
        if self._housekeeper is not None:
            self._housekeeper.join(timeout=5)
        if self.loop is not None:
            self.loop.stop()
        if self.world is not None:
            self.world.stop()
        if self._radio_thread is not None:
            self._radio_thread.join(timeout=5)
        for forwarder in self.forwarders:
            forwarder.stop()
        if self.console is not None:
            self.console.close()
        if self.sensorthings is not None:
            self.sensorthings.stop()
        if self.queue is not None:
            self.queue.close()
        log.info("gateway stopped: %s", self.stats.line())

    def report_stats(self):
        """Log the totals; send each backend the counts since the previous report (Semtech
        `stat` and ChirpStack `GatewayStats` are per-interval)."""
        counts, self._last_stats = self.stats.delta(self._last_stats)
        extra = {}
        for forwarder in self.forwarders:
            extra[f"queue.{forwarder.name}"] = self.queue.depth(forwarder.name)
            extra[f"dropped.{forwarder.name}"] = self.queue.dropped(forwarder.name)
        log.info("stats %s", self.stats.line(extra))
        wall = self.clock.wall_us()
        for forwarder in self.forwarders:
            try:
                forwarder.send_stats(counts, wall)
            except Exception:
                log.exception("stats for %s failed", forwarder.name)

    def _housekeeping(self):
        """Watchdog pings (only while every thread that must run is alive: a dead one gets
        the service restarted by systemd), the status line, and periodic stats."""
        watchdog_s = (self.notifier.watchdog_us or 0) / 2e6 or None
        stats_every = self.config.gateway.stats_interval_s
        next_stats = time.monotonic() + stats_every
        reported = self.status_line()  # what READY=1 said
        while not self._stopping.wait(min(watchdog_s or 0.5, 0.5)):
            dead = self.dead_threads()
            status = self.status_line(dead)
            if status != reported:
                reported = status
                if dead:
                    log.error("%s; the watchdog is no longer fed", status)
                self.notifier.notify(STATUS=status)
            if watchdog_s and not dead:
                self.notifier.watchdog()
            if time.monotonic() >= next_stats:
                next_stats += stats_every
                self.report_stats()

    def status_line(self, dead=()):
        """systemd STATUS: the forwarders, or the threads that stopped; and each forwarder's
        current connection problem (`systemctl status` shows it)."""
        if dead:
            status = f"thread stopped: {', '.join(dead)}"
        else:
            status = f"forwarding to {','.join(f.name for f in self.forwarders) or 'nothing'}"
        for forwarder in self.forwarders:
            if forwarder.problem:
                status += f"; {forwarder.name}: {forwarder.problem}"
        return status

    def run(self):
        """Run until SIGTERM/SIGINT (the systemd service)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stopping.set())
        self.start()
        try:
            while not self._stopping.wait(1.0):
                pass
        finally:
            self.stop()
        return 0


def _is_local_host(name):
    """True for this host's names and loopback addresses (no DNS lookup)."""
    import ipaddress

    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
