"""`lorafield provision`: CSPRNG keys into a 0600 fleet file, never printed unless asked."""

import os
import stat

import pytest
from lorafield_gateway.fleet import FleetError, load_fleet
from lorafield_node.pinmaps import MCU
from lorafield_tools.cli import main
from lorafield_tools.workbench.provision import eui_from_unique_id, new_devices, random_eui

JOIN = "70b3d57ed00000ff"


def provision(capsys, *argv):
    code = main(["provision", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_new_fleet_is_private_sequential_and_keys_stay_hidden(tmp_path, capsys):
    fleet_path = tmp_path / "fleet.toml"
    code, out, err = provision(
        capsys, "new", "--kind", "parking", "--count", "20", "--fleet", str(fleet_path),
        "--join-eui", JOIN, "--dev-eui-prefix", "70b3d57ed001",
    )  # fmt: skip
    assert code == 0, err
    assert stat.S_IMODE(os.stat(fleet_path).st_mode) == 0o600
    fleet = load_fleet(fleet_path)
    assert [d.dev_eui_hex for d in fleet] == [f"70b3d57ed001{i:04x}" for i in range(1, 21)]
    assert all(d.join_eui.hex() == JOIN and d.kind == "parking" for d in fleet)
    assert len({d.app_key for d in fleet}) == 20
    for device in fleet:
        assert device.app_key.hex() not in out
    # A second batch continues the numbering and may show its keys on request.
    code, out, _ = provision(
        capsys, "new", "--kind", "temperature", "--count", "2", "--fleet", str(fleet_path),
        "--dev-eui-prefix", "70b3d57ed001", "--show-keys",
    )  # fmt: skip
    assert code == 0
    fleet = load_fleet(fleet_path)
    new = fleet.devices[20:]
    assert [d.dev_eui_hex for d in new] == ["70b3d57ed0010015", "70b3d57ed0010016"]
    for device in new:
        assert device.app_key.hex() in out


def test_list_shows_devices_without_keys(tmp_path, capsys):
    fleet_path = tmp_path / "fleet.toml"
    provision(capsys, "new", "--kind", "water_level", "--count", "3", "--fleet", str(fleet_path),
              "--join-eui", JOIN)  # fmt: skip
    code, out, _ = provision(capsys, "list", "--fleet", str(fleet_path))
    assert code == 0
    fleet = load_fleet(fleet_path)
    for device in fleet:
        assert device.dev_eui_hex in out
        assert device.app_key.hex() not in out
    code, out, _ = provision(capsys, "list", "--fleet", str(fleet_path), "--json")
    assert out.count("\n") == 3 and "app_key" not in out


def test_random_euis_are_locally_administered_unicast_and_distinct():
    euis = {random_eui() for _ in range(200)}
    assert len(euis) == 200
    assert all(e[0] & 0x03 == 0x02 for e in euis)


def test_eui_from_unique_id():
    assert eui_from_unique_id(bytes.fromhex("a1b2c3d4e5f6")).hex() == "a1b2c3fffed4e5f6"
    assert eui_from_unique_id(bytes(range(8))) == bytes(range(8))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"70b3d57ed0010002"', '"70b3d57ed0010001"'), "duplicate dev_eui"),
        (lambda t: t.replace('"70b3d57ed0010002"', '"70b3d57ed00102"'), "dev_eui"),
        (lambda t: t.replace('kind = "parking"', 'kind = "bicycle"', 1), "kind must be one of"),
    ],
)
def test_bad_fleet_file_is_one_line_exit_2(tmp_path, capsys, edit, message):
    fleet_path = tmp_path / "fleet.toml"
    provision(capsys, "new", "--kind", "parking", "--count", "2", "--fleet", str(fleet_path),
              "--join-eui", JOIN, "--dev-eui-prefix", "70b3d57ed001")  # fmt: skip
    keys = [d.app_key.hex() for d in load_fleet(fleet_path)]
    fleet_path.write_text(edit(fleet_path.read_text()))
    before = fleet_path.read_text()
    for argv in (("list", "--fleet", str(fleet_path)),
                 ("new", "--kind", "parking", "--fleet", str(fleet_path))):  # fmt: skip
        code, out, err = provision(capsys, *argv)
        assert code == 2
        assert err.count("\n") == 1 and message in err and str(fleet_path) in err
        assert not any(k in err + out for k in keys)
    assert fleet_path.read_text() == before  # a refused append leaves the file alone


def test_bad_arguments_are_one_line(tmp_path, capsys):
    fleet_path = tmp_path / "fleet.toml"
    code, _, err = provision(capsys, "new", "--kind", "parking", "--fleet", str(fleet_path),
                             "--join-eui", "12", "--dev-eui-prefix", "70")  # fmt: skip
    assert code == 2 and "--join-eui must be 8 bytes" in err
    assert not fleet_path.exists()


def test_a_new_fleet_without_join_eui_gets_the_all_zero_one_and_says_so(tmp_path, capsys):
    fleet_path = tmp_path / "fleet.toml"
    code, out, err = provision(capsys, "new", "--kind", "parking", "--fleet", str(fleet_path))
    assert code == 0, err
    fleet = load_fleet(fleet_path)
    assert fleet.defaults["join_eui"] == "0000000000000000"
    assert [d.join_eui for d in fleet] == [bytes(8)]
    assert "join_eui 0000000000000000" in out and "TTN and ChirpStack" in out
    # The next batch uses the fleet's [defaults] and says nothing about it.
    code, out, _ = provision(capsys, "new", "--kind", "parking", "--fleet", str(fleet_path))
    assert code == 0 and "join_eui" not in out
    assert [d.join_eui for d in load_fleet(fleet_path)] == [bytes(8)] * 2


def test_an_existing_fleet_without_a_default_join_eui_still_needs_one(tmp_path, capsys):
    fleet_path = tmp_path / "fleet.toml"
    fleet_path.write_text(
        '[[device]]\ndev_eui = "70b3d57ed0010001"\nkind = "parking"\n'
        f'join_eui = "{JOIN}"\napp_key = "{"00" * 16}"\n'
    )
    code, _, err = provision(capsys, "new", "--kind", "parking", "--fleet", str(fleet_path))
    assert code == 2 and "no [defaults] join_eui; give --join-eui" in err


def test_board_is_checked_against_the_boards_deploy_accepts_before_anything_else(tmp_path, capsys):
    fleet_path = tmp_path / "fleet.toml"
    code, out, err = provision(capsys, "new", "--kind", "parking", "--fleet", str(fleet_path),
                               "--board", "esp32_devkit")  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "argument --board: invalid choice: 'esp32_devkit'" in err
    for board in MCU:  # lorafield_node.pinmaps: the table deploy checks (choose_board)
        assert repr(board) in err
    assert not fleet_path.exists()
    for board in MCU:
        code, _, err = provision(capsys, "new", "--kind", "parking", "--fleet", str(fleet_path),
                                 "--board", board)  # fmt: skip
        assert code == 0, err
    assert [d.board for d in load_fleet(fleet_path)] == list(MCU)
    with pytest.raises(FleetError, match="board must be one of"):
        new_devices("parking", 1, board="esp32_devkit")


def test_an_unwritable_fleet_path_is_one_line_exit_2(tmp_path, capsys):
    target = tmp_path / "no-such-dir" / "fleet.toml"
    code, out, err = provision(capsys, "new", "--kind", "parking", "--fleet", str(target),
                               "--join-eui", JOIN)  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"lorafield provision new: {target}: cannot write (No such file")
