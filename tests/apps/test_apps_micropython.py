"""Each app's full wake cycle (framework, app logic, drivers on tiny fake buses, codec,
store) under the real MicroPython VM: the same uplinks and sleeps as CPython, and within the
ESP32's heap (the MAC is faked here; its own heap is measured in tests/lorawan/mac)."""

import contextlib
import io

import pytest
from lorafield_tools.mpcheck import compile_file
from mp_apps import SCENARIOS, deployed, fakes

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
def test_a_full_wake_cycle_fits_the_esp32_heap_without_a_collection(
    micropython_factory, tmp_path, kind
):
    """The device modules as .mpy (as deployed: a boot unloads the codec and loads it again,
    which from source would compile it again), one per call; the state across wakes, then
    one full wake cycle per call: this port frees nothing during a call (tests/README.md),
    so each cycle's total allocation must fit beside what stays resident, in a 112,000-byte
    pool (the ESP32's heap is 111,936 B: lorafield_hw.profiles.HEAP), where a device would
    also collect garbage during the wake."""
    vm = micropython_factory(heap_kib=112)
    deployed(vm)
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


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_the_codec_is_unloaded_while_the_mac_sends(micropython, kind):
    """The MAC, the heap's largest user, never shares the heap with the codec's code: a
    boot unloads the codec once a payload is encoded and loads it again for a status or a
    config downlink (firmware/README.md). On CPython `unload` does nothing (one process
    holds every emulated node and the server)."""
    micropython.run(fakes(kind) + "\nsetup()\n")
    seen = []
    for call in SCENARIOS[kind]:
        micropython.run(call + "\n")
        out = micropython.run("print(W['live'][3].codec_resident)\n").strip()[1:-1]
        seen += [s for s in out.split(", ") if s]
        micropython.run("W['live'][3].codec_resident = []\n")
    assert len(seen) >= 3 and set(seen) == {"False"}, seen
    namespace = {}
    exec(fakes(kind) + "\nsetup()\n" + SCENARIOS[kind][0], namespace)  # noqa: S102
    assert set(namespace["W"]["live"][3].codec_resident) == {True}
