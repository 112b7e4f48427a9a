"""`lorafield bench lns`: how fast the local network server's protocol core runs on CPython.

Pure server work, no radio: N OTAA devices join, then each sends uplinks heard by G gateways
(copies de-duplicated in a 200 ms window); every tenth uplink is confirmed, so the server
builds and encrypts an ACK downlink. Prints joins and uplinks per wall-second and the CPU
microseconds per uplink.

`--db PATH`: the server on its SQLite store (what the gateway service and the field run), one
transaction per call as in the service: the write path (frames, readings, events, sessions,
the indexes and summary rows the console reads) is in the figures. PATH is replaced.
"""

import os
import time

from lorafield_gateway.lns import DeviceRegistry, NetworkServer, RxMetadata, TxAck
from lorafield_node.aes import new_aes
from lorafield_node.join import build_join_request, derive_session_keys, open_join_accept
from lorafield_node.phy import CONFIRMED_UP, UNCONFIRMED_UP, SessionCrypto, build_data

from ..cli import UsageError

HELP = "local network server core: joins and uplinks per second on CPython"

JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")
EPOCH_US = 1_767_225_600 * 1_000_000


def add_arguments(parser):
    parser.add_argument("--devices", type=int, default=200, help="OTAA devices")
    parser.add_argument("--uplinks", type=int, default=20, help="uplinks per device")
    parser.add_argument("--gateways", type=int, default=2, help="gateways hearing each frame")
    parser.add_argument(
        "--db", metavar="PATH", help="run on a SQLite store at PATH (replaced): the write path"
    )


def _meta(gw, t):
    return RxMetadata(f"gw{gw}", t & 0xFFFFFFFF, 868_100_000, 7, 125_000, -80.0 - gw, 7.0, t)


def run(args):
    if not 1 <= args.devices <= 100_000:
        raise UsageError("--devices must be 1..100000")
    if not 1 <= args.uplinks <= 10_000:
        raise UsageError("--uplinks must be 1..10000")
    if not 1 <= args.gateways <= 16:
        raise UsageError("--gateways must be 1..16")
    reg = DeviceRegistry()
    keys = []
    for i in range(args.devices):
        eui = (0x70B3D57E00000000 + i).to_bytes(8, "big")
        key = bytes((i + j) & 0xFF for j in range(16))
        reg.add_otaa(eui, JOIN_EUI, key, kind="temperature")
        keys.append((eui, new_aes(key, "cryptography")))
    ns = _server(reg, args.db)
    t = 0
    requests = [build_join_request(aes, JOIN_EUI, eui, 0) for eui, aes in keys]
    start = time.perf_counter()
    cpu = time.process_time()
    accepts = []
    for phy in requests:
        t += 1_000
        for g in range(args.gateways):
            accepts += ns.handle_uplink(phy, _meta(g, EPOCH_US + t))
    accepts += ns.flush()
    join_wall = time.perf_counter() - start
    sessions = []
    for (_eui, aes), dl in zip(keys, accepts, strict=True):
        ns.handle_tx_ack(TxAck(dl.downlink_id, "OK", "RX1"), EPOCH_US + t)
        acc = open_join_accept(dl.phy, aes)
        nwk, app = derive_session_keys(aes, acc.join_nonce, acc.net_id, 0)
        sessions.append((acc.dev_addr, SessionCrypto(nwk, app, "cryptography")))
    frames = []
    n = 0
    for k in range(args.uplinks):
        for addr, crypto in sessions:
            mtype = CONFIRMED_UP if n % 10 == 0 else UNCONFIRMED_UP
            frames.append(build_data(crypto, mtype, addr, k, 0, b"", 12, b"\x19\x08\x66"))
            n += 1
    start = time.perf_counter()
    cpu = time.process_time()
    downlinks = 0
    for phy in frames:
        t += 1_000
        for g in range(args.gateways):
            downlinks += len(ns.handle_uplink(phy, _meta(g, EPOCH_US + t)))
    downlinks += len(ns.flush())
    up_wall = time.perf_counter() - start
    up_cpu = time.process_time() - cpu
    # A SqliteStore keeps only its newest readings in memory (the database has them all).
    kept = getattr(ns.readings, "maxlen", None) or len(frames)
    assert len(ns.readings) == min(len(frames), kept), "every uplink must be delivered once"
    print(f"devices: {args.devices}")
    print(f"gateways_per_frame: {args.gateways}")
    print(f"joins_per_s: {args.devices / join_wall:.0f}")
    print(f"uplinks: {len(frames)} (downlinks {downlinks})")
    print(f"uplinks_per_s: {len(frames) / up_wall:.0f}")
    print(f"cpu_us_per_uplink: {up_cpu / len(frames) * 1e6:.1f}")
    if args.db:
        print(f"store: {args.db} (SQLite, one transaction per call)")
        ns.store.close()
    return 0


def _server(registry, path):
    if not path:
        return NetworkServer(registry)
    from lorafield_gateway.lns.sqlite_store import SqliteStore, StoredNetworkServer

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    return StoredNetworkServer(registry, SqliteStore(path))
