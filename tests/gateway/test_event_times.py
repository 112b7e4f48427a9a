"""Every event the local network server writes inside the gateway service carries the
service's wall time, none 0 / 1970: a node's confirmed uplinks are answered, and the
`downlink_sent` / `downlink_failed` reports of the local forwarder are stamped too."""

import time

from gw_helpers import KEY, make_config
from lorafield_gateway.emulation import PacedWorld
from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_gateway.service import GatewayService
from lorafield_hw.air import Transmitter
from lorafield_node.phy import CONFIRMED_UP, SessionCrypto, build_data

DEV_ADDR = 0x26000001


def test_every_event_in_the_gateway_service_carries_wall_time(tmp_path):
    registry = DeviceRegistry()
    registry.add_abp("70b3d57ed0000001", DEV_ADDR, KEY.hex(), KEY.hex(), kind="temperature")
    ns = NetworkServer(registry, dedup_window_us=0)
    world = PacedWorld(seed=3)
    node = Transmitter(world.air, "n", (20.0, 0.0), frequency_hz=868_100_000, sf=7)
    crypto = SessionCrypto(KEY, KEY)
    for fcnt in range(3):  # confirmed: each one is answered with an ACK downlink
        phy = build_data(crypto, CONFIRMED_UP, DEV_ADDR, fcnt, fport=1, payload=b"\x01")
        world.scheduler.after(100_000 + 300_000 * fcnt, node.send, phy)
    cfg = make_config(
        tmp_path, radio={"kind": "emulated", "emulated_nodes": 0}, local={"enabled": True}
    )
    service = GatewayService(cfg, world=world, network_server=ns)
    began_us = time.time_ns() // 1000
    began_mono = time.monotonic()
    service.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if len([e for e in ns.events if e.kind == "downlink_sent"]) == 3:
                break
            time.sleep(0.02)
    finally:
        service.stop()
    # The end bound follows the monotonic clock, as the paced world does: a step of the
    # machine's wall clock while the test runs (NTP on a freshly booted CI machine) must
    # not decide the outcome.
    ended_us = began_us + round((time.monotonic() - began_mono) * 1e6) + 1000
    kinds = [e.kind for e in ns.events]
    assert kinds.count("uplink") == 3 and kinds.count("downlink_sent") == 3, kinds
    # The service's clock is the emulation's virtual time from the wall time at its start.
    stale = [(e.kind, e.time_us) for e in ns.events if not began_us <= e.time_us <= ended_us]
    assert stale == []
