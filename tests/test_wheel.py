"""The wheel carries everything the CLI reads at run time. Built from a copy of the sources
(pip, no build isolation, no index: no network), installed into a fresh venv whose
dependencies are .venv's (a .pth line; .venv's editable lorafield stays inactive, its .pth
files are not read from there), then used from a folder outside the source tree."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE")
SOURCE_DIRS = ("codecs", "firmware", "gateway", "hardware", "tools")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")


def _run(cmd, cwd, env, timeout=120):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, its site-packages, a work folder, env) with lorafield from the wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, src / name)
    for name in SOURCE_DIRS:  # links stay links: the build must resolve them itself
        shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=JUNK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, src],
        tmp,
        env,
    )
    (wheel,) = dist.glob("lorafield-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp, env)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp, env
        ).strip()
    )
    (site / "lorafield-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], tmp, env)
    work = tmp / "work"
    work.mkdir()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return python, site, work, env


def test_the_installed_packages_hold_every_file_of_the_source_packages(installed):
    python, site, work, env = installed
    where = _run(
        [python, "-c", "import lorafield_tools; print(lorafield_tools.__file__)"], work, env
    )
    assert Path(where.strip()).is_relative_to(site)  # not the checkout's editable install
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tops = [
        p.parent
        for w in find["packages"]["find"]["where"]
        for p in (ROOT / w).glob("*/__init__.py")
    ]
    assert {t.name for t in tops} >= {"lorafield_tools", "lorafield_codec", "lorafield_boards"}
    for top in tops:
        expected = {  # folder READMEs are for readers of the source, not for the CLI
            p.relative_to(top): p.resolve().read_bytes()
            for p in top.rglob("*")
            if p.is_file()
            and p.name != "README.md"
            and "__pycache__" not in p.parts
            and p.suffix != ".pyc"
        }
        shipped = {
            p.relative_to(site / top.name): p.read_bytes()
            for p in (site / top.name).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert shipped == expected, top.name


def test_cli_commands_that_read_package_files_work_from_the_wheel(installed):
    python, site, work, env = installed
    from lorafield_gateway.config import render_defaults
    from lorafield_tools.codec_export import export_js, ttn_codec_yaml

    _run(["lorafield", "codec", "export", "--target", "chirpstack", "-o", "cs.js"], work, env)
    assert (work / "cs.js").read_text() == export_js("chirpstack")
    argv = ["lorafield", "codec", "export", "--target", "ttn", "-o", "ttn.js"]
    _run([*argv, "--ttn-yaml", "codec.yaml"], work, env)
    assert (work / "ttn.js").read_text() == export_js("ttn")
    assert (work / "codec.yaml").read_text() == ttn_codec_yaml("ttn.js")
    assert "parking (fPort 10)" in _run(["lorafield", "codec", "demo"], work, env)
    assert _run(["lorafield", "gateway", "print-config"], work, env) == render_defaults()
    assert "SCENARIO" in _run(["lorafield", "emulate", "--help"], work, env)
    listing = _run(["lorafield", "emulate", "--list-examples"], work, env)
    assert "river-flood" in listing and str(site) in listing  # the examples ship
    out = _run(["lorafield", "demo", "--nodes", "3", "--hours", "0.5", "--out", "d"], work, env)
    assert "report: d/report.html" in out and (work / "d" / "report.html").stat().st_size > 0
    args = ["--uplinks", "20", "--seconds", "1", "--downlinks", "2", "--broker", "amqtt"]
    assert "mqtt_uplinks_per_s" in _run(["lorafield", "bench", "gateway", *args], work, env)


def test_deploy_files_and_the_emulated_boards_rom_come_from_the_wheel(installed):
    """What `lorafield deploy` writes to a board (sources, uncompiled) and what the pty
    board's VM starts with are the checkout's files, read from site-packages."""
    python, site, work, env = installed
    from lorafield_tools.pty_board.vm import rom_files
    from lorafield_tools.workbench.build import build

    code = (
        "import json, sys\n"
        "from lorafield_tools.workbench.build import build, sources\n"
        "from lorafield_tools.pty_board.vm import rom_files\n"
        "from lorafield_tools.mpvm import project_files\n"
        "paths = [str(s) for s, _ in sources()]\n"
        "files = {**build(None), **rom_files(True), **rom_files(False), **project_files()}\n"
        "print(json.dumps([paths, {k: v.hex() for k, v in files.items()}]))\n"
    )
    paths, files = json.loads(_run([python, "-c", code], work, env))
    assert all(Path(p).is_relative_to(site) for p in paths)
    from lorafield_tools.mpvm import project_files

    expected = {**build(None, ROOT), **rom_files(True), **rom_files(False)}
    expected.update(project_files(ROOT))
    assert {k: bytes.fromhex(v) for k, v in files.items()} == expected
    assert "/main.py" in files and "/lib/lorafield_boards/__init__.py" in files


@pytest.mark.parametrize(
    "argv",
    [
        # --runtime: by default the board runs on a `micropython` binary wherever one is on
        # PATH (an activated .venv has one), which needs no checkout.
        ["emulate", "board", "--pty", "--no-radio", "--runtime", "webassembly"],
        ["bench", "workbench", "--runtime", "webassembly"],
        ["bench", "crypto"],
        ["bench", "micropython"],
        ["bench", "firmware"],
    ],
)
def test_commands_needing_a_checkout_say_so_in_one_line(installed, argv):
    """The WebAssembly MicroPython VM is an npm package (node_modules of a checkout after
    `make setup`, or LORAFIELD_NODE_MODULES); the .mpy checks measure a checkout's firmware/."""
    python, site, work, env = installed
    env = {k: v for k, v in env.items() if k != "LORAFIELD_NODE_MODULES"}
    proc = subprocess.run(
        ["lorafield", *argv], cwd=work, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "checkout" in proc.stderr
