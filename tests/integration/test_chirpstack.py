"""`lorafield chirpstack sync/status` against an in-process ChirpStack gRPC API (fake)."""

import datetime
import ipaddress
import json

import grpc
import pytest
from chirpstack_api.api import device_pb2, device_profile_pb2
from chirpstack_api.common import common_pb2
from lorafield_tools.chirpstack.fake import API_KEY, FakeChirpstack
from lorafield_tools.cli import main
from lorafield_tools.codec_export import export_js

TENANT = "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"
APP_KEY_1 = "2b7e151628aed2a6abf7158809cf4f3c"
APP_KEY_2 = "000102030405060708090a0b0c0d0e0f"
NWK_S_KEY = "11111111111111111111111111111111"
APP_S_KEY = "22222222222222222222222222222222"
SECRETS = (API_KEY, APP_KEY_1, APP_KEY_2, NWK_S_KEY, APP_S_KEY)


def fleet_text(name1="bay-01", app_key1=APP_KEY_1):
    return f"""
[defaults]
join_eui = "70b3d57ed0000000"

[[device]]
dev_eui = "70b3d57ed0001001"
name = "{name1}"
kind = "parking"
app_key = "{app_key1}"
location = {{ lat = 52.5201, lon = 13.405 }}
board = "heltec_v2"

[[device]]
dev_eui = "70B3D57ED0001002"
kind = "water_level"
join_eui = "70b3d57ed00000aa"
app_key = "{APP_KEY_2}"

[[device]]
dev_eui = "70b3d57ed0001003"
name = "air-03"
kind = "temperature"
dev_addr = "26011f00"
nwk_s_key = "{NWK_S_KEY}"
app_s_key = "{APP_S_KEY}"
"""


@pytest.fixture
def files(tmp_path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(fleet_text())
    key = tmp_path / "api.key"
    key.write_text(API_KEY + "\n")
    key.chmod(0o600)
    return fleet, key


@pytest.fixture
def cs():
    with FakeChirpstack() as server:
        yield server


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out and secret not in err  # keys never printed
    return status, out, err


def sync(capsys, cs, files, *extra):
    fleet, key = files
    return run(
        capsys,
        "chirpstack",
        "sync",
        "--fleet",
        str(fleet),
        "--server",
        cs.address,
        "--api-key-file",
        str(key),
        "--tenant",
        TENANT,
        *extra,
    )


def test_first_sync_creates_profiles_application_devices_and_keys(capsys, cs, files):
    status, out, err = sync(capsys, cs, files)
    assert status == 0, err
    state = cs.state
    # Device profiles: OTAA (and ABP, for device 3), EU868, 1.0.4, class A, our JS codec.
    profiles = {p.name: p for p in state.profiles.values()}
    assert set(profiles) == {"lorafield-otaa", "lorafield-abp"}
    for name, profile in profiles.items():
        assert profile.tenant_id == TENANT
        assert profile.region == common_pb2.Region.EU868
        assert profile.mac_version == common_pb2.MacVersion.LORAWAN_1_0_4
        assert profile.reg_params_revision == common_pb2.RegParamsRevision.RP002_1_0_4
        assert profile.supports_otaa == (name == "lorafield-otaa")
        assert not profile.supports_class_b and not profile.supports_class_c
        assert profile.payload_codec_runtime == device_profile_pb2.CodecRuntime.JS
        assert profile.payload_codec_script == export_js("chirpstack")
    abp = profiles["lorafield-abp"]
    assert (abp.abp_rx1_delay, abp.abp_rx2_dr, abp.abp_rx2_freq) == (1, 0, 869_525_000)
    # Application.
    (app,) = state.applications.values()
    assert (app.name, app.tenant_id) == ("lorafield", TENANT)
    # Devices, field by field.
    d1 = state.devices["70b3d57ed0001001"]
    assert d1.name == "bay-01"
    assert d1.application_id == app.id
    assert d1.device_profile_id == profiles["lorafield-otaa"].id
    assert d1.join_eui == "70b3d57ed0000000"
    assert dict(d1.tags) == {
        "lorafield_kind": "parking",
        "board": "heltec_v2",
        "lat": "52.5201",
        "lon": "13.405",
    }
    d2 = state.devices["70b3d57ed0001002"]  # upper-case DevEUI in the file: hex lower-case
    assert d2.name == "70b3d57ed0001002" and d2.join_eui == "70b3d57ed00000aa"
    d3 = state.devices["70b3d57ed0001003"]
    assert d3.device_profile_id == profiles["lorafield-abp"].id
    # OTAA keys: the LoRaWAN 1.0.x AppKey goes in nwk_key.
    assert state.keys["70b3d57ed0001001"].nwk_key == APP_KEY_1
    assert state.keys["70b3d57ed0001002"].nwk_key == APP_KEY_2
    assert state.keys["70b3d57ed0001001"].app_key == "0" * 32  # 1.1 only; must still parse
    assert "70b3d57ed0001003" not in state.keys
    # ABP: one Activate with the 1.0.x NwkSKey in the three network key fields.
    session = state.activations["70b3d57ed0001003"]
    assert session.dev_addr == "26011f00" and session.app_s_key == APP_S_KEY
    nwk = (session.nwk_s_enc_key, session.s_nwk_s_int_key, session.f_nwk_s_int_key)
    assert nwk == (NWK_S_KEY,) * 3
    writes = [m for m, _ in state.writes()]
    assert sorted(writes) == sorted(
        ["DeviceProfileService.Create"] * 2
        + ["ApplicationService.Create"]
        + ["DeviceService.Create"] * 3
        + ["DeviceService.CreateKeys"] * 2
        + ["DeviceService.Activate"]
    )
    assert "created 9, updated 0" in out.splitlines()[-1]
    assert "device 70b3d57ed0001001 (bay-01): created" in out


@pytest.mark.parametrize(
    "region, enum, rx2",
    [
        # RP002-1.0.4 2.5.7 / 2.8.7: RX2 923.3 MHz DR8; 2.10.7: 923.2 MHz - 1.8 MHz
        # (AS923-2) DR2; ChirpStack's common.Region names.
        ("US915", common_pb2.Region.US915, (8, 923_300_000)),
        ("AU915", common_pb2.Region.AU915, (8, 923_300_000)),
        ("AS923-2", common_pb2.Region.AS923_2, (2, 921_400_000)),
        ("KR920", common_pb2.Region.KR920, (0, 921_900_000)),
    ],
)
def test_the_fleets_region_makes_its_own_profiles(capsys, cs, files, region, enum, rx2):
    assert sync(capsys, cs, files)[0] == 0  # an EU868 fleet first, in the same tenant
    files[0].write_text(f'region = "{region}"\n' + fleet_text())
    status, out, err = sync(capsys, cs, files)
    assert status == 0, err
    profiles = {p.name: p for p in cs.state.profiles.values()}
    suffix = "-" + region.lower()
    assert set(profiles) == {
        "lorafield-otaa",
        "lorafield-abp",
        "lorafield-otaa" + suffix,
        "lorafield-abp" + suffix,
    }
    assert profiles["lorafield-otaa"].region == common_pb2.Region.EU868  # left alone
    assert profiles["lorafield-otaa" + suffix].region == enum
    abp = profiles["lorafield-abp" + suffix]
    assert (abp.region, abp.abp_rx1_delay, abp.abp_rx2_dr, abp.abp_rx2_freq) == (enum, 1, *rx2)
    d1 = cs.state.devices["70b3d57ed0001001"]
    assert d1.device_profile_id == profiles["lorafield-otaa" + suffix].id


def test_second_sync_changes_nothing_and_says_so(capsys, cs, files):
    assert sync(capsys, cs, files)[0] == 0
    before = len(cs.state.writes())
    status, out, _ = sync(capsys, cs, files)
    assert status == 0
    assert len(cs.state.writes()) == before  # only Get/List calls the second time
    assert out.strip() == "chirpstack sync: nothing to change (9 unchanged)"
    status, out, _ = sync(capsys, cs, files, "--verbose")
    assert "device 70b3d57ed0001001 (bay-01): unchanged" in out
    assert "OTAA keys 70b3d57ed0001001: unchanged" in out


def test_a_changed_fleet_updates_only_the_differences(capsys, cs, files, tmp_path):
    assert sync(capsys, cs, files)[0] == 0
    files[0].write_text(fleet_text(name1="bay-01-north", app_key1="ff" * 16))
    profile_id = next(p.id for p in cs.state.profiles.values() if p.name == "lorafield-otaa")
    cs.state.profiles[profile_id].payload_codec_script = "// an older codec"
    cs.state.profiles[profile_id].tags["owner"] = "ops"  # not ours: kept on update
    cs.state.devices["70b3d57ed0001001"].variables["site"] = "north"  # kept on update
    before = len(cs.state.writes())
    status, out, _ = sync(capsys, cs, files)
    assert status == 0
    new = cs.state.writes()[before:]
    assert [m for m, _ in new] == [
        "DeviceProfileService.Update",
        "DeviceService.Update",
        "DeviceService.UpdateKeys",
    ]
    profile = new[0][1].device_profile
    assert profile.payload_codec_script == export_js("chirpstack")
    assert dict(profile.tags) == {"owner": "ops"}
    device = new[1][1].device
    assert device.name == "bay-01-north" and dict(device.variables) == {"site": "north"}
    assert new[2][1].device_keys.nwk_key == "ff" * 16
    assert "device profile lorafield-otaa: updated (payload_codec_script)" in out
    assert "device 70b3d57ed0001001 (bay-01-north): updated (name)" in out
    assert "OTAA keys 70b3d57ed0001001: updated (AppKey)" in out
    assert "created 0, updated 3, 6 unchanged" in out


def test_dry_run_prints_the_plan_and_writes_nothing(capsys, cs, files):
    status, out, _ = sync(capsys, cs, files, "--dry-run")
    assert status == 0
    assert cs.state.writes() == []
    lines = out.splitlines()
    assert "device profile lorafield-otaa: would create" in lines
    assert "OTAA keys 70b3d57ed0001002: would create (AppKey)" in lines
    assert "ABP session 70b3d57ed0001003: would create (DevAddr, session keys)" in lines
    assert lines[-1].endswith("would create 9, update 0; 0 unchanged; nothing written")


def test_every_call_carries_the_api_key_as_bearer_token(capsys, cs, files):
    assert sync(capsys, cs, files)[0] == 0
    # The fake aborts any call without "authorization: Bearer <key>": all of them got through.
    assert len(cs.state.calls) > 10


def test_wrong_api_key_gives_one_clear_line(capsys, cs, files):
    files[1].write_text("not-the-key\n")
    status, out, err = sync(capsys, cs, files)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert "UNAUTHENTICATED" in err and "--api-key-file" in err
    assert "not-the-key" not in err
    assert cs.state.writes() == []


def test_unknown_application_is_not_found(capsys, cs, files):
    status, _, err = sync(
        capsys, cs, files, "--application", "0b5e9a4e-0000-0000-0000-000000000000"
    )
    assert status == 1 and err.count("\n") == 1
    assert "application 0b5e9a4e-0000-0000-0000-000000000000: not found (NOT_FOUND" in err


def test_given_application_is_used(capsys, cs, files):
    assert sync(capsys, cs, files)[0] == 0
    (app,) = cs.state.applications.values()
    cs.state.calls.clear()
    status, out, _ = sync(capsys, cs, files, "--application", app.id)
    assert status == 0 and "nothing to change" in out
    assert ("ApplicationService.Get") in cs.state.methods()
    assert "ApplicationService.List" not in cs.state.methods()


def test_device_existing_elsewhere_gives_already_exists(capsys, cs, files):
    cs.state.fail["DeviceService.Create"] = (
        grpc.StatusCode.ALREADY_EXISTS,
        "Object already exists",
    )
    status, _, err = sync(capsys, cs, files)
    assert status == 1 and err.count("\n") == 1
    assert "creating device 70b3d57ed0001001: already exists in ChirpStack (ALREADY_EXISTS" in err
    assert "another application or tenant" in err


def test_device_in_another_application_is_refused_before_any_write(capsys, cs, files):
    assert sync(capsys, cs, files)[0] == 0
    cs.state.devices["70b3d57ed0001002"].application_id = "someone-elses-app"
    before = len(cs.state.writes())
    status, _, err = sync(capsys, cs, files)
    assert status == 1
    assert "device 70b3d57ed0001002 is already in application someone-elses-app" in err
    assert len(cs.state.writes()) == before


def test_unreachable_server_and_bad_inputs(capsys, files, tmp_path):
    fleet, key = files
    base = ["chirpstack", "sync", "--fleet", str(fleet), "--tenant", TENANT, "--timeout", "2"]
    with FakeChirpstack() as gone:
        address = gone.address
    status, _, err = run(capsys, *base, "--server", address, "--api-key-file", str(key))
    assert status == 1 and "cannot reach ChirpStack at " + address in err
    missing = str(tmp_path / "nope.key")
    status, _, err = run(capsys, *base, "--server", address, "--api-key-file", missing)
    assert status == 2 and "API key file: cannot read" in err and err.count("\n") == 1
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    empty.chmod(0o600)
    status, _, err = run(capsys, *base, "--server", address, "--api-key-file", str(empty))
    assert status == 2 and "must hold the secret on one line" in err
    key.chmod(0o644)  # every user of the machine could read it: no secret any more
    status, _, err = run(capsys, *base, "--server", address, "--api-key-file", str(key))
    assert status == 2 and "can be read by every user (mode 0644): chmod 600" in err
    assert API_KEY not in err
    key.chmod(0o600)
    bad_fleet = tmp_path / "bad.toml"
    bad_fleet.write_text('[[device]]\ndev_eui = "zz"\n')
    argv = ["chirpstack", "sync", "--fleet", str(bad_fleet), "--tenant", TENANT]
    status, _, err = run(capsys, *argv, "--server", address, "--api-key-file", str(key))
    assert status == 2 and err.startswith(f"lorafield chirpstack sync: {bad_fleet}: ")
    assert err.count("\n") == 1


def test_server_and_ca_file_are_checked_before_any_connection(capfd, files, tmp_path):
    fleet, key = files
    base = ["chirpstack", "status", "--fleet", str(fleet), "--api-key-file", str(key)]
    for server in ("localhost", "localhost:99999", "localhost:http", "http://cs:8080"):
        status, out, err = run(capfd, *base, "--server", server)
        assert status == 2 and out == "" and err.count("\n") == 1, (server, err)
        assert err.startswith("lorafield chirpstack status: argument --server: expected HOST:PORT")
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    # gRPC would take it, log its own lines on the process's stderr and go on with no roots.
    status, out, err = run(capfd, *base, "--server", "localhost:1", "--ca-file", str(not_pem))
    assert status == 2 and out == ""
    assert err == f"lorafield chirpstack status: CA file {not_pem} holds no PEM certificate\n"
    missing = tmp_path / "none.pem"
    status, _, err = run(capfd, *base, "--server", "localhost:1", "--ca-file", str(missing))
    assert status == 2
    assert err == (
        f"lorafield chirpstack status: cannot read CA file {missing} (No such file or directory)\n"
    )


def test_status_lists_last_seen_devaddr_counters_and_battery(capsys, cs, files):
    assert sync(capsys, cs, files)[0] == 0
    seen = datetime.datetime(2026, 11, 26, 7, 30, 5, tzinfo=datetime.UTC)
    cs.state.device_extra["70b3d57ed0001001"] = {
        "last_seen_at": seen,
        "device_status": device_pb2.DeviceStatus(margin=9, battery_level=87.5),
    }
    cs.state.activations["70b3d57ed0001001"] = device_pb2.DeviceActivation(
        dev_eui="70b3d57ed0001001", dev_addr="01ab23cd", f_cnt_up=42, n_f_cnt_down=3
    )
    cs.state.device_extra["70b3d57ed0001003"] = {
        "device_status": device_pb2.DeviceStatus(external_power_source=True, battery_level=-1)
    }
    del cs.state.devices["70b3d57ed0001002"]  # deleted in ChirpStack meanwhile
    fleet, key = files
    argv = ["chirpstack", "status", "--fleet", str(fleet), "--server", cs.address]
    status, out, _ = run(capsys, *argv, "--api-key-file", str(key), "--json")
    assert status == 0
    rows = {r["dev_eui"]: r for r in map(json.loads, out.splitlines())}
    one = rows["70b3d57ed0001001"]
    assert one["last_seen"] == "2026-11-26T07:30:05Z"
    assert (one["dev_addr"], one["f_cnt_up"], one["n_f_cnt_down"]) == ("01ab23cd", 42, 3)
    assert (one["battery"], one["margin_db"], one["kind"]) == (87.5, 9, "parking")
    assert rows["70b3d57ed0001002"]["registered"] is False
    three = rows["70b3d57ed0001003"]
    assert three["battery"] == "external" and three["dev_addr"] == "26011f00"
    assert three["last_seen"] is None
    status, out, _ = run(capsys, *argv, "--api-key-file", str(key))
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["DEV_EUI", "NAME", "KIND"] and len(lines) == 4
    assert "2026-11-26T07:30:05Z" in lines[1] and "87.5%" in lines[1] and "01ab23cd" in lines[1]
    assert "not in ChirpStack" in lines[2]
    assert "never" in lines[3] and "external" in lines[3]


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lorafield test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert_pem)
    return grpc.ssl_server_credentials([(key_pem, cert_pem)]), ca


def test_tls_with_a_ca_file(capsys, files, tmp_path):
    credentials, ca = _self_signed(tmp_path)
    with FakeChirpstack(credentials) as server:
        status, out, err = sync(capsys, server, files, "--ca-file", str(ca))
        assert status == 0, err
        assert "created 9" in out
        # Plain text against the TLS port fails with one clear line.
        status, _, err = sync(capsys, server, files, "--timeout", "2")
        assert status == 1 and "cannot reach ChirpStack" in err
