"""Flash wear of the firmware's store for a frame counter saved on every uplink.

    .venv/bin/python hardware/scripts/store_wear.py [--writes 10000] [--blocks 2]

Prints erase counts per block and the erases per 10,000 writes for the esp32 geometry
(4 KiB blocks, byte programs) and the rp2 geometry (4 KiB blocks, 256-byte page programs),
with a typical live set (DevAddr, two session keys, config) beside the counter.
"""

import argparse
import struct

from lorafield_hw.flash import NorFlash
from lorafield_node.store import Store


def measure(writes, blocks, prog_size):
    flash = NorFlash(block_size=4096, block_count=blocks, prog_size=prog_size)
    store = Store(flash, prog_size=prog_size)
    store.put("devaddr", b"\x26\x01\x1b\xda")
    store.put("nwkskey", bytes(16))
    store.put("appskey", bytes(16))
    store.put("cfg", bytes(12))
    base = sum(flash.erase_counts)
    for i in range(writes):
        store.put("fcnt_up", struct.pack("<I", i))
    return flash, sum(flash.erase_counts) - base


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=2)
    args = parser.parse_args()
    for name, prog in (("esp32 (byte programs)", 1), ("rp2 (256-byte pages)", 256)):
        flash, erases = measure(args.writes, args.blocks, prog)
        per_10k = erases * 10_000 / args.writes
        worst = max(flash.erase_counts)
        print(f"{name}: {args.writes} writes, {erases} erases ({per_10k:.1f} per 10,000 writes)")
        print(f"  erase counts per block: {flash.erase_counts}; max {worst}")
        # 100,000 erase cycles per sector (W25Q32JV datasheet, endurance).
        life = 100_000 * args.writes / max(worst, 1)
        print(f"  writes until a block reaches 100k erase cycles: {life:,.0f}")


if __name__ == "__main__":
    main()
