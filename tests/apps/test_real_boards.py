"""The machine-based boards of firmware/boards on CPython with a fake `machine` module: pins
from the shared map, the switched rail, the RP2040's deep-sleep contract (scratch register,
watchdog stopped, DEEPSLEEP_RESET on the next boot), the TPL5110 gate and the file-backed
store device. (On a device they run against the real port; pyright checks them against the
esp32 and rp2 stubs.)"""

import sys
import types
from pathlib import Path

import pytest
from lorafield_node import board as contract
from lorafield_node.pinmaps import PINS
from lorafield_node.store import Store

BOARDS_DIR = Path(__file__).resolve().parents[2] / "firmware" / "boards"


class Halt(BaseException):
    """machine.deepsleep / machine.reset: the program ends here."""


class FakeMachine(types.ModuleType):
    def __init__(self):
        super().__init__("machine")
        self.log = []
        self.cause = 1
        self.mem32 = {0x40058000: 0x40000000, 0x4005800C: 0}
        machine = self

        class Pin:
            IN, OUT = 0, 1

            def __init__(self, number, mode=-1, value=None):
                self.number = number
                self.mode = mode
                if value is not None:
                    machine.log.append(("pin", number, value))

            def value(self, v=None):
                if v is not None:
                    machine.log.append(("pin", self.number, v))
                return 0

        class Bus:
            def __init__(self, *args, **kwargs):
                machine.log.append((type(self).__name__, args, kwargs))

        class SPI(Bus):
            pass

        class I2C(Bus):
            def readfrom_mem(self, addr, reg, n):
                return bytes([0xCD, 0x05])[:n]

            def writeto_mem(self, addr, reg, buf):
                machine.log.append(("i2c write", addr, reg, bytes(buf)))

        class UART(Bus):
            pass

        class WDT:
            def __init__(self, timeout):
                machine.log.append(("wdt", timeout))

            def feed(self):
                pass

        class ADC:
            ATTN_11DB = 3

            def __init__(self, pin, atten=None):
                pass

            def read_uv(self):
                return 1_250_000

            def read_u16(self):
                return 32768

        class RTC:  # RTC slow memory: kept through deep sleep (esp32)
            def memory(self, data=None):
                if data is None:
                    return machine.rtc_memory
                machine.rtc_memory = bytes(data)

        self.Pin, self.SPI, self.I2C, self.UART, self.WDT, self.ADC = Pin, SPI, I2C, UART, WDT, ADC
        self.RTC = RTC
        self.rtc_memory = b""
        self.time = None  # the FakeTime: light sleep moves its ticks, deep sleep its RTC

    def reset_cause(self):
        return self.cause

    def deepsleep(self, ms):
        self.log.append(("deepsleep", ms))
        if self.time is not None:
            self.time.rtc_ms += ms
            self.time.ms = 0  # the next boot's ticks start again
        raise Halt

    def lightsleep(self, ms):
        self.log.append(("lightsleep", ms))
        if self.time is not None:
            self.time.ms += ms
            self.time.rtc_ms += ms

    def reset(self):
        self.log.append(("reset",))
        raise Halt

    def unique_id(self):
        return b"\x01\x02\x03\x04\x05\x06"

    def time_pulse_us(self, pin, level, timeout):
        return 1234


class FakeTime:
    def __init__(self):
        self.ms = 0
        self.rtc_ms = 0  # the esp32 RTC timer behind time.time_ns()

    def time_ns(self):
        return self.rtc_ms * 1_000_000

    def ticks_ms(self):
        return self.ms

    def ticks_us(self):
        return self.ms * 1000

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, b):
        return a + b

    def sleep_ms(self, ms):
        self.ms += ms

    def sleep_us(self, us):
        pass


@pytest.fixture
def boards(monkeypatch, tmp_path):
    machine = FakeMachine()
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "onewire", types.ModuleType("onewire"))
    monkeypatch.syspath_prepend(str(BOARDS_DIR))
    for name in [m for m in sys.modules if m.startswith("lorafield_boards")]:
        monkeypatch.delitem(sys.modules, name)
    import lorafield_boards
    from lorafield_boards import common, esp32

    fake_time = FakeTime()
    machine.time = fake_time
    monkeypatch.setattr(common, "time", fake_time)
    monkeypatch.setattr(esp32, "time", fake_time)
    monkeypatch.setattr(common.MachineBoard, "GATED_PATH", str(tmp_path / "gated"))
    monkeypatch.setattr(common.MachineBoard, "STORE_PATH", str(tmp_path / "store"))
    return lorafield_boards, machine


def test_every_board_builds_its_radio_from_the_shared_pin_map(boards):
    lb, machine = boards
    for key, pins in PINS.items():
        board = lb.make_board(key)
        assert isinstance(board, contract.Board)
        machine.log.clear()
        spi, cs, reset, dio0 = board.radio()
        (name, args, kwargs) = machine.log[0]
        assert name == "SPI" and args == (pins["spi"]["id"],)
        assert kwargs["sck"].number == pins["spi"]["sck"]
        assert (cs.number, reset.number, dio0.number) == tuple(
            pins["lora"][k] for k in ("cs", "reset", "dio0")
        )
        assert ("pin", pins["lora"]["cs"], 1) in machine.log  # CS idles high
        assert board.pin("echo").number == pins["echo"]
        with pytest.raises(ValueError, match="wires no pin"):
            board.pin("nope")
    with pytest.raises(ValueError, match="unknown board"):
        lb.make_board("arduino_uno")


def test_heltec_switches_vext_active_low(boards):
    lb, machine = boards
    board = lb.make_board("heltec_lora32_v2")
    machine.log.clear()
    board.sensor_power(True)
    board.sensor_power(False)
    assert machine.log == [("pin", 21, 0), ("pin", 21, 1)]
    machine.log.clear()
    lb.make_board("pico_rfm95w").sensor_power(True)  # lorafield's wiring: a P-MOSFET on GP13
    assert machine.log == [("pin", 13, 0)]
    machine.log.clear()
    lb.make_board("ttgo_lora32_v21").sensor_power(True)  # no switched rail: nothing to do
    assert machine.log == []


def test_rp2_deep_sleep_keeps_the_contract(boards):
    lb, machine = boards
    board = lb.make_board("pico_rfm95w")
    assert board.reset_cause() == contract.PWRON_RESET
    board.watchdog(30_000)
    assert ("wdt", 8300) in machine.log  # clamped to the RP2040's limit
    with pytest.raises(Halt):
        board.deepsleep(900_000)
    assert machine.log[-2:] == [("lightsleep", 900_000), ("reset",)]
    assert machine.mem32[0x40058000] & 0x40000000 == 0  # watchdog stopped first
    machine.cause = contract.WDT_RESET  # what the port reports after machine.reset()
    assert lb.make_board("pico_rfm95w").reset_cause() == contract.DEEPSLEEP_RESET
    assert lb.make_board("pico_rfm95w").reset_cause() == contract.WDT_RESET  # a real one


def test_tpl5110_gates_long_sleeps_and_the_wake_reads_as_deep_sleep(boards):
    lb, machine = boards
    options = {"tpl5110": {"done": 12, "period_s": 900}}
    board = lb.make_board("ttgo_lora32_v21", options)
    assert board.planned_sleep_ms(3_600_000) == 900_000
    assert board.planned_sleep_ms(60_000) == 60_000  # alarm sampling: the MCU sleeps itself
    machine.log.clear()
    with pytest.raises(Halt):
        board.deepsleep(60_000)
    assert ("pin", 12, 1) not in machine.log
    with pytest.raises(Halt):
        board.deepsleep(900_000)  # no TPL5110 cut the power: falls back to deep sleep
    assert ("pin", 12, 1) in machine.log and machine.log[-1] == ("deepsleep", 900_000)
    machine.cause = contract.PWRON_RESET  # the TPL5110 powered the board again
    assert lb.make_board("ttgo_lora32_v21", options).reset_cause() == contract.DEEPSLEEP_RESET
    assert lb.make_board("ttgo_lora32_v21", options).reset_cause() == contract.PWRON_RESET


def test_battery_from_the_divider_or_the_axp192(boards):
    lb, machine = boards
    assert lb.make_board("heltec_lora32_v2").battery_mv() == 4000  # 1.25 V x 3.2
    tbeam = lb.make_board("tbeam_v11")
    assert ("i2c write", 0x34, 0x12, bytes([0xCD & ~0x08])) in machine.log  # GPS LDO3 off
    assert tbeam.battery_mv() == ((0xCD << 4) | 0x05) * 11 // 10


def test_file_flash_is_nor_like_and_carries_the_store(boards, tmp_path):
    lb, _ = boards
    from lorafield_boards.common import FileFlash

    dev = FileFlash(str(tmp_path / "f"), blocks=2)
    buf = bytearray(4)
    dev.writeblocks(1, b"\x0f\xf0\xff\x00", 8)
    dev.writeblocks(1, b"\xff\x0f\x00\xff", 8)  # programming only clears bits
    dev.readblocks(1, buf, 8)
    assert buf == b"\x0f\x00\x00\x00"
    dev.ioctl(6, 1)
    dev.readblocks(1, buf, 8)
    assert buf == b"\xff" * 4
    store = Store(FileFlash(str(tmp_path / "s"), blocks=2))
    store.put("k", b"v1")
    assert Store(FileFlash(str(tmp_path / "s"), blocks=2)).get("k") == b"v1"


MAIN = Path(__file__).resolve().parents[2] / "firmware" / "main.py"


def test_main_builds_the_configured_board_and_app(boards, monkeypatch):
    import gc
    import runpy

    import lorafield_node.apps as apps
    import lorafield_node.deploy as deploy

    lb, machine = boards
    settings = {"board": "pico_rfm95w", "app": "temperature", "interval_s": 600}
    started = []
    thresholds = []  # MicroPython's gc.threshold, which CPython's gc lacks
    monkeypatch.setattr(gc, "threshold", thresholds.append, raising=False)
    monkeypatch.setattr(deploy, "load", lambda: dict(settings))
    monkeypatch.setattr(apps, "start", lambda board, s: started.append((board, s)))
    runpy.run_path(str(MAIN))
    assert thresholds == [8192]  # a collection every 8 KiB allocated (firmware/main.py)
    ((board, s),) = started
    assert type(board).__name__ == "Rp2Board" and board.name == "pico_rfm95w"
    assert s["interval_s"] == 600

    def crash(board, s):
        raise RuntimeError("a bug in the app")

    monkeypatch.setattr(apps, "start", crash)
    monkeypatch.setattr(sys, "print_exception", lambda e: None, raising=False)
    with pytest.raises(Halt):
        runpy.run_path(str(MAIN))
    assert machine.log[-2:] == [("lightsleep", 60_000), ("reset",)]  # rp2 deep sleep, 60 s


# -- rtc_ms(): the sleep-surviving clock of the board contract --------------------------------


def test_rp2_rtc_ms_counts_through_deep_sleep(boards):
    lb, machine = boards
    board = lb.make_board("pico_rfm95w")
    machine.time.ms += 1_500
    assert board.rtc_ms() == 1_500
    with pytest.raises(Halt):
        board.deepsleep(60_000)  # light sleep, then reset; the scratch registers keep rtc
    machine.time.ms = 0  # a new boot: ticks restart
    machine.cause = contract.WDT_RESET
    again = lb.make_board("pico_rfm95w")
    assert again.reset_cause() == contract.DEEPSLEEP_RESET
    machine.time.ms += 200
    assert again.rtc_ms() == 1_500 + 60_000 + 200
    machine.mem32 = {0x40058000: 0x40000000, 0x4005800C: 0}  # power cut: registers cleared
    machine.cause = contract.PWRON_RESET
    assert lb.make_board("pico_rfm95w").rtc_ms() == 0  # restarts at 0


def test_esp32_rtc_ms_counts_through_deep_sleep_from_rtc_memory(boards):
    lb, machine = boards
    board = lb.make_board("heltec_lora32_v2")
    machine.time.ms += 2_000
    machine.time.rtc_ms += 2_000
    with pytest.raises(Halt):
        board.deepsleep(900_000)
    machine.cause = contract.DEEPSLEEP_RESET
    again = lb.make_board("heltec_lora32_v2")
    assert again.rtc_ms() == 2_000 + 900_000
    machine.rtc_memory = b"garbage"  # no record: restarts at 0 (never ahead of real time)
    assert lb.make_board("heltec_lora32_v2").rtc_ms() == 0


def test_tpl5110_wake_resumes_rtc_ms_at_a_lower_bound_of_the_period(boards):
    lb, machine = boards
    options = {"tpl5110": {"done": 12, "period_s": 900}}
    board = lb.make_board("ttgo_lora32_v21", options)
    machine.time.ms += 3_000
    with pytest.raises(Halt):
        board.deepsleep(900_000)  # the gate is pulled (here it falls back to deep sleep)
    machine.cause = contract.PWRON_RESET
    machine.time.ms = 0
    woke = lb.make_board("ttgo_lora32_v21", options)
    assert woke.reset_cause() == contract.DEEPSLEEP_RESET
    # The next power-on is one period after this one: at least 0.98 x 900 s - 1 s.
    assert woke.rtc_ms() == 900_000 * 49 // 50 - 1_000
    # Awake past a period (an alarm kept it on): the bound moves on by whole periods.
    machine.time.ms += 1_000_000
    with pytest.raises(Halt):
        woke.deepsleep(900_000)
    machine.time.ms = 0
    again = lb.make_board("ttgo_lora32_v21", options)
    assert again.rtc_ms() == 900_000 * 49 // 50 - 1_000 + 2 * 900_000 * 49 // 50 - 1_000


def test_a_short_sleep_on_a_gated_board_leaves_the_marker_for_the_timers_watchdog(boards):
    """Alarm sampling sleeps shorter than the TPL5110's period with the MCU's own deep sleep.
    A period that ends without DONE power-cycles the board (the timer's watchdog): that
    power-on must read as the sleep's wake, not as a new installation."""
    lb, machine = boards
    options = {"tpl5110": {"done": 12, "period_s": 900}}
    board = lb.make_board("ttgo_lora32_v21", options)
    machine.time.ms += 5_000
    with pytest.raises(Halt):
        board.deepsleep(60_000)
    assert ("pin", 12, 1) not in machine.log  # no DONE: the MCU sleeps itself
    machine.cause = contract.PWRON_RESET  # the watchdog's power cycle at the period's end
    machine.time.ms = 0
    woke = lb.make_board("ttgo_lora32_v21", options)
    assert woke.reset_cause() == contract.DEEPSLEEP_RESET
    assert woke.rtc_ms() == 900_000 * 49 // 50 - 1_000  # the period's end, a lower bound


def test_a_marker_left_by_a_short_sleep_is_dropped_when_the_mcu_wakes_first(boards):
    lb, machine = boards
    options = {"tpl5110": {"done": 12, "period_s": 900}}
    board = lb.make_board("heltec_lora32_v2", options)
    with pytest.raises(Halt):
        board.deepsleep(60_000)
    machine.cause = contract.DEEPSLEEP_RESET  # the ESP32's own timer, within the period
    assert lb.make_board("heltec_lora32_v2", options).reset_cause() == contract.DEEPSLEEP_RESET
    machine.cause = contract.PWRON_RESET  # batteries changed later: a real power-on
    assert lb.make_board("heltec_lora32_v2", options).reset_cause() == contract.PWRON_RESET


def test_a_gated_sleep_lasts_to_the_timers_next_period_not_a_whole_period(boards):
    """The TPL5110 counts periods from its own power-on: after 20 s awake, the gated sleep
    of a 900 s period lasts 880 s (the node's clock is saved with that)."""
    lb, machine = boards
    options = {"tpl5110": {"done": 14, "period_s": 900}}
    board = lb.make_board("pico_rfm95w", options)
    machine.time.ms += 20_000
    assert board.planned_sleep_ms(900_000) == 880_000
    assert board.planned_sleep_ms(3_600_000) == 880_000
    assert board.planned_sleep_ms(60_000) == 60_000
