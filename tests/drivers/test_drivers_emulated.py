"""The sensor drivers against the emulated sensors of hardware/ (register/byte level)."""

import pytest
from lorafield_hw.buses import I2C, UART, OneWire
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario, WaterLevelScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import A02YYUW, DS18B20, JSNSR04T, QMC5883L, SHT31
from lorafield_node import board as contract
from lorafield_node.drivers import SensorError
from lorafield_node.drivers.a02yyuw import A02YYUW as A02Driver
from lorafield_node.drivers.ds18b20 import DS18B20 as DSDriver
from lorafield_node.drivers.ds18b20 import crc8 as ow_crc8
from lorafield_node.drivers.jsn_sr04t import JSNSR04T as JSNDriver
from lorafield_node.drivers.jsn_sr04t import echo_to_mm
from lorafield_node.drivers.qmc5883l import QMC5883L as QMCDriver
from lorafield_node.drivers.sht31 import SHT31 as SHTDriver
from lorafield_node.drivers.sht31 import crc8 as sht_crc8


class SchedClock(contract.Clock):
    """The board Clock on the scheduler, driven from the test's thread."""

    def __init__(self, sched):
        self.sched = sched

    def ticks_ms(self):
        self.sched.advance(10)
        return (self.sched.now_us // 1000) & contract.TICKS_MAX

    def ticks_us(self):
        self.sched.advance(10)
        return self.sched.now_us & contract.TICKS_MAX

    def sleep_ms(self, ms):
        self.sched.advance(int(ms) * 1000)

    def sleep_us(self, us):
        self.sched.advance(int(us))


@pytest.fixture
def world():
    sched = Scheduler(seed=1)
    return sched, SchedClock(sched), (lambda: sched.now_us)


def test_crc_known_answers():
    assert sht_crc8(b"\xbe\xef") == 0x92  # SHT3x datasheet 4.12
    rom = bytes.fromhex("28ff6402170300")
    assert ow_crc8(rom + bytes([ow_crc8(rom)])) == 0  # Maxim AN27: zero over data + CRC
    assert ow_crc8(bytes.fromhex("02 1c b8 01 00 00 00")) == 0xA2  # Maxim AN27 example


def test_qmc5883l_reads_the_earth_field_and_a_car(world):
    sched, clock, now = world
    parking = ParkingScenario([(10, "arrive")], seed=5)
    sensor = QMC5883L(parking=parking, clock=now, seed=3)
    mag = QMCDriver(I2C([sensor], advance=sched.advance), clock)
    mag.init()
    x, y, z = mag.read_nt()
    # Earth's field (18, 2, -44) uT in nT, within noise and quantisation
    assert abs(x - 18000) < 800 and abs(y - 2000) < 800 and abs(z + 44000) < 800
    assert sensor.regs[0x09] & 0x03 == 0  # back in standby after the sample
    sched.run_until(20_000_000)
    car = mag.read_nt()
    dx, dy, dz = (a - b for a, b in zip(car, (x, y, z), strict=True))
    truth = parking.field_offset_ut(20.0)
    for got, want in zip((dx, dy, dz), truth, strict=True):
        assert abs(got / 1000 - want) < 1.5


def test_qmc5883l_missing_or_saturated(world):
    sched, clock, now = world
    with pytest.raises(SensorError) as info:
        QMCDriver(I2C([], advance=sched.advance), clock).init()
    assert info.value.code == "sensor"
    sensor = QMC5883L(earth_field_ut=(250.0, 0.0, 0.0), clock=now, seed=3)  # > 2 G: overflow
    mag = QMCDriver(I2C([sensor], advance=sched.advance), clock)
    mag.init()
    with pytest.raises(SensorError, match="out of range"):
        mag.read_nt()


def test_sht31_reading_and_crc_retry(world):
    sched, clock, now = world
    climate = DiurnalTemperature(seed=1)
    sensor = SHT31(climate=climate, clock=now, seed=2)
    drv = SHTDriver(I2C([sensor], advance=sched.advance), clock)
    t_cc, rh = drv.read()
    assert abs(t_cc / 100 - climate.temperature_c(now() / 1e6)) < 0.5
    assert abs(rh / 10 - climate.humidity_pct(now() / 1e6)) < 3
    sensor.glitch_rate = 0.5  # a noisy cable: half the reads have a flipped bit
    for _ in range(20):
        try:
            t, _ = drv.read()
        except SensorError:
            continue  # three bad reads in a row: reported, not invented
        assert abs(t / 100 - climate.temperature_c(now() / 1e6)) < 0.5
    assert drv.crc_errors > 0
    with pytest.raises(SensorError):
        SHTDriver(I2C([], advance=sched.advance), clock).read()


def test_ds18b20_conversion_crc_and_absence(world):
    sched, clock, now = world
    climate = DiurnalTemperature(mean_c=-5.0, seed=1)
    sensor = DS18B20(climate=climate, clock=now, seed=2)
    ow = OneWire([sensor], advance=sched.advance)
    drv = DSDriver(ow, clock)
    start = now()
    t_cc = drv.read()
    assert 700_000 < now() - start < 900_000  # waited for the 750 ms conversion
    assert abs(t_cc / 100 - climate.temperature_c(now() / 1e6)) < 0.5
    assert t_cc != 8500  # not the power-up value
    sensor.glitch_rate = 0.3
    for _ in range(10):
        try:
            assert abs(drv.read() / 100 - climate.temperature_c(now() / 1e6)) < 0.5
        except SensorError:
            pass
    assert drv.crc_errors > 0
    sensor.present = lambda: False
    with pytest.raises(SensorError, match="presence"):
        drv.read()


def test_ds18b20_by_rom_on_a_shared_bus(world):
    sched, clock, now = world
    warm = DiurnalTemperature(mean_c=30.0, amplitude_c=0.0, weather_sd_c=0.0)
    cold = DiurnalTemperature(mean_c=2.0, amplitude_c=0.0, weather_sd_c=0.0)
    a, b = DS18B20(climate=warm, clock=now, seed=1), DS18B20(climate=cold, clock=now, seed=2)
    ow = OneWire([a, b], advance=sched.advance)
    assert abs(DSDriver(ow, clock, rom=a.rom).read() - 3000) < 50
    assert abs(DSDriver(ow, clock, rom=b.rom).read() - 200) < 50


def test_a02yyuw_frames_resync_and_silence(world):
    sched, clock, now = world
    water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=1000, wobble_mm=0)
    sensor = A02YYUW(water=water, clock=now, seed=3, bad_echo_rate=0.0, corrupt_rate=0.3)
    uart = UART(sensor, clock=now, advance=sched.advance)
    drv = A02Driver(uart, clock)
    sched.run_until(600_000)
    values = drv.read_mm(5)
    assert len(values) == 5 and all(abs(v - 2000) < 45 for v in values)  # sd 9 mm
    assert drv.bad_frames > 0  # corrupt checksums were dropped, the reader resynchronised
    sensor.uart_receive = lambda now_us: []
    with pytest.raises(SensorError):
        drv.read_mm(5)


class _Board:
    """What JSNSR04T needs of a board: a clock and time_pulse_us (from the emulated board)."""

    def __init__(self, view):
        self.view = view

    def clock(self):
        return self.view.clock()

    def time_pulse_us(self, pin, level, timeout_us):
        return self.view.time_pulse_us(pin, level, timeout_us)


def test_jsn_sr04t_echo_and_compensation():
    from lorafield_hw.board import EmulatedBoard

    sched = Scheduler(seed=1)
    water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=1000, wobble_mm=0)
    cold = DiurnalTemperature(mean_c=-10.0, amplitude_c=0.0, weather_sd_c=0.0)
    out = []

    def main(view):
        view.sensor_power(True)  # the Pico's sensor supply (GP13)
        drv = JSNDriver(view, view.pin("trigger"), view.pin("echo"))
        view.lightsleep(300)
        out.append(drv.read_echo_us(5))

    now = lambda: sched.now_us  # noqa: E731
    sensor = JSNSR04T(water=water, climate=cold, clock=now, seed=2, bad_echo_rate=0.0)
    board = EmulatedBoard(sched, main, "pico_rfm95w", sensors=[sensor])
    board.power_on()
    sched.run_until(5_000_000)
    (echoes,) = out
    assert len(echoes) >= 4
    for e in echoes:
        assert abs(echo_to_mm(e, -1000) - 2000) < 15  # compensated at -10 degC
        assert echo_to_mm(e, 2000) - 2000 > 80  # 20 degC assumed: ~5 % too far
