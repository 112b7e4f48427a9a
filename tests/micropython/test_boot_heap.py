"""What a boot loads, and so pays for in heap (firmware/boards/README.md, "Heap per board"):
the device modules as .mpy in the real 32-bit MicroPython VM (objects laid out as on the
ESP32), each step in a run() call of its own (this VM collects garbage only between calls).

A parking node's ordinary deep-sleep wake must not load what only another boot, or another
runtime, needs: the pure-Python AES (a device has `cryptolib`), the device-config validation
(checked at the boot after a deploy or reset), the pin maps of the other boards."""

import pytest
from lorafield_tools.mpcheck import heap
from lorafield_tools.mpvm import MicroPythonVM

pytestmark = pytest.mark.micropython

FAKE_CRYPTOLIB = heap.FAKE_CRYPTOLIB


@pytest.fixture
def device_vm():
    """The 32-bit VM with the device packages as `lorafield deploy` compiles them."""
    with MicroPythonVM(heap_kib=400) as vm:
        vm.write_files(heap.mpy_files())
        vm.write_files(heap.STUBS)
        vm.run("import gc, sys\nsys.path.append('/stubs')")
        yield vm


def held(vm, code):
    """Bytes of heap `code` leaves allocated (after a collection)."""
    before = int(vm.run("gc.collect()\nprint(gc.mem_alloc())"))
    vm.run(code)
    return int(vm.run("gc.collect()\nprint(gc.mem_alloc())")) - before


def loaded(vm, *names):
    return vm.run(f"print(' '.join(n for n in {names!r} if n in sys.modules) or '-')").strip()


def test_a_device_with_cryptolib_leaves_the_pure_python_aes_in_flash(device_vm):
    vm = device_vm
    vm.write_file("/stubs/cryptolib.py", FAKE_CRYPTOLIB)
    vm.run("import lorafield_node")
    # 1.9 KB; the S-box, xtime table and unrolled rounds made it 5.0 KB in aes.py itself
    assert held(vm, "import lorafield_node.aes") < 2500
    vm.run("from lorafield_node.aes import new_aes\naes = new_aes(bytes(range(16)))")
    assert vm.run("print(aes.name)").strip() == "cryptolib"
    assert loaded(vm, "lorafield_node.aes_py") == "-"


def test_without_cryptolib_the_pure_python_aes_loads_and_is_right(device_vm):
    """FIPS-197 appendix C.1 on the VM's own (pure-Python) backend."""
    vm = device_vm
    vm.run("from lorafield_node.aes import new_aes\naes = new_aes(bytes(range(16)))")
    assert loaded(vm, "lorafield_node.aes_py") == "lorafield_node.aes_py"
    block = bytes.fromhex("00112233445566778899aabbccddeeff")
    out = vm.run(f"print(aes.name, aes.encrypt({block!r}).hex())").split()
    assert out == ["python", "69c4e0d86a7b0430d8cdb78070b4c55a"]


# The `machine` an ESP32 board needs to be built (firmware/boards/lorafield_boards): a
# deep-sleep wake (reset cause 4) whose RTC memory holds nothing.
FAKE_MACHINE = b"""
def reset_cause():
    return 4


class RTC:
    def memory(self, data=None):
        return b""


class Pin:
    IN = 0
    OUT = 1

    def __init__(self, *args, **kwargs):
        pass
"""

PARKING_ULP = {
    "board": "esp32_bare",
    "app": "parking",
    "dev_eui": "70b3d57ed0001001",
    "join_eui": "70b3d57ed00000ff",
    "app_key": "2b7e151628aed2a6abf7158809cf4f3c",
    "sampling": "ulp",
    "thresholds": {"mag_uT": 8},
}

# firmware/main.py up to start(): the device config, then the board
BOOT = (
    "from lorafield_boards import make_board",
    "from lorafield_node.apps import start",
    "from lorafield_node.deploy import load",
    "settings = load()",
    "board = make_board(settings['board'], settings)",
)


def boot(vm, config):
    import json

    vm.write_file("/stubs/machine.py", FAKE_MACHINE)
    vm.write_file("/lorafield.json", json.dumps(config))
    return sum(held(vm, step) for step in BOOT)


def test_a_boot_unloads_the_settings_check_and_the_pin_maps_once_used(device_vm):
    """main.py's load() checks the app settings (lorafield_node.settings, loaded for that) and
    make_board() reads the pin maps; neither is needed afterwards: both are unloaded, the
    board keeps its own pins only."""
    vm = device_vm
    # the apps need the codec anyway, and the settings check its config table (thresholds)
    vm.run("import lorafield_codec, lorafield_codec.kind_config")
    # 18.9 KB on the 32-bit VM; 28.1 KB while both stayed loaded (with a qstr pool that
    # then grew in this step)
    assert boot(vm, PARKING_ULP) < 20500
    assert loaded(vm, "lorafield_node.pinmaps", "lorafield_node.settings") == "-"
    assert vm.run("print(board.pins['lora']['dio0'], settings['app_key'].hex())").split() == [
        "26",
        PARKING_ULP["app_key"],
    ]


def test_every_boot_still_checks_the_settings(device_vm):
    vm = device_vm
    vm.write_file("/stubs/machine.py", FAKE_MACHINE)
    vm.write_file("/lorafield.json", '{"board": "esp32_bare"}')
    vm.run("from lorafield_node.deploy import load, ConfigError")
    for config, message in (
        (dict(PARKING_ULP, sample_s=0), "sample_s must be an integer 1..3600"),
        (dict(PARKING_ULP, sensor="ds18b20"), "unknown setting 'sensor' for a parking node"),
        (dict(PARKING_ULP, app_key="00"), "app_key must be 32 hex digits, got a secret key"),
    ):
        import json

        vm.write_file("/lorafield.json", json.dumps(config))
        out = vm.run("try:\n    load()\nexcept ConfigError as e:\n    print(e)")
        assert out.strip() == message
        assert loaded(vm, "lorafield_node.settings") == "-"
