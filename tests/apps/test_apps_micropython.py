"""Each app's full wake cycle (framework, app logic, drivers on tiny fake buses, codec,
store) under the real MicroPython VM: the same uplinks and sleeps as CPython, and within a
96 KiB heap (the MAC is faked here; its own heap is measured in tests/lorawan/mac)."""

import contextlib
import io

import pytest
from lorafield_tools.mpcheck import compile_file
from mp_apps import SCENARIOS, fakes

pytestmark = pytest.mark.micropython

_COMMON = ("lorafield_codec", "lorafield_node.store", "lorafield_node.apps.framework")
IMPORTS = {
    "temperature": _COMMON
    + (
        "lorafield_node.apps.temperature",
        "lorafield_node.drivers.ds18b20",
        "lorafield_node.drivers.sht31",
    ),
    "water_level": _COMMON + ("lorafield_node.apps.water_level", "lorafield_node.drivers.a02yyuw"),
    "parking": _COMMON + ("lorafield_node.apps.parking", "lorafield_node.drivers.qmc5883l"),
}


def cpython(kind):
    calls = SCENARIOS[kind]
    namespace = {}
    exec(fakes(kind), namespace)  # noqa: S102 - our own test program
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        eval("setup()", namespace)  # noqa: S307
        for call in calls:
            eval(call, namespace)  # noqa: S307
    return out.getvalue()


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_wake_cycles_match_cpython(micropython, kind):
    calls = SCENARIOS[kind]
    want = cpython(kind)
    micropython.run(fakes(kind) + "\nsetup()\n")
    got = "".join(micropython.run(call + "\n") for call in calls)
    assert got == want
    lines = want.splitlines()
    assert len(lines) == len(calls)
    assert all(" feeds True " in line for line in lines)  # the watchdog is fed every wake
    print(want)


def test_temperature_cycles_say_what_they_should():
    out = cpython("temperature").splitlines()
    assert out[0].startswith("deep 900000 ") and " 20:" in out[0] and " 12:" in out[0]
    assert " 12:1909ca" in out[1]  # 0x0191 / 16 = 25.0625 degC, sent as 2506 = 0x09ca
    assert out[2].startswith("deep 300000 ")  # interval 500 s, threshold: checks every 300 s
    assert " 20:" in out[4] and " 12:" not in out[4]  # unplugged: a status, no reading


def test_parking_cycles_say_what_they_should():
    out = cpython("parking").splitlines()
    ups = [line.split(" up ")[1] for line in out]
    assert all(line.startswith("light 5000 ") for line in out)
    changes = [i for i, u in enumerate(ups) if "10:" in u]
    assert changes == [11, 14]  # third sample of the car, third sample after it left
    assert " 20:" in out[-1]  # the unplugged sensor reported


def test_water_level_cycles_say_what_they_should():
    out = cpython("water_level").splitlines()
    assert " 11:" in out[3]  # the fourth reading sends the batch
    assert out[5].startswith("deep 60000 ")  # above the new 1300 mm threshold: alarm sampling
    assert " 11:" in out[5]


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_a_full_wake_cycle_fits_96_kib(micropython_factory, tmp_path, kind):
    """The device modules compiled from source, one per call; the state across wakes, then
    one full wake cycle per call: this port frees nothing during a call (tests/README.md),
    so each cycle's total allocation must fit beside what stays resident."""
    vm = micropython_factory(heap_kib=96)
    for module in IMPORTS[kind]:  # one module per call: its compile garbage is then freed
        vm.run(f"import {module}\n")
    # The test's fakes (not device code) go in precompiled, so their compile does not count.
    src = tmp_path / "lf_app_fakes.py"
    src.write_text(fakes(kind))
    compile_file(src, tmp_path / "lf_app_fakes.mpy")
    vm.write_file("/lib/lf_app_fakes.mpy", (tmp_path / "lf_app_fakes.mpy").read_bytes())
    vm.run("from lf_app_fakes import cycle, setup\nsetup()\n")
    peak = 0
    for call in SCENARIOS[kind]:
        # mem_alloc() at the end of a call counts everything the call allocated (no GC ran)
        out = vm.run(call + "\nimport gc\nprint(gc.mem_alloc())\n")
        peak = max(peak, int(out.split()[-1]))
    resident = int(vm.run("import gc\ngc.collect()\nprint(gc.mem_alloc())\n"))
    print(f"{kind}: highest heap use in a wake cycle {peak} B, resident after {resident} B")
