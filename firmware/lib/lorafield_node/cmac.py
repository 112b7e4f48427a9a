"""AES-CMAC (RFC 4493) over the encrypt-only AES interface of ``aes.py``.

LoRaWAN uses it for every MIC (LoRaWAN 1.0.4 sections 4.4 and 6.2.4/6.2.5). The MAC is
computed incrementally so a caller can feed a header block (B0) and the frame without joining
them into a new buffer: ``start()``, ``update(data)`` as often as needed, ``finish_into(out)``.
``update`` takes a range and ``finish_into`` an offset, so a frame is MACed where it lies in
its buffer: nothing is allocated per message or per byte.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_RB = const(0x87)  # RFC 4493 section 2.3: the constant for 128-bit blocks


class Cmac:
    """AES-CMAC with one key (given as an AES object from ``aes.new_aes``)."""

    def __init__(self, aes):
        self._aes = aes
        self._x = bytearray(16)  # running CBC-MAC state; holds the tag after finish
        self._pos = 0  # bytes of the current block already XORed into _x
        # RFC 4493 section 2.3: L = AES-K(0^128), K1 = L << 1 (^ Rb), K2 = K1 << 1 (^ Rb).
        k = bytearray(16)
        aes.encrypt_into(k, k)
        self._k1 = _double(k)
        self._k2 = _double(self._k1)

    def start(self):
        """Begin a new message."""
        x = self._x
        for i in range(16):
            x[i] = 0
        self._pos = 0

    def update(self, data, start=0, end=-1):
        """Feed data[start:end] (any buffer; end -1 = to the end) without slicing it."""
        x = self._x
        pos = self._pos
        if end < 0:
            end = len(data)
        for i in range(start, end):
            b = data[i]
            if pos == 16:
                # A full block is only encrypted once more data follows: the last block
                # gets K1/K2 mixed in first (RFC 4493 section 2.4 step 4).
                self._aes.encrypt_into(x, x)
                pos = 0
            x[pos] ^= b
            pos += 1
        self._pos = pos

    def finish_into(self, out, n=16, off=0):
        """Write the first ``n`` bytes of the tag to ``out[off:]``; ``start()`` before reuse."""
        x = self._x
        pos = self._pos
        if pos == 16:
            k = self._k1  # complete last block
        else:
            k = self._k2  # padded last block (also the empty message): 10*
            x[pos] ^= 0x80
        for i in range(16):
            x[i] ^= k[i]
        self._aes.encrypt_into(x, x)
        for i in range(n):
            out[off + i] = x[i]
        self._pos = 0
        for i in range(16):
            x[i] = 0

    def digest(self, *parts):
        """The 16-byte tag of the concatenation of ``parts`` (allocates the result)."""
        self.start()
        for p in parts:
            self.update(p)
        out = bytearray(16)
        self.finish_into(out)
        return bytes(out)


def _double(b):
    """Shift a 16-byte block left by one bit in GF(2^128) (RFC 4493 section 2.3)."""
    out = bytearray(16)
    carry = 0
    for i in range(15, -1, -1):
        v = (b[i] << 1) | carry
        carry = v >> 8
        out[i] = v & 0xFF
    if carry:
        out[15] ^= _RB
    return out
