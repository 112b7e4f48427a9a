"""The fleet file: parse, validate with located one-line errors, append 0600, no keys leaked."""

import os
import stat

import pytest
from lorafield_gateway.fleet import FleetDevice, FleetError, append_devices, load_fleet

APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
NWK_S_KEY = "44024241ed4ce9a68c6a8bc055233fd3"
APP_S_KEY = "ec925802ae430ca77fd3dd73cb2cc588"

GOOD = f"""
[defaults]
join_eui = "70b3d57ed0000000"

[[device]]
dev_eui = "70b3d57ed0001001"
name = "bay-01"
kind = "parking"
app_key = "{APP_KEY}"
location = {{ lat = 52.52, lon = 13.405 }}
board = "heltec_v2"
settings = {{ interval_s = 3600 }}

[[device]]
dev_eui = "70B3D57ED0001002"
kind = "temperature"
dev_addr = "26011f00"
nwk_s_key = "{NWK_S_KEY}"
app_s_key = "{APP_S_KEY}"
"""


def write(tmp_path, text, name="fleet.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_otaa_and_abp_devices_with_defaults(tmp_path):
    fleet = load_fleet(write(tmp_path, GOOD))
    first, second = fleet.devices
    assert first.otaa and not first.abp
    assert first.join_eui == bytes.fromhex("70b3d57ed0000000")
    assert first.app_key == bytes.fromhex(APP_KEY)
    assert first.location == {"lat": 52.52, "lon": 13.405}
    assert first.settings == {"interval_s": 3600}
    assert second.abp and not second.otaa and second.dev_addr == 0x26011F00
    assert fleet.get("70b3d57ed0001002") is second
    assert fleet.get("not hex") is None
    registry = fleet.registry()
    assert len(registry) == 2
    assert registry.get("70b3d57ed0001001").kind == "parking"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"70B3D57ED0001002"', '"70b3d57ed0001001"'), "duplicate dev_eui"),
        (lambda t: t.replace('"70b3d57ed0001001"', '"70b3d57ed00010"'), "dev_eui must be 8 bytes"),
        (lambda t: t.replace(APP_KEY, APP_KEY[:-2]), "app_key must be 16 bytes"),
        (lambda t: t.replace(APP_KEY, "zz" + APP_KEY[2:]), "app_key is not hex"),
        (lambda t: t.replace('kind = "parking"', 'kind = "radar"'), "kind must be one of"),
        (lambda t: t.replace('dev_addr = "26011f00"', ""), "dev_addr missing"),
        (lambda t: t.replace("lat = 52.52", "lat = 152.52"), "location.lat out of range"),
        (lambda t: t.replace('board = "heltec_v2"', 'bord = "x"'), "unknown key 'bord'"),
        (lambda t: t.replace('join_eui = "70b3d57ed0000000"', ""), "join_eui is missing"),
        (lambda t: t + "\n[[device]\n", "not valid TOML"),
    ],
)
def test_invalid_files_give_one_located_line_without_secrets(tmp_path, edit, message):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(FleetError) as info:
        load_fleet(path)
    text = str(info.value)
    assert message in text
    assert str(path) in text and "\n" not in text
    for secret in (APP_KEY, NWK_S_KEY, APP_S_KEY, APP_KEY[:-2]):
        assert secret not in text.lower()


def test_missing_file_is_a_fleet_error(tmp_path):
    with pytest.raises(FleetError, match="no such fleet file"):
        load_fleet(tmp_path / "absent.toml")


def test_append_creates_a_private_file_and_round_trips(tmp_path):
    path = tmp_path / "new.toml"
    device = FleetDevice(
        bytes.fromhex("0011223344556677"),
        "water_level",
        name='basin "north"',
        join_eui=bytes.fromhex("70b3d57ed0000000"),
        app_key=bytes.fromhex(APP_KEY),
        location={"lat": 1.5, "lon": -2.25},
        settings={"mount_height_mm": 3000},
    )
    fleet = append_devices(path, [device], defaults={"join_eui": "70b3d57ed0000000"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_fleet(path)
    (loaded,) = again.devices
    assert (loaded.name, loaded.kind) == ('basin "north"', "water_level")
    assert loaded.app_key == device.app_key
    assert loaded.settings == {"mount_height_mm": 3000}
    assert len(fleet) == 1


def test_a_bad_append_leaves_the_file_untouched(tmp_path):
    path = write(tmp_path, GOOD)
    before = path.read_bytes()
    duplicate = load_fleet(path).devices[0]
    with pytest.raises(FleetError, match="duplicate dev_eui"):
        append_devices(path, [duplicate])
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_repr_and_public_dict_hide_keys(tmp_path):
    fleet = load_fleet(write(tmp_path, GOOD))
    for device in fleet:
        shown = repr(device) + repr(device.public_dict())
        for secret in (APP_KEY, NWK_S_KEY, APP_S_KEY):
            assert secret not in shown
    assert fleet.devices[1].public_dict()["dev_addr"] == "26011f00"


def test_a_fleet_file_that_is_not_utf8_is_a_fleet_error(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_bytes('[[device]]\nname = "Straße"\n'.encode("latin-1"))
    with pytest.raises(FleetError, match="not UTF-8 text"):
        load_fleet(path)
