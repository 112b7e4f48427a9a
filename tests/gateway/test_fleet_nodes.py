"""The emulated nodes of `gateway run --radio emulated` with `local.fleet`: the fleet's OTAA
devices join with its keys (the Join-accept heard in RX1) and ABP ones start at once, all
send readings of their kind that the server decodes, a config downlink changes a node's
interval, and a node keeps its DevNonce across a restart as a device keeps it in flash.
Virtual time, no pacing: the emulated concentrator and the network server on the air."""

import types

from lorafield_gateway.fleet import FleetDevice, append_devices
from lorafield_gateway.fleet_nodes import FleetNodes
from lorafield_gateway.lns import NetworkServer
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.scheduler import Scheduler

S = 1_000_000
OTAA_EUI = "70b3d57ed0000a01"
ABP_EUI = "70b3d57ed0000a02"


def fleet_file(path):
    devices = [
        FleetDevice(
            bytes.fromhex(OTAA_EUI),
            "temperature",
            "t1",
            join_eui=bytes.fromhex("70b3d57ed00000ff"),
            app_key=bytes(range(100, 116)),
        ),
        FleetDevice(
            bytes.fromhex(ABP_EUI),
            "water_level",
            "w1",
            dev_addr=0x26011F00,
            nwk_s_key=bytes(range(40, 56)),
            app_s_key=bytes(range(60, 76)),
        ),
    ]
    return append_devices(str(path), devices)


def run_field(fleet, server, seconds, state_path):
    """One gateway run: a fresh world (emulation restarted), the same server and state."""
    scheduler = Scheduler(1)
    world = types.SimpleNamespace(scheduler=scheduler, air=Air(scheduler, PathLoss(seed=1)))
    gateway = EmulatedGateway(world.air, "gw0", channels_hz=(868_100_000,), sfs=(7,))
    LnsLink(scheduler, server, [gateway])
    nodes = FleetNodes(
        world,
        fleet,
        5,
        1_000,
        frequency_hz=868_100_000,
        sf=7,
        bw_hz=125_000,
        state_path=state_path,
    )
    scheduler.run_until(seconds * S)
    return nodes


def test_fleet_devices_join_send_readings_and_take_a_config(tmp_path):
    fleet = fleet_file(tmp_path / "fleet.toml")
    server = NetworkServer(fleet.registry(), dedup_window_us=0)
    nodes = run_field(fleet, server, 20, str(tmp_path / "nodes.json"))
    otaa, abp = nodes.nodes  # only the fleet's two devices, though 5 were asked for
    assert otaa.joins == 1 and otaa.dev_addr is not None
    kinds = {(r["dev_eui"], r["kind"]) for r in server.readings if r["data"] is not None}
    assert kinds == {(OTAA_EUI, "temperature"), (ABP_EUI, "water_level")}
    assert all(r["error"] is None for r in server.readings)
    # A config downlink goes out in the node's next RX1 and sets its interval.
    server.enqueue_config(OTAA_EUI, {"interval_s": 60})
    scheduler = otaa.nodes.world.scheduler
    scheduler.run_until(scheduler.now_us + 3 * S)
    assert otaa.downlinks == 1 and otaa.interval_us == 60 * S


def test_a_restarted_node_joins_again_with_its_next_dev_nonce(tmp_path):
    fleet = fleet_file(tmp_path / "fleet.toml")
    server = NetworkServer(fleet.registry(), dedup_window_us=0)
    state = str(tmp_path / "nodes.json")
    run_field(fleet, server, 10, state)
    run_field(fleet, server, 10, state)
    joins = [e.detail["dev_nonce"] for e in server.events if e.kind == "join"]
    assert joins == [0, 1]
    assert [e for e in server.events if e.kind == "join_rejected"] == []
    # Without the state (a device that forgot its DevNonce) the server refuses the join.
    run_field(fleet, server, 10, None)
    assert [e.reason for e in server.events if e.kind == "join_rejected"][:1] == [
        "DevNonce not greater than last"
    ]
