"""`lorafield deploy` against the emulated board on a pty (the real mpremote underneath): the
compiled firmware and the device's config land on the board, verified by hash; a second
deploy writes nothing; the soft reset runs main.py, which joins through the emulated gateway
and sends an uplink."""

import json
import shutil
import subprocess

import pytest
import serial
from benchboard import APP_KEY, DEV_EUI, fs_files
from lorafield_node.deploy import parse
from lorafield_tools.mpcheck.mpy import mpy_cross_binary
from lorafield_tools.mpcheck.sources import repo_root
from lorafield_tools.workbench.build import loads, mpy_header, sources
from lorafield_tools.workbench.deploy import (
    REGION_MODULES,
    DeployError,
    check_compatible,
    unused_files,
)
from lorafield_tools.workbench.device import DeviceInfo


@pytest.fixture(scope="module", autouse=True)
def snapshot(tmp_path_factory):
    """A copy of firmware/ and codecs/: others edit the checkout while these tests run."""
    global ROOT
    ROOT = tmp_path_factory.mktemp("checkout")
    for top in ("firmware", "codecs"):
        shutil.copytree(repo_root() / top, ROOT / top, ignore=shutil.ignore_patterns("__pycache__"))


def deploy(board, *extra, subprocess_=False):
    return board.lorafield(
        "deploy", "--port", board.path, "--device", DEV_EUI, "--fleet", str(board.fleet),
        "--root", str(ROOT), *extra, subprocess_=subprocess_,
    )  # fmt: skip


def test_deploy_compiles_verifies_and_the_node_joins(board, tmp_path):
    proc = deploy(board, subprocess_=True)  # the installed `lorafield` console script
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert APP_KEY not in proc.stdout + proc.stderr
    expected = {dest[:-3] + ".mpy" if dest != "/main.py" else dest for _, dest in sources(ROOT)}
    skipped = set(unused_files(expected, {}))  # an EU868 device without certification
    assert "/lib/lorafield_node/region_us915.mpy" in skipped
    assert "/lib/lorafield_node/testapp.mpy" in skipped
    assert "/lib/lorafield_node/region_eu868.mpy" not in skipped
    expected = (expected - skipped) | {"/lorafield.json"}
    assert f"{len(expected)} written" in proc.stdout
    assert "soft reset: main.py is running" in proc.stdout

    # The node joined through the emulated gateway and its uplink reached the network server.
    board.wait_log(f"lns: join {DEV_EUI}")
    board.wait_log(f"lns: uplink {DEV_EUI}")
    board.wait_log(f"lns: reading {DEV_EUI} temperature")

    board.mpremote("exec", "pass")  # Ctrl-C: the node stops; the board saves its files
    board.mpremote("soft-reset")
    files = fs_files(board.fs)
    assert expected <= set(files) and not skipped & set(files)
    assert files["/main.py"] == (ROOT / "firmware" / "main.py").read_bytes()
    settings = parse(files["/lorafield.json"].decode())
    assert settings["app_key"] == bytes.fromhex(APP_KEY)
    assert settings["board"] == "heltec_lora32_v2" and settings["sensor"] == "sht31"
    # What is on the board is exactly mpy-cross's output for that source.
    out = tmp_path / "mac.mpy"
    subprocess.run(
        [mpy_cross_binary(), "-o", str(out), "-s", "/lib/lorafield_node/mac.py",
         str(ROOT / "firmware/lib/lorafield_node/mac.py")],
        check=True,
    )  # fmt: skip
    assert files["/lib/lorafield_node/mac.mpy"] == out.read_bytes()
    manifest = json.loads(files["/.lorafield-manifest.json"])
    assert manifest["dev_eui"] == DEV_EUI and set(manifest["files"]) == expected


def test_second_deploy_writes_nothing_and_a_changed_file_is_rewritten(board, tmp_path):
    proc = deploy(board, "--no-reset")
    assert proc.returncode == 0, proc.stderr
    assert " 0 written (0 bytes)" in proc.stdout
    junk = tmp_path / "junk.mpy"
    junk.write_bytes(b"not what deploy wrote")
    board.mpremote("fs", "cp", str(junk), ":lib/lorafield_node/phy.mpy")
    proc = deploy(board, "--no-reset")
    assert " 1 written" in proc.stdout and "/lib/lorafield_node/phy.mpy" in proc.stdout
    sha = board.mpremote("fs", "sha256sum", ":lib/lorafield_node/phy.mpy").stdout
    assert __import__("hashlib").sha256(junk.read_bytes()).hexdigest() not in sha


def test_sources_deploy_replaces_the_mpy_files_and_still_runs(board):
    start = len(board.lines)
    proc = deploy(board, "--no-compile", "--watch", "3")
    assert proc.returncode == 0, proc.stderr
    assert "removed /lib/lorafield_node/mac.mpy" in proc.stdout
    listing = board.mpremote("fs", "ls", ":lib/lorafield_node").stdout
    assert "mac.py" in listing and "mac.mpy" not in listing
    board.mpremote("soft-reset")  # the listing stopped the node: run main.py again
    with serial.Serial(board.path, 115200, timeout=0.2) as port:
        port.write(b"\r\x02\x04")  # friendly REPL, Ctrl-D: soft reset runs main.py
        try:
            board.wait_log(f"lns: uplink {DEV_EUI}", start=start)
        finally:
            print(port.read(port.in_waiting).decode(errors="replace"))


@pytest.mark.parametrize(
    ("board_name", "message"),
    [
        ("pico_rfm95w", "pico_rfm95w needs MicroPython for rp2"),
        ("ttgo_lora32_v21", "emulated heltec_lora32_v2, not a ttgo_lora32_v21"),
        ("no_such_board", "lorafield deploy: argument --board: invalid choice: 'no_such_board'"),
    ],
)
def test_wrong_board_is_refused_in_one_line(board, board_name, message):
    proc = deploy(board, "--board", board_name, "--no-reset")
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1


def test_unknown_device_and_bad_fleet(board, tmp_path):
    proc = board.lorafield("deploy", "--port", board.path, "--device", "0011223344556677",
                           "--fleet", str(board.fleet))  # fmt: skip
    assert proc.returncode == 2 and "no device 0011223344556677" in proc.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[[device]]\ndev_eui = "12"\nkind = "parking"\n')
    proc = board.lorafield("deploy", "--port", board.path, "--device", DEV_EUI, "--fleet", str(bad))
    assert proc.returncode == 2 and "dev_eui" in proc.stderr and proc.stderr.count("\n") == 1


def _info(version=(1, 27, 0), platform="esp32", machine="Generic ESP32 module with ESP32"):
    return DeviceInfo(platform, version, (10 << 10) | (3 << 8) | 6, machine)  # xtensawin, 6.3


def test_compatibility_rules():
    check_compatible(_info(), "heltec_lora32_v2")
    with pytest.raises(DeployError, match="1.22.2 on the board is too old: need 1.23"):
        check_compatible(_info(version=(1, 22, 2)), "heltec_lora32_v2")
    with pytest.raises(DeployError, match="needs MicroPython for esp32"):
        check_compatible(
            _info(platform="rp2", machine="Raspberry Pi Pico with RP2040"), "tbeam_v11"
        )
    pico = _info(platform="rp2", machine="Raspberry Pi Pico with RP2040")
    check_compatible(pico, "pico_rfm95w")
    with pytest.raises(DeployError, match="Feather RP2040"):
        check_compatible(pico, "feather_rp2040_rfm95")


def test_mpy_compatibility_by_header():
    esp32 = _info()  # .mpy 6.3, xtensawin
    assert esp32.mpy_version == (6, 3) and esp32.mpy_arch == 10
    bytecode = b"M\x06\x00\x1f"
    assert mpy_header(bytecode) == (6, 0, 0) and loads(bytecode, esp32)
    assert loads(b"M\x06" + bytes([(10 << 2) | 3]) + b"\x1f", esp32)  # native, same arch
    assert not loads(b"M\x06" + bytes([(4 << 2) | 3]) + b"\x1f", esp32)  # armv6m code
    assert not loads(b"M\x05\x00\x1f", esp32)


def test_a_port_where_nothing_answers_fails_in_one_line():
    import os
    import time
    import tty

    from lorafield_tools.workbench.device import Device, DeviceError

    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        t0 = time.monotonic()
        device = Device(os.ttyname(slave), answer_timeout_s=1.0)
        with pytest.raises(DeviceError, match="no MicroPython REPL answers.*press its reset"):
            device.probe()
        device.close()
        assert time.monotonic() - t0 < 10
    finally:
        os.close(master)
        os.close(slave)


def test_each_region_deploys_the_modules_region_imports():
    """REGION_MODULES (what a device of a region gets) against what region() imports."""
    import sys

    from lorafield_node import region

    saved = {m: sys.modules[m] for m in sys.modules if m.startswith("lorafield_node.region_")}
    try:
        for name in region.NAMES:
            for mod in [m for m in sys.modules if m.startswith("lorafield_node.region_")]:
                del sys.modules[mod]
            region.region(name)
            loaded = {m[len("lorafield_node.") :] for m in sys.modules if ".region_" in m}
            assert loaded == set(REGION_MODULES[name]), name
            files = [f"/lib/lorafield_node/{m}.mpy" for m in ("region_eu868", *sorted(loaded))]
            kept = set(files) - set(unused_files(files, {"region": name}))
            assert {f.rsplit("/", 1)[1][:-4] for f in kept} == loaded, name
    finally:
        for mod in [m for m in sys.modules if m.startswith("lorafield_node.region_")]:
            del sys.modules[mod]
        sys.modules.update(saved)
