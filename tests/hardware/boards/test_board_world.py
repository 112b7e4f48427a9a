"""Boards in a world: two nodes over the air, every profile boots, buses via the board,
energy and battery models, the contract under the real MicroPython VM."""

import pytest
from lorafield_hw import profiles
from lorafield_hw.air import Air
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.energy import Battery, sx1276_state, sx1276_tx_ma
from lorafield_hw.scenarios import DiurnalTemperature, WaterLevelScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import A02YYUW, DS18B20
from lorafield_hw.sx1276 import SX1276
from lorafield_node import board as contract

S = 1_000_000


class Regs:
    """Register access the way a machine-based driver does it: CS pin + SPI."""

    def __init__(self, board):
        self.spi, self.cs, self.reset, self.dio0 = board.radio()

    def write(self, reg, data):
        self.cs.value(0)
        self.spi.write(bytes([reg | 0x80]) + bytes(data))
        self.cs.value(1)

    def read(self, reg, n=1):
        buf = bytearray(n)
        self.cs.value(0)
        self.spi.write(bytes([reg]))
        self.spi.readinto(buf)
        self.cs.value(1)
        return bytes(buf)

    def setup(self, board):
        clock = board.clock()
        self.reset.value(0)
        clock.sleep_us(100)
        self.reset.value(1)
        clock.sleep_ms(5)
        self.write(0x01, [0x80])  # LoRa sleep
        self.write(0x01, [0x81])  # standby
        frf = 868_100_000 * (1 << 19) // 32_000_000
        self.write(0x06, [frf >> 16, (frf >> 8) & 0xFF, frf & 0xFF])
        self.write(0x1D, [0x72])
        self.write(0x1E, [0x74])
        self.write(0x39, [0x34])  # LoRaWAN public sync word


def test_two_boards_exchange_a_frame_over_the_air():
    sched = Scheduler(seed=4)
    air = Air(sched)
    received = []

    def sender(board):
        regs = Regs(board)
        regs.setup(board)
        board.clock().sleep_ms(200)  # the receiver is listening by now
        regs.write(0x09, [0x8C])
        regs.write(0x0D, [0x80])
        regs.write(0x00, b"hello field")
        regs.write(0x22, [11])
        regs.write(0x40, [0x40])  # DIO0 = TxDone
        regs.dio0.irq(lambda pin: None, trigger=regs.dio0.IRQ_RISING)
        regs.write(0x01, [0x83])
        board.lightsleep(1000)
        regs.write(0x01, [0x80])
        board.deepsleep(None)

    def receiver(board):
        regs = Regs(board)
        regs.setup(board)
        regs.write(0x40, [0x00])  # DIO0 = RxDone
        regs.dio0.irq(lambda pin: None, trigger=regs.dio0.IRQ_RISING)
        regs.write(0x01, [0x85])  # RX continuous
        board.lightsleep(5000)
        flags = regs.read(0x12)[0]
        n = regs.read(0x13)[0]
        regs.write(0x0D, regs.read(0x10))
        received.append((flags, regs.read(0x00, n)))

    a = EmulatedBoard(sched, sender, "heltec_lora32_v2", name="a", air=air, position=(0, 0))
    b = EmulatedBoard(sched, receiver, "tbeam_v11", name="b", air=air, position=(30, 0))
    a.power_on()
    b.power_on()
    sched.run_until(3 * S)
    assert received == [(0x40 | 0x10, b"hello field")]  # RxDone + ValidHeader, CRC fine
    assert a.energy_report()["time_s"]["radio tx 14 dBm PA_BOOST"] > 0.02
    assert b.energy_report()["time_s"]["radio rx"] > 0.1


@pytest.mark.parametrize("key", sorted(profiles.PROFILES))
def test_every_profile_boots_and_keeps_a_store(key):
    profile = profiles.get(key)
    for section in ("spi", "lora", "i2c", "uart", "battery_adc"):
        assert section in profile.pins
    assert {"cs", "reset", "dio0"} <= set(profile.pins["lora"])
    assert set(profile.currents) == {"active", "lightsleep", "deepsleep", "board_floor"}
    values = []

    def main(board):
        store = board.store()
        n = store.get("n", b"\x00")[0]
        values.append((board.reset_cause(), n, len(board.unique_id())))
        store.put("n", bytes([n + 1]))
        board.deepsleep(1000)

    sched = Scheduler(seed=1)
    board = EmulatedBoard(sched, main, key)
    board.power_on()
    sched.run_until(5 * S)
    assert [v[1] for v in values] == list(range(len(values)))
    assert len(values) >= 3
    assert values[0][2] == (6 if profile.mcu == "esp32" else 8)
    assert board.flash.prog_size == (1 if profile.mcu == "esp32" else 256)


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown board profile 'nope'"):
        profiles.get("nope")


def test_uart_and_onewire_sensors_through_the_board():
    out = []

    def main(board):
        clock = board.clock()
        uart = board.uart()
        ow = board.onewire()
        ow.reset(True)
        ow.writebyte(ow.SKIP_ROM)
        ow.writebyte(0x44)
        clock.sleep_ms(800)
        (rom,) = ow.scan()
        ow.select_rom(rom)
        ow.writebyte(0xBE)
        scratch = bytearray(9)
        ow.readinto(scratch)
        out.append(("crc", ow.crc8(scratch)))
        out.append(("temp", int.from_bytes(scratch[:2], "little", signed=True) / 16))
        frame = uart.read()
        out.append(("frame", frame[:4] if frame else None))

    sched = Scheduler(seed=3)
    clock = lambda: sched.now_us  # noqa: E731
    climate = DiurnalTemperature(mean_c=14, amplitude_c=0, weather_sd_c=0)
    water = WaterLevelScenario(mount_height_mm=2000, base_level_mm=500, wobble_mm=0)
    sensors = [
        DS18B20(climate=climate, clock=clock, seed=2),
        A02YYUW(water=water, bad_echo_rate=0, corrupt_rate=0, clock=clock),
    ]
    board = EmulatedBoard(sched, main, "ttgo_lora32_v21", sensors=sensors)  # rail always on
    board.power_on()
    sched.run_until(3 * S)
    assert out[0] == ("crc", 0)
    assert abs(out[1][1] - 14.0) <= 0.5
    frame = out[2][1]
    assert frame[0] == 0xFF and (sum(frame[:3]) & 0xFF) == frame[3]
    assert abs((frame[1] << 8 | frame[2]) - 1500) < 40
    report = board.energy_report()
    assert report["charge_mah"]["sensors"] > 0.75 * 1.0 / 3600  # the 750 ms conversion


def test_battery_curves_and_sag():
    for chemistry, cells, full, empty in (("lipo", 1, 4200, 3000), ("alkaline", 2, 3100, 1800)):
        battery = Battery(chemistry, 1000, cells)
        readings = []
        for _ in range(11):
            readings.append(battery.open_circuit_mv())
            battery.used_mah += 100
        assert readings[0] == pytest.approx(full)
        assert readings[-1] == pytest.approx(empty)
        assert all(b <= a for a, b in zip(readings, readings[1:], strict=False))
        assert battery.empty
    fresh = Battery("lipo", 1000)
    assert fresh.voltage_mv(120) == pytest.approx(4200 - 120 * 0.15)
    with pytest.raises(ValueError):
        Battery("nicd", 1000)


def test_sx1276_currents_follow_the_chip_registers():
    sched = Scheduler()
    chip = SX1276(sched)
    assert sx1276_state(chip) == ("standby", 1.6)  # power-on: FSK standby
    chip.write_register(0x01, 0x80)
    assert sx1276_state(chip)[0] == "sleep"
    chip.write_register(0x01, 0x81)
    frf = 868_100_000 * (1 << 19) // 32_000_000
    for reg, value in ((0x06, frf >> 16), (0x07, (frf >> 8) & 0xFF), (0x08, frf & 0xFF)):
        chip.write_register(reg, value)
    chip.write_register(0x09, 0x8F)  # PA_BOOST, 17 dBm
    chip.write_register(0x01, 0x83)
    assert sx1276_state(chip) == ("tx 17 dBm PA_BOOST", 87.0)
    chip.write_register(0x01, 0x81)
    chip.write_register(0x4D, 0x87)  # +20 dBm
    chip.write_register(0x01, 0x83)
    assert sx1276_state(chip) == ("tx 20 dBm PA_BOOST", 120.0)
    chip.write_register(0x01, 0x81)
    chip.write_register(0x4D, 0x84)
    chip.write_register(0x09, 0x7D)  # RFO, MaxPower 7 (15 dBm max), OutputPower 13
    chip.write_register(0x01, 0x83)
    label, ma = sx1276_state(chip)
    assert label == "tx 13 dBm RFO" and ma == pytest.approx(29.0)
    chip.write_register(0x01, 0x81)
    chip.write_register(0x0C, 0x23)  # LnaBoostHf on
    chip.write_register(0x01, 0x85)
    assert sx1276_state(chip) == ("rx", 11.5)
    assert sx1276_tx_ma(14, True) == pytest.approx(54.0)  # interpolated between 17 and 20


TICKS_CODE = """
from lorafield_node.board import Board, Clock, TICKS_MAX, PWRON_RESET, DEEPSLEEP_RESET
c = Clock()
out = []
for a, b in ((5, TICKS_MAX - 4), (TICKS_MAX - 4, 5), (100, 40), (0, 0)):
    out.append(c.ticks_diff(a, b))
out.append(c.ticks_add(TICKS_MAX, 7))
out.append(c.ticks_add(3, -10))
try:
    Board().radio()
except NotImplementedError:
    out.append("contract")
out.append(Board().radio_dio1())
print(out, PWRON_RESET, DEEPSLEEP_RESET)
"""


@pytest.mark.micropython
def test_board_contract_runs_under_micropython(micropython):
    import contextlib
    import io

    on_micropython = micropython.run(TICKS_CODE)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(TICKS_CODE, {})
    assert on_micropython == out.getvalue()
    assert on_micropython.startswith("[10, -10, 60, 0, 6, 1073741817, 'contract', None]")
    # and MicroPython's own ticks arithmetic agrees with the contract's
    native = micropython.run(
        "import time\nprint(time.ticks_diff(5, (1 << 30) - 5), time.ticks_add((1 << 30) - 1, 7))"
    )
    assert native == f"10 {6}\n"
    assert contract.TICKS_PERIOD == 1 << 30


def test_jsn_sr04t_trigger_and_echo_through_the_board():
    from lorafield_hw.sensors import JSNSR04T
    from lorafield_hw.sensors.jsn_sr04t import NO_ECHO_US, speed_of_sound_m_s

    out = []

    def main(board):
        trig, echo = board.pin("trigger"), board.pin("echo")
        clock = board.clock()
        board.sensor_power(True)  # Heltec: the sensor hangs on Vext

        def ping(timeout_us=100_000, width_us=10):
            trig.value(1)
            clock.sleep_us(width_us)
            trig.value(0)
            return board.time_pulse_us(echo, 1, timeout_us)

        for _ in range(60):
            out.append(ping())
            clock.sleep_ms(100)
        out.append(board.time_pulse_us(echo, 1, 30_000))  # nobody triggered: -2
        out.append(ping(width_us=2))  # too short a trigger is ignored: -2
        out.append(ping(timeout_us=5_000))  # the pulse outlasts the timeout: -1
        for name in ("vext", "nope"):
            try:
                board.pin(name)
            except ValueError:
                out.append(name)

    sched = Scheduler(seed=5)
    water = WaterLevelScenario(mount_height_mm=2500, base_level_mm=1000, wobble_mm=0)
    sensor = JSNSR04T(
        water=water,
        bad_echo_rate=0.1,
        no_echo_rate=0.1,
        clock=lambda: sched.now_us,
        seed=3,
    )
    board = EmulatedBoard(sched, main, "heltec_lora32_v2", sensors=[sensor])
    board.power_on()
    sched.run_until(20 * S)
    expected = 2 * 1.5 / speed_of_sound_m_s(20.0) * 1e6  # 1500 mm at 20 degC: ~8.7 ms
    pings = out[:60]
    good = [p for p in pings if abs(p - expected) < 60]
    assert len(good) > 35
    assert NO_ECHO_US in pings  # a lost echo: the long timeout pulse
    assert any(0 < p < expected - 200 for p in pings)  # a false short echo
    assert out[60:] == [-2, -2, -1, "vext", "nope"]
    assert sensor.measurements == 61
