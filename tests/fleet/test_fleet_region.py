"""The fleet's region: one for all its devices (top-level `region`, `sub_bands`), given to
every device's settings for deploy, checked against the gateway's, written by provisioning."""

import json

import pytest
from lorafield_gateway.fleet import FleetError, append_devices, load_fleet
from lorafield_tools.cli import main
from lorafield_tools.workbench.config import device_config

APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"

DEVICES = f"""
[defaults]
join_eui = "70b3d57ed0000000"

[[device]]
dev_eui = "70b3d57ed0001001"
kind = "parking"
app_key = "{APP_KEY}"

[[device]]
dev_eui = "70b3d57ed0001002"
kind = "temperature"
app_key = "{APP_KEY}"
settings = {{ interval_s = 600 }}
"""


def write(tmp_path, head):
    path = tmp_path / "fleet.toml"
    path.write_text(head + DEVICES)
    return path


def test_a_fleet_without_region_is_eu868_and_its_devices_unchanged(tmp_path):
    fleet = load_fleet(write(tmp_path, ""))
    assert (fleet.region, fleet.sub_bands) == ("EU868", ())
    assert [d.settings for d in fleet] == [{}, {"interval_s": 600}]


def test_the_fleets_region_reaches_every_devices_config(tmp_path):
    fleet = load_fleet(write(tmp_path, 'region = "US915"\nsub_bands = [2]\n'))
    assert (fleet.region, fleet.sub_bands) == ("US915", (2,))
    first, second = fleet
    assert first.settings == {"region": "US915", "sub_bands": [2]}
    assert second.settings == {"region": "US915", "sub_bands": [2], "interval_s": 600}
    # deploy's device config passes the firmware's own check of region and sub-bands
    config = json.loads(device_config(second, "pico_rfm95w"))
    assert (config["region"], config["sub_bands"], config["interval_s"]) == ("US915", [2], 600)


@pytest.mark.parametrize(
    "head, message",
    [
        ('region = "US902"\n', "region must be one of EU868, US915, AU915"),
        ('region = "EU868"\nsub_bands = [2]\n', "sub_bands: EU868 has no sub-bands"),
        ('region = "US915"\nsub_bands = [9]\n', "sub_bands must be a list of sub-bands 1..8"),
        ('region = "US915"\nsub_bands = 2\n', "sub_bands must be a list of sub-bands 1..8"),
    ],
)
def test_bad_regions_are_one_line(tmp_path, head, message):
    with pytest.raises(FleetError) as info:
        load_fleet(write(tmp_path, head))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_device_may_not_name_another_region(tmp_path):
    text = 'region = "AU915"\n' + DEVICES.replace(
        "{ interval_s = 600 }", '{ interval_s = 600, region = "US915" }'
    )
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    expected = r"device 2 \(70b3d57ed0001002\): settings.region 'US915' differs from the"
    with pytest.raises(FleetError, match=expected):
        load_fleet(path)
    path.write_text(text.replace('region = "US915"', 'region = "AU915"'))
    assert load_fleet(path).devices[1].settings["region"] == "AU915"


def test_append_writes_a_new_fleets_region_first(tmp_path):
    source = load_fleet(write(tmp_path, ""))
    path = tmp_path / "new.toml"
    fleet = append_devices(path, source.devices[:1], region="AS923-2")
    assert fleet.region == "AS923-2"
    text = path.read_text()
    assert text.index('\nregion = "AS923-2"\n') < text.index("[[device]]")


def test_provision_new_takes_a_region_for_a_new_fleet_only(tmp_path, capsys):
    path = str(tmp_path / "fleet.toml")
    argv = ["provision", "new", "--kind", "parking", "--fleet", path]
    assert main([*argv, "--region", "US915", "--sub-band", "2"]) == 0
    fleet = load_fleet(path)
    assert (fleet.region, fleet.sub_bands) == ("US915", (2,))
    assert fleet.devices[0].settings == {"region": "US915", "sub_bands": [2]}
    assert main(argv) == 0  # an existing fleet keeps its region
    assert main([*argv, "--region", "US915"]) == 0
    capsys.readouterr()
    assert main([*argv, "--region", "EU868"]) == 2
    err = capsys.readouterr().err
    assert "is a US915 fleet" in err and "Traceback" not in err
    assert main(["provision", "new", "--kind", "parking", "--fleet", str(tmp_path / "b.toml"),
                 "--region", "KR920", "--sub-band", "1"]) == 2  # fmt: skip
    assert "KR920 has no sub-bands" in capsys.readouterr().err
    assert len(load_fleet(path)) == 3
