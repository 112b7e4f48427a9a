"""Each emulated sensor through its real bus protocol, with its scenario and faults."""

import struct

import pytest
from lorafield_hw.buses import I2C, UART, OneWire, OneWireError, crc8
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario, WaterLevelScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import A02YYUW, DS18B20, QMC5883L, SHT31
from lorafield_hw.sensors.sht31 import crc8 as sht_crc8


@pytest.fixture
def world():
    sched = Scheduler(seed=1)
    return sched, (lambda: sched.now_us)


def ms(sched, n):
    sched.advance(n * 1000)


# -- QMC5883L -------------------------------------------------------------------------------
def read_qmc(i2c):
    """What a QMC5883L driver does: wait for DRDY, burst-read 6 data bytes."""
    status = i2c.readfrom_mem(0x0D, 0x06, 1)[0]
    data = i2c.readfrom_mem(0x0D, 0x00, 6)
    return status, struct.unpack("<hhh", data)


def test_qmc5883l_registers_and_drdy(world):
    sched, clock = world
    i2c = I2C([QMC5883L(clock=clock, seed=3)], advance=sched.advance)
    assert i2c.scan() == [0x0D]
    assert i2c.readfrom_mem(0x0D, 0x0D, 1) == b"\xff"  # chip id
    assert i2c.readfrom_mem(0x0D, 0x06, 1)[0] & 0x01 == 0  # standby: no data
    i2c.writeto_mem(0x0D, 0x0B, b"\x01")  # SET/RESET period
    i2c.writeto_mem(0x0D, 0x09, bytes([0b00_00_00_01]))  # OSR 512, 2 G, 10 Hz, continuous
    status, _ = read_qmc(i2c)
    assert status & 0x01 == 0  # first sample comes after 1/ODR
    ms(sched, 101)
    status, (x, y, z) = read_qmc(i2c)
    assert status & 0x01
    # The Earth's field (18, 2, -44) uT = (0.18, 0.02, -0.44) G at 12000 LSB/G.
    assert abs(x - 2160) < 100 and abs(y - 240) < 100 and abs(z + 5280) < 100
    assert i2c.readfrom_mem(0x0D, 0x06, 1)[0] & 0x01 == 0  # reading data cleared DRDY
    ms(sched, 350)  # three samples unread
    assert i2c.readfrom_mem(0x0D, 0x06, 1)[0] & 0x05 == 0x05  # DRDY and DOR


def test_qmc5883l_sees_a_car_park_and_leave(world):
    sched, clock = world
    parking = ParkingScenario([(10, "arrive"), (60, "depart")], seed=5)
    i2c = I2C([QMC5883L(parking=parking, clock=clock, seed=3)], advance=sched.advance)
    i2c.writeto_mem(0x0D, 0x09, b"\x01")

    def z_at(t_s):
        sched.run_until(int(t_s * 1e6))
        return read_qmc(i2c)[1][2]

    empty, parked, gone = z_at(5), z_at(30), z_at(90)
    assert parking.occupied(30) and not parking.occupied(90)
    assert parked - empty < -15 * 120  # at least 15 uT more negative (120 LSB per uT)
    assert abs(gone - empty) < 60  # back to the empty-bay field, within noise
    # Noise: repeated samples of a static field differ, by a few mG.
    samples = [z_at(100 + i * 0.2) for i in range(20)]
    assert len(set(samples)) > 5
    assert max(samples) - min(samples) < 200


def test_qmc5883l_drifts_slowly_with_temperature(world):
    sched, clock = world
    climate = DiurnalTemperature(mean_c=10, amplitude_c=10, weather_sd_c=0, seed=1)
    sensor = QMC5883L(temperature=climate, noise_mg=0.0, drift_mg_per_c=2.0, clock=clock)
    cold = sensor.field_gauss(3 * 3600)  # 03:00, near the minimum
    warm = sensor.field_gauss(15 * 3600)  # 15:00, the maximum
    drift_mg = sum((a - b) ** 2 for a, b in zip(warm, cold, strict=True)) ** 0.5 * 1000
    assert abs(drift_mg - 40.0) < 0.5  # 20 degC apart (03:00 is the minimum) at 2 mG/degC


def test_unpowered_sensor_does_not_ack(world):
    sched, clock = world
    qmc = QMC5883L(clock=clock)
    i2c = I2C([qmc])
    qmc.rail_changed(False)
    assert i2c.scan() == []
    with pytest.raises(OSError) as info:
        i2c.readfrom_mem(0x0D, 0x0D, 1)
    assert info.value.args[0] == 19  # ENODEV


# -- SHT31 -----------------------------------------------------------------------------------
def test_sht31_crc_known_answer():
    assert sht_crc8(b"\xbe\xef") == 0x92  # datasheet 4.12


def test_sht31_single_shot_nacks_until_ready_then_converts(world):
    sched, clock = world
    climate = DiurnalTemperature(mean_c=20, amplitude_c=5, start_hour=15, weather_sd_c=0)
    i2c = I2C([SHT31(climate=climate, clock=clock, seed=2)], advance=sched.advance)
    i2c.writeto(0x44, b"\x24\x00")  # high repeatability, no clock stretching
    with pytest.raises(OSError):
        i2c.readfrom(0x44, 6)  # still measuring: NACK
    ms(sched, 16)
    data = i2c.readfrom(0x44, 6)
    assert sht_crc8(data[0:2]) == data[2] and sht_crc8(data[3:5]) == data[5]
    temp = -45 + 175 * int.from_bytes(data[0:2], "big") / 65535
    rh = 100 * int.from_bytes(data[3:5], "big") / 65535
    assert abs(temp - 25.0) < 0.5  # 15:00 is the daily maximum: 20 + 5
    assert abs(rh - climate.humidity_pct(0.016)) < 3
    with pytest.raises(OSError):
        i2c.readfrom(0x44, 6)  # the result was consumed


def test_sht31_clock_stretching_waits_on_the_bus(world):
    sched, clock = world
    i2c = I2C([SHT31(clock=clock)], advance=sched.advance)
    i2c.writeto(0x44, b"\x2c\x06")
    start = sched.now_us
    data = i2c.readfrom(0x44, 6)
    assert sched.now_us - start >= 15_000
    assert sht_crc8(data[0:2]) == data[2]


def test_sht31_glitches_show_up_as_crc_errors(world):
    sched, clock = world
    i2c = I2C([SHT31(clock=clock, glitch_rate=0.3, seed=4)], advance=sched.advance)
    bad = 0
    for _ in range(100):
        i2c.writeto(0x44, b"\x24\x16")
        ms(sched, 5)
        data = i2c.readfrom(0x44, 6)
        if sht_crc8(data[0:2]) != data[2] or sht_crc8(data[3:5]) != data[5]:
            bad += 1
    assert 15 < bad < 45


def test_sht31_status_register(world):
    sched, clock = world
    i2c = I2C([SHT31(clock=clock)], advance=sched.advance)
    i2c.writeto(0x44, b"\xf3\x2d")
    status = i2c.readfrom(0x44, 3)
    assert sht_crc8(status[:2]) == status[2]
    assert int.from_bytes(status[:2], "big") & 0x10  # reset detected after power-up


# -- DS18B20 ---------------------------------------------------------------------------------
class DS18X20:
    """The logic of MicroPython's ds18x20 driver (micropython-lib, MIT), verbatim in
    behaviour, so the emulated sensor is proven against the driver firmware will use."""

    def __init__(self, onewire):
        self.ow = onewire
        self.buf = bytearray(9)

    def scan(self):
        return [rom for rom in self.ow.scan() if rom[0] in (0x10, 0x22, 0x28)]

    def convert_temp(self):
        self.ow.reset(True)
        self.ow.writebyte(self.ow.SKIP_ROM)
        self.ow.writebyte(0x44)

    def read_scratch(self, rom):
        self.ow.reset()
        self.ow.select_rom(rom)
        self.ow.writebyte(0xBE)
        self.ow.readinto(self.buf)
        if self.ow.crc8(self.buf):
            raise Exception("CRC error")
        return self.buf

    def read_temp(self, rom):
        buf = self.read_scratch(rom)
        t = buf[1] << 8 | buf[0]
        if t & 0x8000:
            t = -((t ^ 0xFFFF) + 1)
        return t / 16


def test_ds18b20_rom_crc_and_search_finds_every_device(world):
    sched, clock = world
    sensors = [DS18B20(clock=clock, seed=s) for s in range(4)]
    ow = OneWire(sensors, advance=sched.advance)
    for sensor in sensors:
        assert sensor.rom[0] == 0x28 and crc8(sensor.rom) == 0
    found = DS18X20(ow).scan()
    assert sorted(bytes(r) for r in found) == sorted(s.rom for s in sensors)


def test_ds18b20_conversion_takes_750ms_of_virtual_time(world):
    sched, clock = world
    climate = DiurnalTemperature(mean_c=-5, amplitude_c=0, weather_sd_c=0)
    sensor = DS18B20(climate=climate, clock=clock, seed=1)
    ow = OneWire([sensor], advance=sched.advance)
    ds = DS18X20(ow)
    (rom,) = ds.scan()
    assert ds.read_temp(rom) == 85.0  # power-on value
    ds.convert_temp()
    assert ow.readbit() == 0  # conversion running: read slots return 0
    ms(sched, 300)
    assert ds.read_temp(rom) == 85.0  # too early: the old register
    ms(sched, 460)
    temp = ds.read_temp(rom)
    assert abs(temp - (-5.0)) <= 0.5 and temp * 16 == int(temp * 16)  # 1/16 degC steps
    assert sched.now_us >= 750_000


def test_ds18b20_resolution_and_scratchpad_write(world):
    sched, clock = world
    sensor = DS18B20(clock=clock, seed=1)
    ow = OneWire([sensor], advance=sched.advance)
    ow.reset()
    ow.writebyte(0xCC)
    ow.writebyte(0x4E)
    ow.write(bytes([0x20, 0x10, 0x1F]))  # TH, TL, 9-bit config
    assert sensor.resolution_bits() == 9
    ow.reset()
    ow.writebyte(0xCC)
    ow.writebyte(0x44)
    ms(sched, 94)
    ds = DS18X20(ow)
    temp = ds.read_temp(sensor.rom)
    assert (temp * 2) == int(temp * 2)  # 9 bits: 0.5 degC steps


def test_ds18b20_bad_crc_is_detected_by_the_driver(world):
    sched, clock = world
    sensor = DS18B20(clock=clock, seed=1, glitch_rate=0.5)
    ds = DS18X20(OneWire([sensor], advance=sched.advance))
    errors = 0
    for _ in range(40):
        try:
            ds.read_temp(sensor.rom)
        except Exception as exc:  # the driver raises a bare Exception("CRC error")
            assert str(exc) == "CRC error"
            errors += 1
    assert 8 < errors < 32


def test_onewire_without_devices_has_no_presence():
    ow = OneWire([])
    assert ow.reset() is False
    with pytest.raises(OneWireError):
        ow.reset(required=True)
    assert ow.scan() == []


# -- A02YYUW ---------------------------------------------------------------------------------
def parse_frames(data):
    """What an A02YYUW driver does: find 0xFF headers, check the sum."""
    good, bad = [], 0
    i = 0
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        if (data[i] + data[i + 1] + data[i + 2]) & 0xFF == data[i + 3]:
            good.append(data[i + 1] << 8 | data[i + 2])
            i += 4
        else:
            bad += 1
            i += 1
    return good, bad


def test_a02yyuw_frames_arrive_at_9600_baud(world):
    sched, clock = world
    water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=500, wobble_mm=0)
    sensor = A02YYUW(water=water, bad_echo_rate=0, corrupt_rate=0, clock=clock, seed=1)
    uart = UART(sensor, clock=clock, advance=sched.advance)
    assert uart.any() == 0 and uart.read() is None
    ms(sched, 500 + 100 * 9 + 5)  # startup, then 10 frames of 4 bytes (~4.2 ms each)
    data = uart.read()
    assert len(data) == 40
    good, bad = parse_frames(data)
    assert bad == 0 and len(good) == 10
    assert all(abs(d - 2500) < 40 for d in good)


def test_a02yyuw_bad_echoes_and_corrupt_frames(world):
    sched, clock = world
    water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=500, wobble_mm=0)
    sensor = A02YYUW(water=water, bad_echo_rate=0.05, corrupt_rate=0.05, clock=clock, seed=7)
    uart = UART(sensor, clock=clock, rxbuf=4096)
    good, bad = [], 0
    for _ in range(20):
        ms(sched, 2000)
        g, b = parse_frames(uart.read() or b"")
        good += g
        bad += b
    outliers = [d for d in good if abs(d - 2500) > 100]
    assert sensor.bad_echoes > 0 and sensor.corrupted > 0
    assert 0 < len(outliers) <= sensor.bad_echoes
    assert bad >= sensor.corrupted // 2


def test_uart_buffer_overflow_drops_new_bytes(world):
    sched, clock = world
    sensor = A02YYUW(clock=clock, bad_echo_rate=0, corrupt_rate=0)
    uart = UART(sensor, clock=clock, rxbuf=64)
    ms(sched, 10_000)
    assert uart.any() == 64 and uart.overruns > 0
    good, _ = parse_frames(uart.read())
    assert len(good) == 16  # the oldest frames survive, intact


def test_water_level_flood_wave():
    water = WaterLevelScenario(
        mount_height_mm=3000, base_level_mm=400, floods=[(3600, 7200, 1500, 14400)], seed=2
    )
    dry = water.distance_mm(0)
    peak = water.distance_mm(3600 + 7200)
    after = water.distance_mm(3600 + 7200 + 14400 + 3600)
    assert abs(dry - 2600) < 20
    assert abs(peak - 1100) < 20
    assert abs(after - dry) < 40
    with pytest.raises(ValueError):
        WaterLevelScenario(floods=[(0, 0, 100, 10)])


def test_parking_scenario_is_seeded_and_validated():
    a = ParkingScenario.generate(seed=3, hours=24)
    b = ParkingScenario.generate(seed=3, hours=24)
    assert a.events == b.events and len(a.events) > 4
    assert a.field_offset_ut(5000) == b.field_offset_ut(5000)
    with pytest.raises(ValueError):
        ParkingScenario([(1, "depart")])


def test_diurnal_cycle():
    climate = DiurnalTemperature(mean_c=12, amplitude_c=6, peak_hour=15, seed=1)
    afternoon, night = climate.temperature_c(15 * 3600), climate.temperature_c(3 * 3600)
    assert afternoon - night > 10
    assert climate.humidity_pct(3 * 3600) > climate.humidity_pct(15 * 3600)
