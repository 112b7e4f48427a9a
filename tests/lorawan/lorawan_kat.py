# ruff: noqa: UP031 -- MicroPython code: %-formatting is the portable idiom here
# Known-answer program run unchanged by CPython (imported) and by the MicroPython VM (its source
# is sent to the VM). compute(backend) returns "name=value" lines; the tests compare them with
# the vectors of shared/reference/lorawan-facts.md and between the two interpreters.
# Keep it to the language subset both runtimes share.

from lorafield_node import join, maccmd, phy
from lorafield_node.aes import new_aes
from lorafield_node.cmac import Cmac
from lorafield_node.region import region

RFC4493_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
RFC4493_MSG = (
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)


def _h(s):
    return bytes.fromhex(s)


def _x(b):
    return "".join("%02x" % v for v in b)


PARTS = ("aes", "cmac", "join", "data", "region")


def compute(backend, parts=PARTS):
    out = []

    def put(name, value):
        out.append(name + "=" + str(value))

    for part in parts:
        if part == "aes":
            _aes(backend, put)
        elif part == "cmac":
            _cmac(backend, put)
        elif part == "join":
            _join(backend, put)
        elif part == "data":
            _data(backend, put)
        elif part == "region":
            _region(put)
    return out


def _aes(backend, put):
    # FIPS-197 appendix C.1 and B (AES-128).
    put(
        "aes.c1",
        _x(
            new_aes(_h("000102030405060708090a0b0c0d0e0f"), backend).encrypt(
                _h("00112233445566778899aabbccddeeff")
            )
        ),
    )
    put(
        "aes.b",
        _x(new_aes(_h(RFC4493_KEY), backend).encrypt(_h("3243f6a8885a308d313198a2e0370734"))),
    )
    # encrypt_into in place.
    a = new_aes(_h("000102030405060708090a0b0c0d0e0f"), backend)
    blk = bytearray(_h("00112233445566778899aabbccddeeff"))
    a.encrypt_into(blk, blk)
    put("aes.inplace", _x(blk))
    put("aes.backend", a.name)


def _cmac(backend, put):
    # RFC 4493 CMAC, whole and fed in uneven pieces.
    c = Cmac(new_aes(_h(RFC4493_KEY), backend))
    msg = _h(RFC4493_MSG)
    for n in (0, 16, 40, 64):
        put("cmac.%d" % n, _x(c.digest(msg[:n])))
    put("cmac.split40", _x(c.digest(msg[:7], msg[7:23], b"", msg[23:40])))


def _join(backend, put):
    # Join-request MIC (lora-packet) and parse.
    app = new_aes(_h("98929b92c49edba9676d646d3b612456"), backend)
    jr = join.parse_join_request(_h("0039363463336913AA05693574323831330489C65B1304"), app)
    put("jr.parse", "%s %s %d %s" % (_x(jr.join_eui), _x(jr.dev_eui), jr.dev_nonce, _x(jr.mic)))
    put("jr.rebuild", _x(join.build_join_request(app, jr.join_eui, jr.dev_eui, jr.dev_nonce)))

    # Join-request building (ChirpStack lrwn).
    k = new_aes(_h("0102030405060708090a0b0c0d0e0f10"), backend)
    put(
        "jr.build",
        _x(join.build_join_request(k, _h("0101010101010101"), _h("0202020202020202"), 771)),
    )

    # Join-accept 1.0 (ChirpStack lrwn): decrypt + MIC, and the network's plaintext.
    ja = join.open_join_accept(_h("2023cf335489aae3183c0be0baa8dee5f3"), k)
    put(
        "ja.fields",
        "%d %06x %08x %d %d %d %d %s"
        % (
            ja.join_nonce,
            ja.net_id,
            ja.dev_addr,
            ja.rx1_dr_offset,
            ja.rx2_dr,
            ja.rx_delay,
            ja.rx1_delay,
            ja.cflist,
        ),
    )
    put("ja.plain", _x(join.join_accept_plaintext(k, 65793, 0x020202, 0x01020304, 0, 0)))

    # Session keys 1.0.x (lora-packet).
    nwk, apps = join.derive_session_keys(app, 0x376338, 0xAABBCC, 0xF18E)
    put("keys", _x(nwk) + " " + _x(apps))


def _data(backend, put):
    # Data uplink MIC + decrypt (lora-packet).
    s = phy.SessionCrypto(
        _h("44024241ed4ce9a68c6a8bc055233fd3"), _h("ec925802ae430ca77fd3dd73cb2cc588"), backend
    )
    up = _h("40F17DBE4900020001954378762B11FF0D")
    f = phy.open_data(up, s, 2)
    put(
        "up.fields",
        "%d %08x %d %d %s %s" % (f.mtype, f.dev_addr, f.fcnt, f.fport, _x(f.payload), _x(f.mic)),
    )
    put(
        "up.rebuild", _x(phy.build_data(s, phy.UNCONFIRMED_UP, f.dev_addr, 2, 0, b"", 1, f.payload))
    )

    # Confirmed uplink with FOpts = DevStatusAns(115, 7) (ChirpStack lrwn).
    s2 = phy.SessionCrypto(
        _h("0102030405060708090a0b0c0d0e0f10"), _h("100f0e0d0c0b0a090807060504030201"), backend
    )
    fopts = maccmd.encode(maccmd.DEV_STATUS, (115, 7), True)
    put("fopts", _x(fopts))
    buf = bytearray(64)
    n = phy.build_data_into(buf, s2, phy.CONFIRMED_UP, 0x01020304, 0, 0, fopts, 10, _h("01020304"))
    put("confup", _x(buf[:n]))
    g = phy.open_data(bytes(buf[:n]), s2, 0)
    put("confup.cmds", repr(maccmd.parse_commands(g.fopts, True)))
    # The same frame sent as a downlink differs (direction bit in A and B0 blocks).
    put(
        "confdown",
        _x(
            phy.build_data(
                s2, phy.CONFIRMED_DOWN, 0x01020304, 0, phy.FCTRL_ACK, b"", 10, _h("01020304")
            )
        ),
    )


def _region(put):
    # EU868 region tables.
    r = region("EU868")
    put("eu.channels", repr(list(r.default_channels)))
    put("eu.dr", repr([r.dr_params(d) for d in range(r.num_dr())]))
    put("eu.maxpl", repr([r.max_payload(d) for d in range(r.num_dr())]))
    put("eu.rx2", "%d %d" % (r.rx2_frequency, r.rx2_dr))
    put("eu.txpower", repr([r.tx_power_dbm(p) for p in range(8)]))
