"""Known-answer tests (shared/reference/lorawan-facts.md, FIPS-197, RFC 4493) on every AES
backend on CPython and under the real MicroPython VM (pure-Python AES, 64 KiB heap)."""

from __future__ import annotations

import pytest
from lorafield_tools.mpcheck.mpy import compile_file
from lorafield_tools.mpvm.vm import repo_root

# name -> expected value; the values come from the references, not from our code.
EXPECTED = {
    "aes.c1": "69c4e0d86a7b0430d8cdb78070b4c55a",  # FIPS-197 C.1
    "aes.b": "3925841d02dc09fbdc118597196a0b32",  # FIPS-197 appendix B
    "aes.inplace": "69c4e0d86a7b0430d8cdb78070b4c55a",
    "cmac.0": "bb1d6929e95937287fa37d129b756746",  # RFC 4493 examples 1-4
    "cmac.16": "070a16b46b4d4144f79bdd9dd04a287c",
    "cmac.40": "dfa66747de9ae63030ca32611497c827",
    "cmac.64": "51f0bebf7e3b9d92fc49741779363cfe",
    "cmac.split40": "dfa66747de9ae63030ca32611497c827",
    # lora-packet join-request: AppEUI/DevEUI reversed from the air, DevNonce 0x8904, MIC.
    "jr.parse": "aa13693363343639 3331383274356905 35076 c65b1304",
    "jr.rebuild": "0039363463336913aa05693574323831330489c65b1304",
    "jr.build": "0001010101010101010202020202020202030309b97b32",
    "ja.fields": "65793 020202 01020304 0 0 0 1 None",
    "ja.plain": "200101010202020403020100003449f212",
    "keys": "4e3d6e6afbcc67af2ba3c8e8ec4acf4b 610897aa6f1460623443b527d3ac6a9d",
    "up.fields": "2 49be7df1 2 1 74657374 2b11ff0d",  # 74657374 = "test"
    "up.rebuild": "40f17dbe4900020001954378762b11ff0d",
    "fopts": "067307",
    "confup": "80040302010300000673070ae264d4f7e117d2c0",
    "confup.cmds": "[(6, (115, 7))]",
    "eu.channels": "[868100000, 868300000, 868500000]",
    "eu.dr": "[(12, 125000), (11, 125000), (10, 125000), (9, 125000), (8, 125000), "
    "(7, 125000), (7, 250000), (0, 0)]",
    "eu.maxpl": "[51, 51, 51, 115, 222, 222, 222, 222]",
    "eu.rx2": "869525000 0",
    "eu.txpower": "[16, 14, 12, 10, 8, 6, 4, 2]",
}


def as_dict(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines)


def check_expected(got: dict[str, str], backend: str) -> None:
    assert got["aes.backend"] == backend
    for name, value in EXPECTED.items():
        assert got[name] == value, name
    # Not a reference vector, but must differ from the uplink: direction is in A and B0.
    assert got["confdown"][:2] == "a0" and got["confdown"] != got["confup"]


@pytest.mark.parametrize("backend", ["python", "cryptography"])
def test_known_answers_cpython(kat, backend):
    check_expected(as_dict(kat.compute(backend)), backend)


def test_known_answers_cryptolib_path(kat, fake_cryptolib):
    got = as_dict(kat.compute("cryptolib"))
    check_expected(got, "cryptolib")
    assert fake_cryptolib, "the cryptolib backend was not exercised"


def test_default_backend_prefers_cryptolib(kat, fake_cryptolib):
    check_expected(as_dict(kat.compute(None)), "cryptolib")


def test_default_backend_on_cpython_is_cryptography(kat):
    check_expected(as_dict(kat.compute(None)), "cryptography")


@pytest.mark.micropython
def test_known_answers_micropython_source_match_cpython(kat, micropython):
    # The modules as .py source in /lib, compiled by the VM at import.
    out = micropython.run(kat.SOURCE + "\nfor _l in compute(None):\n    print(_l)\n")
    got = as_dict(out.splitlines())
    # The WebAssembly VM has no cryptolib: the default must fall back to pure Python.
    check_expected(got, "python")
    assert got == as_dict(kat.compute("python"))


@pytest.mark.micropython
def test_known_answers_micropython_mpy_in_64k_heap(kat, micropython_factory, tmp_path):
    # As deployed: mpy-cross output, run in a 64 KiB heap that must not grow.
    firmware = repo_root() / "firmware" / "lib"
    files = {}
    for src in sorted((firmware / "lorafield_node").glob("*.py")):
        out = tmp_path / src.with_suffix(".mpy").name
        compile_file(src, out)
        files["/mpy/lorafield_node/" + out.name] = out.read_bytes()
    compile_file(kat.PATH, tmp_path / "lorawan_kat.mpy")
    files["/mpy/lorawan_kat.mpy"] = (tmp_path / "lorawan_kat.mpy").read_bytes()
    vm = micropython_factory(heap_kib=64)
    vm.write_files(files)
    out = vm.run(
        "import sys\nsys.path.insert(0, '/mpy')\nimport lorawan_kat\nprint(lorawan_kat.__file__)"
    )
    assert out == "/mpy/lorawan_kat.mpy\n"
    # This port only collects garbage between run() calls (gc.collect() is a no-op while code
    # runs), so each part runs in its own call: the heap then bounds what one part allocates.
    lines = []
    for part in kat.PARTS:
        lines += vm.run(
            f"for _l in lorawan_kat.compute(None, ({part!r},)):\n    print(_l)\n"
        ).splitlines()
    got = as_dict(lines)
    check_expected(got, "python")
    assert got == as_dict(kat.compute("python"))


@pytest.mark.micropython
def test_micropython_explicit_backends(micropython):
    out = micropython.run(
        "from lorafield_node.aes import new_aes, available_backends, AesError\n"
        "print(available_backends())\n"
        "for b in ('cryptolib', 'cryptography', 'nope'):\n"
        "    try:\n"
        "        new_aes(bytes(16), b)\n"
        "    except AesError as e:\n"
        "        print(b, 'AesError', e)\n"
    )
    assert out.splitlines() == [
        "['python']",
        "cryptolib AesError AES backend not available: cryptolib",
        "cryptography AesError AES backend not available: cryptography",
        "nope AesError unknown AES backend",
    ]
