"""AES-128 block encryption behind one small interface (FIPS-197).

LoRaWAN 1.0.x end devices only ever *encrypt* with AES (CMAC, the FRMPayload keystream, key
derivation, and even the Join-accept, which the network encrypts with AES *decrypt* -- LoRaWAN
1.0.4 section 6.2.3). So the interface is encrypt-only:

    aes = new_aes(key)              # best backend available, or backend="python" etc.
    aes.encrypt(block)              # -> 16 new bytes
    aes.encrypt_into(src, dst)      # writes 16 bytes into dst (may be src), no allocation

Backends, tried in this order when ``backend`` is None:
- "cryptolib":    MicroPython's C module (``cryptolib.aes(key, 1)``, mode 1 = ECB);
- "cryptography": CPython's ``cryptography`` package (absent on MicroPython);
- "python":       the pure-Python fallback in aes_py.py, for the WebAssembly VM and device
                  builds without cryptolib; imported only when it is used (its tables and
                  unrolled rounds would take ~4 KB of a device's heap for nothing).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_MODE_ECB = const(1)  # cryptolib mode number for ECB

BACKENDS = ("cryptolib", "cryptography", "python")


class AesError(ValueError):
    """Bad key length or unavailable backend (the message never contains key material)."""


def new_aes(key, backend=None):
    """An AES-128 encryptor for the 16-byte ``key`` using ``backend`` (None: the best one)."""
    if len(key) != 16:
        raise AesError("AES-128 key must be 16 bytes")
    if backend is None:
        for name in BACKENDS:
            aes = _make(name, key)
            if aes is not None:
                return aes
        raise AesError("no AES backend")  # unreachable: "python" always works
    if backend not in BACKENDS:
        raise AesError("unknown AES backend")
    aes = _make(backend, key)
    if aes is None:
        raise AesError("AES backend not available: " + backend)
    return aes


def available_backends():
    """Names of the backends that work in this interpreter, best first."""
    out = []
    for name in BACKENDS:
        if _make(name, bytes(16)) is not None:
            out.append(name)
    return out


def _make(name, key):
    if name == "python":
        from .aes_py import PyAes  # loaded only where no C AES exists (the WebAssembly VM)

        return PyAes(key)
    if name == "cryptolib":
        try:
            import cryptolib
        except ImportError:
            return None
        return CryptolibAes(cryptolib, key)
    if name == "cryptography":
        try:
            from cryptography.hazmat.primitives.ciphers import (  # pyright: ignore[reportMissingImports]
                Cipher,
                algorithms,
                modes,
            )
        except ImportError:
            return None
        return CryptographyAes(Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor())
    return None


class CryptolibAes:
    """MicroPython ``cryptolib.aes`` in ECB mode (one object, encrypt only)."""

    name = "cryptolib"

    def __init__(self, cryptolib, key):
        self._aes = cryptolib.aes(bytes(key), _MODE_ECB)

    def encrypt(self, block):
        return bytes(self._aes.encrypt(bytes(block)))

    def encrypt_into(self, src, dst):
        self._aes.encrypt(src, dst)


class CryptographyAes:
    """CPython ``cryptography`` ECB encryptor (stateless per block in ECB mode)."""

    name = "cryptography"

    def __init__(self, encryptor):
        self._enc = encryptor

    def encrypt(self, block):
        if len(block) != 16:
            raise AesError("AES block must be 16 bytes")
        return self._enc.update(bytes(block))

    def encrypt_into(self, src, dst):
        if len(src) != 16:
            raise AesError("AES block must be 16 bytes")
        dst[0:16] = self._enc.update(bytes(src))
