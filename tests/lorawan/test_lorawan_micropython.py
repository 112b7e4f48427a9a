"""The protocol core under the real MicroPython VM, compared byte for byte with CPython on
seeded random inputs (pure-Python AES there: the WebAssembly VM has no cryptolib)."""

from __future__ import annotations

import random

import pytest
from lorafield_node import join, maccmd, phy
from lorafield_node.aes import new_aes

pytestmark = pytest.mark.micropython

NWK = bytes(range(16))
APP = bytes(range(16, 32))


def random_frames(n: int, seed: int) -> list[tuple]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        mtype = rnd.choice([2, 3, 4, 5])
        fport = rnd.choice([None, 0, rnd.randrange(1, 256)])
        fopts = b"" if fport == 0 else rnd.randbytes(rnd.randrange(16))
        payload = b"" if fport is None else rnd.randbytes(rnd.randrange(60))
        out.append(
            (
                mtype,
                rnd.randrange(1 << 32),
                rnd.randrange(1 << 32),
                rnd.choice([0, 0x80, 0xA0, 0x50]),
                fopts,
                fport,
                payload,
            )
        )
    return out


def test_data_frames_match_cpython(micropython):
    cases = random_frames(25, seed=4)
    crypto = phy.SessionCrypto(NWK, APP, "cryptography")
    want = [phy.build_data(crypto, *c).hex() for c in cases]
    out = micropython.run(
        "from lorafield_node import phy\n"
        f"c = phy.SessionCrypto({NWK!r}, {APP!r})\n"
        f"for args in {cases!r}:\n"
        "    raw = phy.build_data(c, *args)\n"
        "    f = phy.open_data(raw, c, args[2])\n"
        "    assert f.payload == args[6] and f.fopts == args[4], args\n"
        "    print(raw.hex())\n"
    )
    assert out.split() == want


def test_join_and_keys_match_cpython(micropython):
    rnd = random.Random(7)
    cases = [
        (rnd.randbytes(16), rnd.randbytes(8), rnd.randbytes(8), rnd.randrange(1 << 16))
        for _ in range(6)
    ]
    want = []
    for key, join_eui, dev_eui, nonce in cases:
        app = new_aes(key, "cryptography")
        want.append(join.build_join_request(app, join_eui, dev_eui, nonce).hex())
        nwk_s, app_s = join.derive_session_keys(app, nonce * 7, nonce * 3, nonce)
        want.append(nwk_s.hex() + app_s.hex())
        cflist = join.cflist_frequencies([867100000 + 200000 * (nonce % 4)])
        want.append(join.join_accept_plaintext(app, nonce, 0x13, nonce << 9, 0x21, 5, cflist).hex())
    out = micropython.run(
        "from lorafield_node import join\n"
        "from lorafield_node.aes import new_aes\n"
        f"for key, je, de, nonce in {cases!r}:\n"
        "    app = new_aes(key)\n"
        "    print(join.build_join_request(app, je, de, nonce).hex())\n"
        "    n, a = join.derive_session_keys(app, nonce * 7, nonce * 3, nonce)\n"
        "    print(n.hex() + a.hex())\n"
        "    cf = join.cflist_frequencies([867100000 + 200000 * (nonce % 4)])\n"
        "    print(join.join_accept_plaintext(app, nonce, 0x13, nonce << 9, 0x21, 5, cf).hex())\n"
    )
    assert out.split() == want


def test_mac_commands_match_cpython(micropython):
    down = [
        (maccmd.LINK_ADR, (5, 2, 0x00FF, 6, 3)),
        (maccmd.RX_PARAM_SETUP, (2, 3, 869525000)),
        (maccmd.NEW_CHANNEL, (4, 867500000, 0, 5)),
        (maccmd.DEVICE_TIME, (1400000000, 200)),
        (maccmd.DEV_STATUS, ()),
    ]
    raw = b"".join(maccmd.encode(c, f, False) for c, f in down)
    out = micropython.run(
        "from lorafield_node import maccmd\n"
        f"cmds = maccmd.parse_commands({raw!r}, False)\n"
        "print(repr(cmds))\n"
        "print(b''.join(maccmd.encode(c, f, False) for c, f in cmds).hex())\n"
        "try:\n"
        "    maccmd.parse_commands(b'\\x06\\x73\\x07\\x0b', True)\n"
        "except maccmd.MacCommandError as e:\n"
        "    print(e.reason, repr(e.parsed))\n"
    )
    lines = out.splitlines()
    assert lines[0] == repr(down)
    assert lines[1] == raw.hex()
    assert lines[2] == "unknown CID 0x0b ((6, (115, 7)),)"


def test_errors_are_typed_in_micropython(micropython):
    out = micropython.run(
        "from lorafield_node import phy, join\n"
        "from lorafield_node.aes import new_aes\n"
        "a = new_aes(bytes(16))\n"
        "c = phy.SessionCrypto(bytes(16), bytes(16))\n"
        "bad = [b'', b'\\x41' + bytes(12), b'\\x40\\x00\\x00\\x00\\x00\\x0f' + bytes(8),\n"
        "       b'\\x40' + bytes(16)]\n"
        "for raw in bad:\n"
        "    try:\n"
        "        phy.open_data(raw, c, 0)\n"
        "    except phy.FrameError as e:\n"
        "        print(type(e).__name__, isinstance(e, ValueError), e.reason)\n"
        "for raw in (b'\\x20' + bytes(16), b'\\x20' + bytes(5)):\n"
        "    try:\n"
        "        join.open_join_accept(raw, a)\n"
        "    except phy.FrameError as e:\n"
        "        print(e.reason)\n"
    )
    assert out.splitlines() == [
        "FrameError True empty frame",
        "FrameError True unsupported Major version",
        "FrameError True FOptsLen beyond frame",
        "FrameError True MIC mismatch",
        "MIC mismatch",
        "Join-accept must be 17 or 33 bytes",
    ]


def test_pure_python_aes_random_blocks_match_cpython(micropython):
    rnd = random.Random(11)
    cases = [(rnd.randbytes(16), rnd.randbytes(16)) for _ in range(20)]
    want = [new_aes(k, "cryptography").encrypt(b).hex() for k, b in cases]
    out = micropython.run(
        "from lorafield_node.aes import new_aes\n"
        f"for k, b in {cases!r}:\n"
        "    print(new_aes(k).encrypt(b).hex())\n"
    )
    assert out.split() == want


def test_uplink_build_and_mic_check_allocate_nothing(micropython):
    # This port never collects while code runs, so gc.mem_alloc() deltas are exact here.
    out = micropython.run(
        "import gc\n"
        "from lorafield_node import phy\n"
        "c = phy.SessionCrypto(bytes(16), bytes(range(16)))\n"
        "buf = bytearray(64)\n"
        "payload = bytes(40)\n"
        "fopts = b'\\x06\\x73\\x07'\n"
        "down = phy.build_data(c, 3, 0x26011234, 7, 0x20, b'', 1, b'hello')\n"
        "check_mic = phy.check_mic  # loads phyrx, the receive side, on first use\n"
        "i = n = ok = a0 = 0  # the globals exist before the measurement\n"
        "a0 = gc.mem_alloc()\n"
        "for i in range(50):\n"
        "    n = phy.build_data_into(buf, c, 4, 0x26011234, i, 0x80, fopts, 9, payload)\n"
        "    ok = check_mic(down, c, 7)\n"
        "print(gc.mem_alloc() - a0, n, ok)\n"
    )
    assert out.split() == ["0", str(13 + 3 + 40), "True"]
