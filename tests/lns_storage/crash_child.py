"""Child process for the crash test: feeds uplinks (hex, one per line of a file) to the
stored network server from line `start` on, printing each index once the call returned."""

import sys

from lns_helpers import meta, registry
from lorafield_gateway.lns.sqlite_store import SqliteStore, StoredNetworkServer


def main(db_path, frames_path, start):
    ns = StoredNetworkServer(registry(), SqliteStore(db_path), dedup_window_us=0, adr=False)
    with open(frames_path) as handle:
        frames = [bytes.fromhex(line.strip()) for line in handle]
    for index in range(start, len(frames)):
        ns.handle_uplink(frames[index], meta(t=(index + 10) * 1_000_000))
        print(index, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
