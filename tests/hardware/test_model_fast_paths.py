"""The chip and bus models' fast paths give what their plain definitions give.

Each fast path (a burst read as one slice, only the cars that can weigh summed, a cached day
mean, a cached SPI time, the NSS line bypassing set_chip_select) is checked against the
straightforward computation it replaces, bit for bit.
"""

import math
import random

from lorafield_hw.buses import I2C, OneWire
from lorafield_hw.radio_bus import MachineSPI, chip_select_line
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario, _smoothstep
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import DS18B20, QMC5883L
from lorafield_hw.sx1276 import SX1276


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


# -- scenarios ------------------------------------------------------------------------------
def full_sum(scenario, t_s):
    """ParkingScenario's field by its definition: every car's weighted signature."""
    x = y = z = 0.0
    for arrive, depart, (dx, dy, dz) in scenario._cars:
        weight = _smoothstep((t_s - arrive) / scenario.ramp_s)
        if depart != math.inf:
            weight *= 1.0 - _smoothstep((t_s - depart) / scenario.ramp_s)
        x += weight * dx
        y += weight * dy
        z += weight * dz
    return (x, y, z)


def test_parking_field_sums_the_same_as_over_every_car():
    for seed in range(6):
        scenario = ParkingScenario.generate(seed, 48, arrivals_per_hour=2.0)
        assert len(scenario._cars) > 20
        rnd = random.Random(seed)
        times = [rnd.uniform(-10.0, 49 * 3600.0) for _ in range(2000)]
        for arrive, depart, _ in scenario._cars:  # the ramps' edges, where rounding bites
            for edge in (arrive, arrive + 3.0, depart, depart + 3.0, depart + 4.0):
                if edge != math.inf:
                    times += [edge, math.nextafter(edge, 0.0), math.nextafter(edge, math.inf)]
        for t in times:
            assert repr(scenario.field_offset_ut(t)) == repr(full_sum(scenario, t)), t


def test_parking_field_follows_a_changed_ramp():
    scenario = ParkingScenario([(100.0, "arrive"), (500.0, "depart")], seed=1)
    scenario.ramp_s = 50.0  # the search keys were built for 3 s: the full sum is used
    for t in (90.0, 120.0, 149.0, 520.0, 549.0, 551.0):
        assert scenario.field_offset_ut(t) == full_sum(scenario, t)
    assert scenario.field_offset_ut(520.0) != (0.0, 0.0, 0.0)


def test_diurnal_day_means_are_the_seeded_draws():
    climate = DiurnalTemperature(seed=7, weather_sd_c=2.0)
    first = climate.temperature_c(30 * 3600.0)
    assert DiurnalTemperature(seed=7, weather_sd_c=2.0).temperature_c(30 * 3600.0) == first
    assert climate._day_mean(1) == random.Random(7 * 1_000_003 + 1).gauss(0.0, 2.0)
    climate.weather_sd_c = 0.0  # a changed setting is not served from the cache
    assert climate.temperature_c(30 * 3600.0) == 12.0 + 6.0 * climate._phase(30 * 3600.0)


# -- QMC5883L bursts ------------------------------------------------------------------------
def twin_magnetometers(rollover):
    clock = Clock()
    parking = ParkingScenario([(0.5, "arrive")], seed=2)
    chips = [QMC5883L(parking=parking, clock=clock, seed=4) for _ in range(2)]
    for chip in chips:
        chip.i2c_write(bytes((0x0A, 0x40 if rollover else 0x00)))
        chip.i2c_write(bytes((0x09, 0x0D)))  # continuous, 200 Hz
    return clock, chips


def test_qmc_burst_reads_as_byte_by_byte_reads():
    for rollover in (False, True):
        for start, length in (
            (0x00, 6),
            (0x00, 7),
            (0x00, 9),
            (0x03, 5),
            (0x05, 2),
            (0x06, 3),
            (0x0C, 4),
        ):
            clock, (burst, single) = twin_magnetometers(rollover)
            clock.t = 1_000_000
            burst.i2c_write(bytes((start,)))
            single.i2c_write(bytes((start,)))
            whole = burst.i2c_read(length)
            pieces = b"".join(single.i2c_read(1) for _ in range(length))
            assert whole == pieces, (rollover, start, length)
            assert burst._pointer == single._pointer
            assert burst.regs == single.regs


def test_qmc_register_read_is_a_pointer_write_and_a_one_byte_read():
    """read_register (the ULP's I2C_RD in one call) against the two bus operations, over a
    random walk of registers, modes, rollover and time, charge included."""
    rnd = random.Random(5)
    clock, (fast, plain) = twin_magnetometers(False)
    charges = {id(fast): [], id(plain): []}
    for chip in (fast, plain):
        chip.charge_hook = charges[id(chip)].append
    for _ in range(2000):
        clock.t += rnd.choice((0, 1, 300, 2_000, 5_000, 40_000))
        if rnd.random() < 0.1:
            reg, value = rnd.choice(((0x09, rnd.choice((0x0D, 0x00, 0x01, 0x1D))), (0x0A, 0x40)))
            value = value if rnd.random() < 0.8 else rnd.randrange(256) & 0x7F
            for chip in (fast, plain):
                chip.i2c_write(bytes((reg, value)))
            continue
        reg = rnd.choice((0, 1, 2, 3, 4, 5, 6, 7, 0x0D, 0x0E, 0x20))
        plain.i2c_write(bytes((reg,)))
        assert fast.read_register(reg) == plain.i2c_read(1)
        assert (fast._pointer, fast.regs, fast._read) == (plain._pointer, plain.regs, plain._read)
    assert charges[id(fast)] == charges[id(plain)] and len(charges[id(fast)]) > 100


def test_qmc_data_read_clears_drdy_seen_later_in_the_same_burst():
    clock, (chip, _) = twin_magnetometers(False)
    clock.t = 1_000_000
    chip.i2c_write(b"\x06")
    assert chip.i2c_read(1)[0] & 0x01  # DRDY
    chip.i2c_write(b"\x00")
    assert chip.i2c_read(7)[6] & 0x01 == 0  # the status byte after the data: cleared


def test_qmc_samples_through_the_bus_charge_the_same_time():
    clock = Clock()
    spent = []

    def advance(us):
        spent.append(us)
        clock.t += us

    chip = QMC5883L(clock=clock, seed=1)
    i2c = I2C([chip], advance=advance)
    i2c.writeto_mem(0x0D, 0x09, b"\x0d")
    i2c.readfrom_mem_into(0x0D, 0x00, bytearray(6))
    # 100 kHz: (bytes + address) * 9 clocks: write 2+1, pointer 1+1, read 6+1
    assert spent == [270, 180, 630]


# -- one-wire -------------------------------------------------------------------------------
def onewire_world():
    clock = Clock()
    spent = []

    def advance(us):
        spent.append(us)
        clock.t += us

    sensor = DS18B20(clock=clock, seed=3)
    return clock, spent, sensor, OneWire([sensor], advance=advance)


def test_onewire_bytes_cost_one_slot_per_bit():
    clock, spent, sensor, ow = onewire_world()
    assert ow.reset()
    ow.writebyte(0xCC)
    ow.writebyte(0xBE)
    scratch = bytearray(9)
    ow.readinto(scratch)
    assert sum(spent) == clock.t == OneWire.RESET_US + OneWire.SLOT_US * (16 + 72)
    assert scratch[:2] == b"\x50\x05"  # +85 degC, the power-up value
    assert ow.crc8(scratch) == 0


def test_onewire_byte_acts_after_its_last_slot_and_conversion_polls_per_slot():
    clock, spent, sensor, ow = onewire_world()
    ow.reset()
    ow.writebyte(0xCC)
    ow.writebyte(0x44)  # CONVERT T: 750 ms at 12 bits from the end of the command byte
    assert sensor._convert_done_us == clock.t + 750_000
    spent.clear()
    assert ow.readbyte() == 0  # converting: every slot reads the progress at its own time
    assert spent == [OneWire.SLOT_US] * 8
    clock.t = sensor._convert_done_us - OneWire.SLOT_US - 1
    assert ow.readbit() == 0
    assert ow.readbit() == 1


def test_onewire_unbatched_for_devices_without_the_declaration():
    class Line:
        """A device whose read slots depend on time: high from t = 200 us."""

        def __init__(self, clock):
            self.clock = clock

        def ow_reset(self):
            return True

        def ow_read_bit(self):
            return 1 if self.clock() >= 200 else 0

    clock = Clock()

    def advance(us):
        clock.t += us

    ow = OneWire([Line(clock)], advance=advance)
    assert ow.readbyte() == 0b11111100  # slots end at 70, 140, 210, ...


# -- SX1276 ---------------------------------------------------------------------------------
def test_spi_time_follows_each_clock_rate():
    scheduler = Scheduler(0)
    chips = [SX1276(scheduler, name=f"c{i}", spi_hz=hz) for i, hz in enumerate((3_000_000, 7))]
    for chip in chips:
        for n in (1, 2, 3, 300):
            chip._time_debt_us = 0.0
            chip.select()
            debt = chip._time_debt_us
            chip.transfer(bytes(n))
            expected = debt + n * 8_000_000 / chip.spi_hz
            assert chip._time_debt_us == expected - int(expected)
            chip.deselect()


def test_chip_select_line_drives_transactions():
    scheduler = Scheduler(0)
    chip = SX1276(scheduler)
    spi, cs = MachineSPI(chip), chip_select_line(chip)
    cs.value(0)
    assert chip._selected and cs.value() == 0
    spi.write(bytearray((0x42,)))
    version = bytearray(1)
    spi.readinto(version)
    cs(1)
    assert not chip._selected and cs.value() == 1
    assert version == b"\x12"
    spi.write(bytearray((0x42,)))  # not selected: no answer
    assert spi.read(1) == b"\x00"


def test_fifo_bursts_as_byte_by_byte_transfers():
    """A FIFO burst in one transfer == the same bytes one transfer each (pointer wrap at 256,
    no FIFO access in sleep mode)."""
    for pointer, mode in ((0x10, 0x81), (0xFA, 0x81), (0x10, 0x80)):
        chips = [SX1276(Scheduler(0), name=f"c{i}") for i in range(2)]
        for chip in chips:
            chip.write_register(0x01, 0x80)  # LoRa, sleep
            chip.write_register(0x01, mode)
            chip.write_register(0x0D, pointer)
        payload = bytes(range(1, 13))
        burst, single = chips
        burst.transaction(bytes((0x80,)) + payload)
        single.select()
        single.transfer(b"\x80")
        for byte in payload:
            single.transfer(bytes((byte,)))
        single.deselect()
        assert burst.fifo == single.fifo and burst.regs == single.regs
        for chip in chips:
            chip.write_register(0x0D, pointer)
        got = burst.transaction(bytes(13))[1:]
        single.select()
        single.transfer(b"\x00")
        pieces = b"".join(single.transfer(b"\x00") for _ in payload)
        single.deselect()
        assert got == pieces == (payload if mode == 0x81 else bytes(12))
        assert burst.regs == single.regs
