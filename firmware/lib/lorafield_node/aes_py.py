"""Pure-Python AES-128 encryption (FIPS-197), aes.py's "python" backend: imported only when
neither MicroPython's `cryptolib` nor CPython's `cryptography` exists (the WebAssembly VM,
device builds without cryptolib), so a device does not load its tables and rounds."""

from .aes import AesError

# FIPS-197 section 5.1.1 S-box and the xtime() table (multiplication by x = 2 in GF(2^8),
# section 4.2.1), as immutable bytes so they cost no heap when frozen into firmware.
_SBOX = (
    b"\x63\x7c\x77\x7b\xf2\x6b\x6f\xc5\x30\x01\x67\x2b\xfe\xd7\xab\x76"
    b"\xca\x82\xc9\x7d\xfa\x59\x47\xf0\xad\xd4\xa2\xaf\x9c\xa4\x72\xc0"
    b"\xb7\xfd\x93\x26\x36\x3f\xf7\xcc\x34\xa5\xe5\xf1\x71\xd8\x31\x15"
    b"\x04\xc7\x23\xc3\x18\x96\x05\x9a\x07\x12\x80\xe2\xeb\x27\xb2\x75"
    b"\x09\x83\x2c\x1a\x1b\x6e\x5a\xa0\x52\x3b\xd6\xb3\x29\xe3\x2f\x84"
    b"\x53\xd1\x00\xed\x20\xfc\xb1\x5b\x6a\xcb\xbe\x39\x4a\x4c\x58\xcf"
    b"\xd0\xef\xaa\xfb\x43\x4d\x33\x85\x45\xf9\x02\x7f\x50\x3c\x9f\xa8"
    b"\x51\xa3\x40\x8f\x92\x9d\x38\xf5\xbc\xb6\xda\x21\x10\xff\xf3\xd2"
    b"\xcd\x0c\x13\xec\x5f\x97\x44\x17\xc4\xa7\x7e\x3d\x64\x5d\x19\x73"
    b"\x60\x81\x4f\xdc\x22\x2a\x90\x88\x46\xee\xb8\x14\xde\x5e\x0b\xdb"
    b"\xe0\x32\x3a\x0a\x49\x06\x24\x5c\xc2\xd3\xac\x62\x91\x95\xe4\x79"
    b"\xe7\xc8\x37\x6d\x8d\xd5\x4e\xa9\x6c\x56\xf4\xea\x65\x7a\xae\x08"
    b"\xba\x78\x25\x2e\x1c\xa6\xb4\xc6\xe8\xdd\x74\x1f\x4b\xbd\x8b\x8a"
    b"\x70\x3e\xb5\x66\x48\x03\xf6\x0e\x61\x35\x57\xb9\x86\xc1\x1d\x9e"
    b"\xe1\xf8\x98\x11\x69\xd9\x8e\x94\x9b\x1e\x87\xe9\xce\x55\x28\xdf"
    b"\x8c\xa1\x89\x0d\xbf\xe6\x42\x68\x41\x99\x2d\x0f\xb0\x54\xbb\x16"
)
_MUL2 = (
    b"\x00\x02\x04\x06\x08\x0a\x0c\x0e\x10\x12\x14\x16\x18\x1a\x1c\x1e"
    b"\x20\x22\x24\x26\x28\x2a\x2c\x2e\x30\x32\x34\x36\x38\x3a\x3c\x3e"
    b"\x40\x42\x44\x46\x48\x4a\x4c\x4e\x50\x52\x54\x56\x58\x5a\x5c\x5e"
    b"\x60\x62\x64\x66\x68\x6a\x6c\x6e\x70\x72\x74\x76\x78\x7a\x7c\x7e"
    b"\x80\x82\x84\x86\x88\x8a\x8c\x8e\x90\x92\x94\x96\x98\x9a\x9c\x9e"
    b"\xa0\xa2\xa4\xa6\xa8\xaa\xac\xae\xb0\xb2\xb4\xb6\xb8\xba\xbc\xbe"
    b"\xc0\xc2\xc4\xc6\xc8\xca\xcc\xce\xd0\xd2\xd4\xd6\xd8\xda\xdc\xde"
    b"\xe0\xe2\xe4\xe6\xe8\xea\xec\xee\xf0\xf2\xf4\xf6\xf8\xfa\xfc\xfe"
    b"\x1b\x19\x1f\x1d\x13\x11\x17\x15\x0b\x09\x0f\x0d\x03\x01\x07\x05"
    b"\x3b\x39\x3f\x3d\x33\x31\x37\x35\x2b\x29\x2f\x2d\x23\x21\x27\x25"
    b"\x5b\x59\x5f\x5d\x53\x51\x57\x55\x4b\x49\x4f\x4d\x43\x41\x47\x45"
    b"\x7b\x79\x7f\x7d\x73\x71\x77\x75\x6b\x69\x6f\x6d\x63\x61\x67\x65"
    b"\x9b\x99\x9f\x9d\x93\x91\x97\x95\x8b\x89\x8f\x8d\x83\x81\x87\x85"
    b"\xbb\xb9\xbf\xbd\xb3\xb1\xb7\xb5\xab\xa9\xaf\xad\xa3\xa1\xa7\xa5"
    b"\xdb\xd9\xdf\xdd\xd3\xd1\xd7\xd5\xcb\xc9\xcf\xcd\xc3\xc1\xc7\xc5"
    b"\xfb\xf9\xff\xfd\xf3\xf1\xf7\xf5\xeb\xe9\xef\xed\xe3\xe1\xe7\xe5"
)

_RCON = b"\x01\x02\x04\x08\x10\x20\x40\x80\x1b\x36"


class PyAes:
    """Pure-Python AES-128 encryption.

    The 16 state bytes live in local variables (small ints never allocate on MicroPython) and
    each round is unrolled: SubBytes+ShiftRows are table lookups with fixed indices, MixColumns
    uses r_i = b_i ^ u ^ 2*(b_i ^ b_i+1) with u the XOR of the column (FIPS-197 5.1.3).
    Rounds alternate between two sets of locals to avoid copying; the only heap use is the
    176-byte key schedule built once per key.
    """

    name = "python"

    def __init__(self, key):
        # Key expansion, FIPS-197 section 5.2 (Nk = 4, Nr = 10): 11 round keys of 16 bytes.
        rk = bytearray(176)
        rk[0:16] = key
        S = _SBOX
        i = 16
        while i < 176:
            t0 = rk[i - 4]
            t1 = rk[i - 3]
            t2 = rk[i - 2]
            t3 = rk[i - 1]
            if i % 16 == 0:
                # RotWord + SubWord + Rcon, without a tuple (no heap use on MicroPython).
                t = t0
                t0 = S[t1] ^ _RCON[i // 16 - 1]
                t1 = S[t2]
                t2 = S[t3]
                t3 = S[t]
            rk[i] = rk[i - 16] ^ t0
            rk[i + 1] = rk[i - 15] ^ t1
            rk[i + 2] = rk[i - 14] ^ t2
            rk[i + 3] = rk[i - 13] ^ t3
            i += 4
        self._rk = rk

    def encrypt(self, block):
        out = bytearray(16)
        self.encrypt_into(block, out)
        return bytes(out)

    def encrypt_into(self, src, dst):
        if len(src) != 16:
            raise AesError("AES block must be 16 bytes")
        S = _SBOX
        M = _MUL2
        rk = self._rk
        # AddRoundKey with round key 0.
        a0 = src[0] ^ rk[0]
        a1 = src[1] ^ rk[1]
        a2 = src[2] ^ rk[2]
        a3 = src[3] ^ rk[3]
        a4 = src[4] ^ rk[4]
        a5 = src[5] ^ rk[5]
        a6 = src[6] ^ rk[6]
        a7 = src[7] ^ rk[7]
        a8 = src[8] ^ rk[8]
        a9 = src[9] ^ rk[9]
        a10 = src[10] ^ rk[10]
        a11 = src[11] ^ rk[11]
        a12 = src[12] ^ rk[12]
        a13 = src[13] ^ rk[13]
        a14 = src[14] ^ rk[14]
        a15 = src[15] ^ rk[15]
        # Rounds 1..8 in pairs (a -> c with round key k, c -> a with round key k + 16).
        k = 16
        while k < 144:
            b0 = S[a0]
            b1 = S[a5]
            b2 = S[a10]
            b3 = S[a15]
            u = b0 ^ b1 ^ b2 ^ b3
            c0 = b0 ^ u ^ M[b0 ^ b1] ^ rk[k]
            c1 = b1 ^ u ^ M[b1 ^ b2] ^ rk[k + 1]
            c2 = b2 ^ u ^ M[b2 ^ b3] ^ rk[k + 2]
            c3 = b3 ^ u ^ M[b3 ^ b0] ^ rk[k + 3]
            b0 = S[a4]
            b1 = S[a9]
            b2 = S[a14]
            b3 = S[a3]
            u = b0 ^ b1 ^ b2 ^ b3
            c4 = b0 ^ u ^ M[b0 ^ b1] ^ rk[k + 4]
            c5 = b1 ^ u ^ M[b1 ^ b2] ^ rk[k + 5]
            c6 = b2 ^ u ^ M[b2 ^ b3] ^ rk[k + 6]
            c7 = b3 ^ u ^ M[b3 ^ b0] ^ rk[k + 7]
            b0 = S[a8]
            b1 = S[a13]
            b2 = S[a2]
            b3 = S[a7]
            u = b0 ^ b1 ^ b2 ^ b3
            c8 = b0 ^ u ^ M[b0 ^ b1] ^ rk[k + 8]
            c9 = b1 ^ u ^ M[b1 ^ b2] ^ rk[k + 9]
            c10 = b2 ^ u ^ M[b2 ^ b3] ^ rk[k + 10]
            c11 = b3 ^ u ^ M[b3 ^ b0] ^ rk[k + 11]
            b0 = S[a12]
            b1 = S[a1]
            b2 = S[a6]
            b3 = S[a11]
            u = b0 ^ b1 ^ b2 ^ b3
            c12 = b0 ^ u ^ M[b0 ^ b1] ^ rk[k + 12]
            c13 = b1 ^ u ^ M[b1 ^ b2] ^ rk[k + 13]
            c14 = b2 ^ u ^ M[b2 ^ b3] ^ rk[k + 14]
            c15 = b3 ^ u ^ M[b3 ^ b0] ^ rk[k + 15]
            j = k + 16
            b0 = S[c0]
            b1 = S[c5]
            b2 = S[c10]
            b3 = S[c15]
            u = b0 ^ b1 ^ b2 ^ b3
            a0 = b0 ^ u ^ M[b0 ^ b1] ^ rk[j]
            a1 = b1 ^ u ^ M[b1 ^ b2] ^ rk[j + 1]
            a2 = b2 ^ u ^ M[b2 ^ b3] ^ rk[j + 2]
            a3 = b3 ^ u ^ M[b3 ^ b0] ^ rk[j + 3]
            b0 = S[c4]
            b1 = S[c9]
            b2 = S[c14]
            b3 = S[c3]
            u = b0 ^ b1 ^ b2 ^ b3
            a4 = b0 ^ u ^ M[b0 ^ b1] ^ rk[j + 4]
            a5 = b1 ^ u ^ M[b1 ^ b2] ^ rk[j + 5]
            a6 = b2 ^ u ^ M[b2 ^ b3] ^ rk[j + 6]
            a7 = b3 ^ u ^ M[b3 ^ b0] ^ rk[j + 7]
            b0 = S[c8]
            b1 = S[c13]
            b2 = S[c2]
            b3 = S[c7]
            u = b0 ^ b1 ^ b2 ^ b3
            a8 = b0 ^ u ^ M[b0 ^ b1] ^ rk[j + 8]
            a9 = b1 ^ u ^ M[b1 ^ b2] ^ rk[j + 9]
            a10 = b2 ^ u ^ M[b2 ^ b3] ^ rk[j + 10]
            a11 = b3 ^ u ^ M[b3 ^ b0] ^ rk[j + 11]
            b0 = S[c12]
            b1 = S[c1]
            b2 = S[c6]
            b3 = S[c11]
            u = b0 ^ b1 ^ b2 ^ b3
            a12 = b0 ^ u ^ M[b0 ^ b1] ^ rk[j + 12]
            a13 = b1 ^ u ^ M[b1 ^ b2] ^ rk[j + 13]
            a14 = b2 ^ u ^ M[b2 ^ b3] ^ rk[j + 14]
            a15 = b3 ^ u ^ M[b3 ^ b0] ^ rk[j + 15]
            k += 32
        # Round 9 (a -> c), then the final round without MixColumns (round key 10).
        b0 = S[a0]
        b1 = S[a5]
        b2 = S[a10]
        b3 = S[a15]
        u = b0 ^ b1 ^ b2 ^ b3
        c0 = b0 ^ u ^ M[b0 ^ b1] ^ rk[144]
        c1 = b1 ^ u ^ M[b1 ^ b2] ^ rk[144 + 1]
        c2 = b2 ^ u ^ M[b2 ^ b3] ^ rk[144 + 2]
        c3 = b3 ^ u ^ M[b3 ^ b0] ^ rk[144 + 3]
        b0 = S[a4]
        b1 = S[a9]
        b2 = S[a14]
        b3 = S[a3]
        u = b0 ^ b1 ^ b2 ^ b3
        c4 = b0 ^ u ^ M[b0 ^ b1] ^ rk[144 + 4]
        c5 = b1 ^ u ^ M[b1 ^ b2] ^ rk[144 + 5]
        c6 = b2 ^ u ^ M[b2 ^ b3] ^ rk[144 + 6]
        c7 = b3 ^ u ^ M[b3 ^ b0] ^ rk[144 + 7]
        b0 = S[a8]
        b1 = S[a13]
        b2 = S[a2]
        b3 = S[a7]
        u = b0 ^ b1 ^ b2 ^ b3
        c8 = b0 ^ u ^ M[b0 ^ b1] ^ rk[144 + 8]
        c9 = b1 ^ u ^ M[b1 ^ b2] ^ rk[144 + 9]
        c10 = b2 ^ u ^ M[b2 ^ b3] ^ rk[144 + 10]
        c11 = b3 ^ u ^ M[b3 ^ b0] ^ rk[144 + 11]
        b0 = S[a12]
        b1 = S[a1]
        b2 = S[a6]
        b3 = S[a11]
        u = b0 ^ b1 ^ b2 ^ b3
        c12 = b0 ^ u ^ M[b0 ^ b1] ^ rk[144 + 12]
        c13 = b1 ^ u ^ M[b1 ^ b2] ^ rk[144 + 13]
        c14 = b2 ^ u ^ M[b2 ^ b3] ^ rk[144 + 14]
        c15 = b3 ^ u ^ M[b3 ^ b0] ^ rk[144 + 15]
        dst[0] = S[c0] ^ rk[160]
        dst[1] = S[c5] ^ rk[161]
        dst[2] = S[c10] ^ rk[162]
        dst[3] = S[c15] ^ rk[163]
        dst[4] = S[c4] ^ rk[164]
        dst[5] = S[c9] ^ rk[165]
        dst[6] = S[c14] ^ rk[166]
        dst[7] = S[c3] ^ rk[167]
        dst[8] = S[c8] ^ rk[168]
        dst[9] = S[c13] ^ rk[169]
        dst[10] = S[c2] ^ rk[170]
        dst[11] = S[c7] ^ rk[171]
        dst[12] = S[c12] ^ rk[172]
        dst[13] = S[c1] ^ rk[173]
        dst[14] = S[c6] ^ rk[174]
        dst[15] = S[c11] ^ rk[175]
