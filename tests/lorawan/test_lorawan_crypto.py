"""AES backends and AES-CMAC against `cryptography` on random inputs; backend selection."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lorafield_node.aes import AesError, available_backends, new_aes
from lorafield_node.cmac import Cmac

keys = st.binary(min_size=16, max_size=16)
blocks = st.binary(min_size=16, max_size=16)


def reference_encrypt(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def reference_cmac(key: bytes, msg: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(msg)
    return c.finalize()


@given(keys, blocks)
def test_pure_python_aes_matches_reference(key, block):
    aes = new_aes(key, "python")
    assert aes.encrypt(block) == reference_encrypt(key, block)
    buf = bytearray(block)
    aes.encrypt_into(memoryview(buf), buf)  # in place, from a memoryview
    assert bytes(buf) == reference_encrypt(key, block)


# The fake module is stateless across inputs, so sharing it between examples is fine.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys, blocks)
def test_cryptolib_path_matches_reference(fake_cryptolib, key, block):
    aes = new_aes(key, "cryptolib")
    out = bytearray(16)
    aes.encrypt_into(block, out)
    assert bytes(out) == aes.encrypt(block) == reference_encrypt(key, block)


@pytest.mark.parametrize("backend", ["python", "cryptography"])
@given(key=keys, msg=st.binary(max_size=100), cut=st.integers(0, 100))
def test_cmac_matches_reference_whole_and_in_pieces(backend, key, msg, cut):
    c = Cmac(new_aes(key, backend))
    want = reference_cmac(key, msg)
    assert c.digest(msg) == want
    assert c.digest(msg[:cut], msg[cut:]) == want
    c.start()
    for b in msg:
        c.update(bytes([b]))
    out = bytearray(4)
    c.finish_into(out, 4)
    assert bytes(out) == want[:4]


def test_backend_selection_on_cpython():
    assert available_backends() == ["cryptography", "python"]
    assert new_aes(bytes(16)).name == "cryptography"
    assert new_aes(bytes(16), "python").name == "python"
    with pytest.raises(AesError, match="not available: cryptolib"):
        new_aes(bytes(16), "cryptolib")


def test_backend_selection_with_cryptolib(fake_cryptolib):
    assert available_backends() == ["cryptolib", "cryptography", "python"]
    assert new_aes(bytes(16)).name == "cryptolib"


@pytest.mark.parametrize("backend", ["python", "cryptography"])
def test_bad_key_and_block_lengths_are_typed_errors(backend):
    secret = bytes(range(15))
    with pytest.raises(AesError) as err:
        new_aes(secret, backend)
    assert secret.hex() not in str(err.value)
    with pytest.raises(AesError):
        new_aes(bytes(16), "des")
    with pytest.raises(AesError):
        new_aes(bytes(16), backend).encrypt(bytes(15))
    with pytest.raises(AesError):
        new_aes(bytes(16), backend).encrypt_into(bytes(17), bytearray(17))
