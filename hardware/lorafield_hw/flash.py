"""Emulated NOR flash partition with wear accounting and power-cut injection.

Speaks MicroPython's extended block-device protocol, as `esp32.Partition` and `rp2.Flash`
do, so the firmware's store runs on it unchanged:

* `readblocks(block, buf, offset=0)`;
* `writeblocks(block, buf, offset)` programs only; `writeblocks(block, buf)` (no offset,
  the simple protocol) erases the blocks it covers first, as both ports do;
* `ioctl(op, arg)`: 1 init, 2 deinit, 3 sync, 4 block count, 5 block size, 6 erase `arg`.

NOR semantics: erase sets a whole block to 0xFF; programming can only clear bits
(new = old & data). `prog_size` > 1 enforces the port's alignment (rp2.Flash programs
whole 256-byte pages; a misaligned program there silently corrupts, here it raises).

Every program and every erase is one numbered operation (`operations` counts them). A
power cut can be armed on an operation index and a phase:

* "before": the operation never starts;
* "during": torn. A program leaves a prefix of its bytes written and the next byte with
  only some of its bits cleared; an erase leaves each byte of the block erased (0xFF),
  unchanged, or garbage (some chips pre-program to 0 before erasing), seeded;
* "after": the operation completed.

The cut then calls `on_cut()` (the board ends the firmware there); without a handler it
raises `PowerCut`. A cut that kills the process while it waits out an operation's duration
(`delay` set: virtual time passes) tears that operation too. What the flash holds afterwards
is what the next boot reads.
"""

import random

PHASES = ("before", "during", "after")

# Typical SPI NOR timings (Winbond W25Q32JV datasheet, AC characteristics: page program
# tPP 0.7 ms typ for 256 bytes, sector erase tSE 45 ms typ for 4 KiB).
PAGE_PROGRAM_US = 700
SECTOR_ERASE_US = 45_000


class PowerCut(BaseException):
    """Power was cut during a flash operation (no handler installed)."""


class FlashError(ValueError):
    """A request outside the partition or misaligned for the port's program size."""


class NorFlash:
    def __init__(self, block_size=4096, block_count=4, prog_size=1, seed=0, delay=None):
        if block_size % prog_size:
            raise FlashError("block_size must be a multiple of prog_size")
        self.block_size = block_size
        self.block_count = block_count
        self.prog_size = prog_size
        self.data = bytearray(b"\xff" * (block_size * block_count))
        self.erase_counts = [0] * block_count
        self.program_counts = [0] * block_count
        self.bytes_programmed = 0
        self.operations = 0
        self.torn = 0  # operations interrupted by a power cut
        self.delay = delay  # callable(us) consuming virtual time, or None
        self.on_cut = None
        self._random = random.Random(seed)
        self._armed = None  # (operation index, phase, torn byte count or None)

    # -- block-device protocol -------------------------------------------------------------
    def readblocks(self, block, buf, offset=0):
        # _address's checks inlined (the store reads record by record); errors unchanged.
        n = len(buf)
        start = block * self.block_size + offset
        if not 0 <= block < self.block_count or offset < 0 or start + n > len(self.data):
            self._address(block, offset, n)  # raises the FlashError
        buf[:] = self.data[start : start + n]

    def writeblocks(self, block, buf, offset=None):
        data = bytes(buf)
        if offset is None:
            blocks = -(-len(data) // self.block_size)
            for b in range(block, block + blocks):
                self.erase(b)
            offset = 0
        self.program(block, offset, data)

    def ioctl(self, op, arg=0):
        if op in (1, 2, 3):
            return 0
        if op == 4:
            return self.block_count
        if op == 5:
            return self.block_size
        if op == 6:
            self.erase(arg)
            return 0
        return None  # unsupported op, as the ports answer

    # -- NOR operations --------------------------------------------------------------------
    def program(self, block, offset, data):
        start = self._address(block, offset, len(data))
        p = self.prog_size
        if p > 1 and (start % p or len(data) % p):
            raise FlashError(f"program of {len(data)} bytes at {start} not {p}-byte aligned")
        pages = max(1, -(-len(data) // 256))

        def apply(count, partial):
            if count:  # NOR programming ANDs each byte: one big-int AND over the whole run
                end = start + count
                old = int.from_bytes(self.data[start:end], "little")
                new = old & int.from_bytes(data[:count], "little")
                self.data[start:end] = new.to_bytes(count, "little")
            if partial and count < len(data):
                # The interrupted byte: only some of the bits it had to clear are cleared.
                mask = data[count] | self._random.randrange(256)
                self.data[start + count] &= mask

        def tear(torn):
            count = torn if torn is not None else self._random.randrange(len(data) or 1)
            apply(min(count, len(data)), True)

        self.program_counts[block] += 1
        self.bytes_programmed += len(data)
        duration = pages * PAGE_PROGRAM_US
        self._operation(block, "program", duration, lambda: apply(len(data), False), tear)

    def erase(self, block):
        if not 0 <= block < self.block_count:
            raise FlashError(f"erase of block {block} outside the partition")
        start = block * self.block_size
        end = start + self.block_size

        def apply():
            self.data[start:end] = b"\xff" * self.block_size

        def tear(_torn):
            rnd = self._random
            for i in range(start, end):
                choice = rnd.randrange(3)
                if choice == 0:
                    self.data[i] = 0xFF
                elif choice == 1:
                    self.data[i] = rnd.randrange(256)

        self.erase_counts[block] += 1
        self._operation(block, "erase", SECTOR_ERASE_US, apply, tear)

    # -- power cuts ------------------------------------------------------------------------
    def arm_cut(self, operation, phase="during", torn=None):
        """Cut power at operation index `operation` (counted from `operations` == 0) in
        `phase`; `torn` fixes how many bytes a torn program writes (else seeded)."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}")
        self._armed = (operation, phase, torn)

    def disarm(self):
        self._armed = None

    def _operation(self, block, kind, duration_us, apply, tear):
        index = self.operations
        self.operations += 1
        armed = self._armed
        phase = armed[1] if armed is not None and armed[0] == index else None
        if phase is not None:
            self._armed = None
        if phase == "before":
            self._cut()
        if self.delay is not None:
            try:
                self.delay(duration_us)
            except BaseException:  # the process was killed mid-operation: power is gone
                self.torn += 1
                tear(None)
                raise
        if phase == "during":
            self.torn += 1
            tear(armed[2])
            self._cut()
        apply()
        if phase == "after":
            self._cut()

    def _cut(self):
        if self.on_cut is not None:
            self.on_cut()
        raise PowerCut("power cut during flash operation")

    # -- helpers ---------------------------------------------------------------------------
    def _address(self, block, offset, length):
        if not 0 <= block < self.block_count or offset < 0:
            raise FlashError(f"block {block} offset {offset} outside the partition")
        start = block * self.block_size + offset
        if start + length > len(self.data):
            raise FlashError(f"{length} bytes at block {block}+{offset} run past the end")
        return start

    def wear(self):
        """Per-block erase and program counts, and the total bytes programmed."""
        return {
            "erase_counts": list(self.erase_counts),
            "program_counts": list(self.program_counts),
            "bytes_programmed": self.bytes_programmed,
            "max_erase_count": max(self.erase_counts),
        }
