"""Power-safe persistent key-value store on a NOR flash block device.

Keys are short str, values small bytes. Runs on MicroPython (esp32.Partition, rp2.Flash)
and CPython (the emulated flash) unchanged; it only uses the extended block-device
protocol: readblocks(block, buf, offset), writeblocks(block, buf, offset) (program only),
ioctl(4) block count, ioctl(5) block size, ioctl(6, block) erase.

Layout: a ring of >= 2 erase blocks ("sectors"). Exactly one sector is active: the valid
one with the highest generation. A sector starts with a 16-byte header

    magic b"LFKV" | generation u32 LE | 0xFFFFFFFF | crc32(first 12 bytes) u32 LE

followed by records appended in order, each

    klen u8 (1..max_key) | vlen u16 LE (0xFFFF = deleted) | key | value | crc32 u32 LE

and then erased bytes (0xFF). The last record for a key wins.

Why every power cut leaves the old or the new value and loses nothing else:
* an append only programs erased bytes after the last record; a torn append fails its CRC
  (or leaves non-erased bytes after the log), so the mount stops there, the previous record
  of that key is the value, and the next write compacts instead of appending after the
  damage;
* compaction erases the next sector of the ring (never the active one), copies the live
  records into it and programs its header LAST, with generation + 1: until that header is
  complete and its CRC valid the old sector stays active; after it the new one holds
  exactly the same live data;
* a torn erase or torn header leaves a sector whose header CRC fails, which is ignored.

Wear: an erase happens only when the active sector is full; each erase frees the space of
all superseded records, so a counter saved on every uplink costs one erase per
~(sector size - live data) / record size writes, spread over the ring.
"""

import struct

try:
    from binascii import crc32 as _crc32
except ImportError:  # pragma: no cover - ports built without binascii.crc32
    _crc32 = None

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_MAGIC = b"LFKV"
_HEADER = const(16)
_REC_HEAD = const(3)  # klen u8, vlen u16
_REC_CRC = const(4)
_DELETED = const(0xFFFF)
_ERASED = const(0xFF)
_IOCTL_BLOCK_COUNT = const(4)
_IOCTL_BLOCK_SIZE = const(5)
_IOCTL_BLOCK_ERASE = const(6)


class StoreError(ValueError):
    """Bad key/value, or a block device the store cannot use."""


class StoreFull(StoreError):
    """The live data does not fit in one sector."""


def crc32(data, crc=0):
    """zlib CRC-32 (the one binascii.crc32 computes), with a bitwise fallback."""
    if _crc32 is not None:
        return _crc32(data, crc) & 0xFFFFFFFF
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


class Store:
    def __init__(self, bdev, first_block=0, blocks=None, prog_size=1, max_key=32, max_value=128):
        self._bdev = bdev
        count = bdev.ioctl(_IOCTL_BLOCK_COUNT, 0)
        if blocks is None:
            blocks = count - first_block
        if blocks < 2 or first_block < 0 or first_block + blocks > count:
            raise StoreError("store needs >= 2 blocks inside the device")
        size = bdev.ioctl(_IOCTL_BLOCK_SIZE, 0)
        if prog_size < 1 or size % prog_size or max_key < 1 or max_key > 254:
            raise StoreError("bad block size, prog_size or max_key")
        if max_value < 0 or max_value >= _DELETED:
            raise StoreError("bad max_value")
        self._first = first_block
        self._count = blocks
        self._size = size
        self._prog = prog_size
        self.max_key = max_key
        self.max_value = max_value
        self._rec_max = _REC_HEAD + max_key + max_value + _REC_CRC
        if _HEADER + self._rec_max > size:
            raise StoreError("max_key + max_value do not fit in one block")
        # Preallocated: one record, and (prog_size > 1) the aligned page span around it.
        self._buf = bytearray(max(self._rec_max, _HEADER))
        self._mv = memoryview(self._buf)
        self._ff = b"\xff" * len(self._buf)  # what an erased buffer reads (_erased)
        if prog_size > 1:
            span = ((self._rec_max + 2 * prog_size - 2) // prog_size) * prog_size
            self._page = bytearray(span)
            self._page_mv = memoryview(self._page)
            self._ones = memoryview(b"\xff" * span)
        self._index = {}  # key -> offset of its latest record in the active sector
        self._active = 0
        self._gen = 0
        self._tail = None  # offset of the first free byte; None: log damaged, compact
        self._mount()

    # -- public API ------------------------------------------------------------------------
    def get(self, key, default=None):
        offset = self._index.get(key)
        if offset is None:
            return default
        n = self._read_record(self._active, offset)
        if n <= 0:
            raise StoreError("record damaged since mount")
        klen = self._buf[0]
        vlen = n - _REC_HEAD - klen - _REC_CRC
        return bytes(self._mv[_REC_HEAD + klen : _REC_HEAD + klen + vlen])

    def keys(self):
        return list(self._index)

    def __iter__(self):
        return iter(list(self._index))

    def __contains__(self, key):
        return key in self._index

    def put(self, key, value):
        """Store `value` under `key`; returns False if it already held exactly that."""
        kb = self._key_bytes(key)
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise StoreError("value must be bytes")
        if len(value) > self.max_value:
            raise StoreError("value longer than max_value")
        if self._same(key, value):
            return False  # unchanged: spend no flash wear
        self._append(key, kb, value, len(value))
        return True

    def _same(self, key, value):
        """Does `key` already hold `value`? (compared in place: no allocation)"""
        offset = self._index.get(key)
        if offset is None:
            return False
        n = self._read_record(self._active, offset)
        if n <= 0:
            return False
        start = _REC_HEAD + self._buf[0]
        if n - start - _REC_CRC != len(value):
            return False
        buf = self._buf
        for i in range(len(value)):  # noqa: SIM110 - a generator would allocate
            if buf[start + i] != value[i]:
                return False
        return True

    def delete(self, key):
        """Remove `key`; returns False if it was not there."""
        kb = self._key_bytes(key)
        if key not in self._index:
            return False
        self._append(key, kb, None, _DELETED)
        return True

    def compact(self):
        """Copy the live records into the next sector now (normally automatic)."""
        self._compact()

    def stats(self):
        """(active sector, generation, bytes used in it, sector size)."""
        used = self._tail if self._tail is not None else self._size
        return (self._active, self._gen, used, self._size)

    # -- records ---------------------------------------------------------------------------
    def _key_bytes(self, key):
        if not isinstance(key, str):
            raise StoreError("key must be str")
        kb = key.encode()
        if not 0 < len(kb) <= self.max_key:
            raise StoreError("key length must be 1..max_key bytes")
        return kb

    def _build(self, kb, value, vlen):
        """Encode a record into self._buf; returns its length."""
        buf = self._buf
        klen = len(kb)
        buf[0] = klen
        struct.pack_into("<H", buf, 1, vlen)
        self._mv[_REC_HEAD : _REC_HEAD + klen] = kb
        end = _REC_HEAD + klen
        if vlen != _DELETED:
            self._mv[end : end + vlen] = value
            end += vlen
        struct.pack_into("<I", buf, end, crc32(self._mv[:end]))
        return end + _REC_CRC

    def _append(self, key, kb, value, vlen):
        n = self._build(kb, value, vlen)
        if self._tail is None or self._tail + n > self._size:
            live = 0
            for other in self._index:
                if other != key:
                    live += self._record_len(self._active, self._index[other])
            if _HEADER + live + n > self._size:
                raise StoreFull("store full")
            self._compact()
            n = self._build(kb, value, vlen)  # compaction used the buffer
        offset = self._tail
        if offset is None:  # unreachable: a compaction always leaves a tail
            raise StoreError("no free space")
        self._program(self._active, offset, self._mv[:n])
        self._tail = offset + n
        if vlen == _DELETED:
            del self._index[key]
        else:
            self._index[key] = offset

    def _record_len(self, sector, offset):
        self._read(sector, offset, self._mv[:_REC_HEAD])
        vlen = self._buf[1] | (self._buf[2] << 8)
        return _REC_HEAD + self._buf[0] + (0 if vlen == _DELETED else vlen) + _REC_CRC

    def _read_record(self, sector, offset):
        """Read the record at offset into self._buf; returns its length, 0 if there is
        none (erased), -1 if it is damaged."""
        mv = self._mv
        room = self._size - offset
        if room < _REC_HEAD + _REC_CRC:
            return 0 if self._erased(sector, offset) else -1
        # One read of the longest record there can be (a mount reads every record).
        self._read(sector, offset, mv[: min(room, self._rec_max)])
        klen = self._buf[0]
        if klen == _ERASED:
            return 0 if self._erased(sector, offset) else -1
        vlen = self._buf[1] | (self._buf[2] << 8)
        body = klen + (0 if vlen == _DELETED else vlen)
        if klen == 0 or klen > self.max_key or body - klen > self.max_value:
            return -1
        n = _REC_HEAD + body + _REC_CRC
        if n > room:
            return -1
        (stored,) = struct.unpack_from("<I", self._buf, n - _REC_CRC)
        if crc32(mv[: n - _REC_CRC]) != stored:
            return -1
        return n

    def _erased(self, sector, offset):
        """True if every byte from offset to the end of the sector is 0xFF. Read in whole
        buffers compared at once (a mount ends here: a byte loop over the rest of a 4 KiB
        sector cost more than the whole mount); the last read may overlap the one before."""
        buf, chunk, end = self._buf, len(self._buf), self._size
        if end - offset < chunk:
            n = end - offset
            self._read(sector, offset, self._mv[:n])
            return all(buf[i] == _ERASED for i in range(n))
        while offset < end:
            offset = min(offset, end - chunk)
            self._read(sector, offset, self._mv)
            if buf != self._ff:
                return False
            offset += chunk
        return True

    # -- sectors ---------------------------------------------------------------------------
    def _read_header(self, sector):
        """The generation of a valid sector header, or None."""
        mv = self._mv
        self._read(sector, 0, mv[:_HEADER])
        if bytes(mv[:4]) != _MAGIC:
            return None
        gen, _, stored = struct.unpack_from("<III", self._buf, 4)
        if crc32(mv[:12]) != stored:
            return None
        return gen

    def _write_header(self, sector, gen):
        buf = self._buf
        self._mv[:4] = _MAGIC
        struct.pack_into("<II", buf, 4, gen, 0xFFFFFFFF)
        struct.pack_into("<I", buf, 12, crc32(self._mv[:12]))
        self._program(sector, 0, self._mv[:_HEADER])

    def _mount(self):
        best = None
        for sector in range(self._count):
            gen = self._read_header(sector)
            if gen is not None and (best is None or ((gen - self._gen) & 0xFFFFFFFF) < 0x80000000):
                best, self._gen = sector, gen
        if best is None:  # blank or foreign flash: start a log in sector 0
            self._erase(0)
            self._write_header(0, 1)
            self._active, self._gen, self._tail = 0, 1, _HEADER
            return
        self._active = best
        offset = _HEADER
        index = self._index
        while True:
            n = self._read_record(best, offset)
            if n <= 0:
                self._tail = offset if n == 0 else None
                return
            klen = self._buf[0]
            key = str(bytes(self._mv[_REC_HEAD : _REC_HEAD + klen]), "utf-8")
            if self._buf[1] == 0xFF and self._buf[2] == 0xFF:
                if key in index:
                    del index[key]
            else:
                index[key] = offset
            offset += n

    def _compact(self):
        src = self._active
        dst = (src + 1) % self._count
        self._erase(dst)
        offset = _HEADER
        index = {}
        # Copy in log order, so the image is the same on every runtime (dict order is not).
        old = self._index
        for key in sorted(old, key=lambda k: old[k]):
            n = self._read_record(src, old[key])
            if n <= 0:
                raise StoreError("flash corrupted under a live record")
            self._program(dst, offset, self._mv[:n])
            index[key] = offset
            offset += n
        gen = (self._gen + 1) & 0xFFFFFFFF
        self._write_header(dst, gen)  # the commit point
        self._active, self._gen, self._index, self._tail = dst, gen, index, offset

    # -- block device ----------------------------------------------------------------------
    def _read(self, sector, offset, mv):
        self._bdev.readblocks(self._first + sector, mv, offset)

    def _erase(self, sector):
        self._bdev.ioctl(_IOCTL_BLOCK_ERASE, self._first + sector)

    def _program(self, sector, offset, data):
        block = self._first + sector
        p = self._prog
        if p == 1:
            self._bdev.writeblocks(block, data, offset)
            return
        # Program whole aligned pages: 0xFF outside `data` leaves those bytes unchanged.
        start = offset - offset % p
        end = offset + len(data)
        end += (p - end % p) % p
        page = self._page_mv
        page[: end - start] = self._ones[: end - start]
        page[offset - start : offset - start + len(data)] = data
        self._bdev.writeblocks(block, page[: end - start], start)
