"""The TS009 test app end to end: the real firmware (lorafield_node.apps.start with
``certification`` on) on an emulated board, the air, an emulated gateway and the local
network server; the harness (lorafield_tools.conformance) queues FPort 224 downlinks through
the server and checks the node's uplinks. Each case must pass, and each must be able to fail:
the firmware broken on purpose makes the case that tests it fail, saying why."""

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lorafield_node.region import NAMES
from lorafield_tools import cli
from lorafield_tools import conformance as conf
from lorafield_tools.conformance import cases, world


def results_by_name(**kwargs):
    return {r.name: r for r in conf.run_cases(**kwargs)}


def test_every_case_passes_on_eu868():
    results = conf.run_cases()
    names = [r.name for r in results]
    assert names == [c[0] for c in cases.CASES] + [cases.PRODUCTION[0]]
    failed = [(r.name, r.detail) for r in results if not r.passed]
    assert failed == []
    assert all(r.detail and r.section for r in results)


def keystream_decrypt(key, dev_addr, fcnt, payload):
    """FRMPayload decryption (LoRaWAN 1.0.4 4.3.3: A blocks under AES-128, uplink), written
    here from the spec with `cryptography`, not the firmware's or the server's code."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    out = bytearray()
    for i in range((len(payload) + 15) // 16):
        a = (
            bytes([1, 0, 0, 0, 0, 0])
            + dev_addr.to_bytes(4, "little")
            + fcnt.to_bytes(4, "little")
            + bytes([0, i + 1])
        )
        s = enc.update(a)
        out += bytes(p ^ k for p, k in zip(payload[16 * i : 16 * i + 16], s, strict=False))
    return bytes(out)


def test_fport_224_answers_are_encrypted_with_the_appskey_on_the_air():
    """TS009 (introduction): certification messages are application messages, encrypted
    with the AppSKey. The answer's bytes on the air decrypt with the session's AppSKey."""
    tool = world.TestTool(world.DutField(seed=3))
    cases.activation(tool)
    answer, up, _ = tool.ask(b"\x08\x01\x02\x03")
    assert answer == b"\x08\x02\x03\x04"
    frame = tool.field.server.frames[up.index]
    phy = bytes.fromhex(frame["phy_hex"])
    nfo = phy[5] & 0x0F
    assert phy[8 + nfo] == 224  # FPort on the air
    on_air = phy[9 + nfo : -4]
    assert on_air != answer  # encrypted
    # AppSKey = aes128_encrypt(AppKey, 0x02 | JoinNonce | NetID | DevNonce | pad16)
    # (LoRaWAN 1.0.4 6.2.5), from the join the server logged (NetID 0).
    join = tool.field.events("join")[-1].detail
    block = (
        b"\x02"
        + join["join_nonce"].to_bytes(3, "little")
        + bytes(3)
        + join["dev_nonce"].to_bytes(2, "little")
    ).ljust(16, b"\x00")
    enc = Cipher(algorithms.AES(tool.field.test_app_key), modes.ECB()).encryptor()
    app_s_key = enc.update(block)
    dev_addr = int(frame["dev_addr"], 16)
    assert keystream_decrypt(app_s_key, dev_addr, up.fcnt, on_air) == answer


def test_the_test_mode_frames_are_all_legal_frames_for_the_server():
    """No uplink of the whole sequence was refused, replayed or de-duplicated away."""
    tool = world.TestTool(world.DutField(seed=2))
    for _, _, fn in cases.CASES:
        fn(tool)
    field = tool.field
    assert not field.events("uplink_rejected")
    assert not field.events("join_rejected")
    ups = field.uplinks()
    per_session = {}
    for u in ups:
        per_session.setdefault(u.dev_addr, []).append(u.fcnt)
    for fcnts in per_session.values():  # strictly increasing within each session
        assert fcnts == sorted(set(fcnts))
    assert len(per_session) == 2  # the DutJoinReq started the second


BROKEN = [
    # (what is broken in the firmware, how, the case that must fail, words of its detail)
    (
        "periods",
        ("lorafield_node.testapp", "_PERIODS_5S", b"\x01" * 10),
        "TxPeriodicityChangeReq",
        "not 10 s",
    ),
    (
        "echo",
        ("lorafield_node.testapp", "_ECHO_PAYLOAD_REQ", 0x99),
        "EchoPayloadReq (+1 per byte)",
        "no 1 uplink(s) on FPort 224",
    ),
    (
        "rx-app-cnt",
        ("lorafield_node.testapp", "_RX_APP_CNT_RESET_REQ", 0x99),
        "RxAppCntReq and RxAppCntResetReq",
        "RxAppCnt [",
    ),
    (
        "versions",
        ("lorafield_node.testapp", "_VERSIONS", b"\x01\x00\x03\x00\x02\x01\x00\x03"),
        "DutVersionReq",
        "DutVersionAns",
    ),
]


@pytest.mark.parametrize(
    ("patch", "case", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_broken_firmware_fails_its_case(monkeypatch, patch, case, words):
    module, name, value = patch
    monkeypatch.setattr(f"{module}.{name}", value)
    results = results_by_name(cases=[case])
    assert not results[case].passed
    assert words in results[case].detail


def test_duty_cycle_that_cannot_be_switched_off_fails_its_case(monkeypatch):
    from lorafield_node.dutycycle import DutyCycle

    stuck = property(lambda s: True, lambda s, v: None)  # always on, whatever is set
    monkeypatch.setattr(DutyCycle, "regional", stuck, raising=False)
    r = results_by_name(cases=["duty_cycle"])["RegionalDutyCycleCtrlReq off / on"]
    assert not r.passed and "with the limits off" in r.detail


def test_a_node_without_test_mode_fails_activation_and_one_that_answers_fails_production(
    monkeypatch,
):
    real = world.DutField

    def flipped(seed=1, certification=True, *args, **kw):
        return real(seed, not certification, *args, **kw)

    monkeypatch.setattr(conf, "DutField", flipped)
    results = results_by_name(cases=["activation", "production"])
    assert not results["activation and test mode"].passed
    assert "uplink(s) in 32 s after the join" in results["activation and test mode"].detail
    assert not results["FPort 224 ignored in production"].passed


def test_bench_prints_the_table_and_the_left_out_cases(capsys):
    assert cli.main(["bench", "conformance"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("test case"))
    assert [c.strip() for c in lines[header].split("|")] == [
        "test case",
        "spec section",
        "result",
        "detail",
    ]
    rows = lines[header + 2 : header + 2 + len(cases.CASES) + 1]
    assert all(row.split("|")[2].strip() == "PASS" for row in rows), rows
    assert "left out:" in out and "TxCwReq (TS009 5.14)" in out and "Class B" in out
    assert f"{len(rows)} of {len(rows)} cases passed" in out


def test_bench_exits_1_naming_the_failed_case(monkeypatch, capsys):
    monkeypatch.setattr("lorafield_node.testapp._PACKAGE_ID", 7)
    assert cli.main(["bench", "conformance"]) == 1
    captured = capsys.readouterr()
    failed = [r for r in captured.out.splitlines() if r.count("|") == 3 and "FAIL" in r]
    assert [r.split("|")[0].strip() for r in failed] == ["PackageVersionReq"]
    err = captured.err.strip().splitlines()
    assert err == ["lorafield bench conformance: 1 case(s) failed: PackageVersionReq"]


@pytest.mark.parametrize("region", [n for n in NAMES if n != "EU868"])
def test_every_case_passes_in_the_other_regions(region):
    """The same sequences with node, gateway and server on another region's plan (US915 and
    AU915 on sub-band 2); where a region has no duty-cycle limit the case says so."""
    results = conf.run_cases(region)
    assert [(r.name, r.detail) for r in results if not r.passed] == []
    duty = next(r for r in results if r.name.startswith("RegionalDutyCycleCtrlReq"))
    assert "no duty-cycle limit" in duty.detail  # of these plans only EU868 has one


def test_bench_unknown_region_is_a_user_error(capsys):
    assert cli.main(["bench", "conformance", "--region", "MARS"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lorafield bench conformance: --region MARS")
    assert "not one of EU868, US915" in err[0] and "Traceback" not in err[0]
