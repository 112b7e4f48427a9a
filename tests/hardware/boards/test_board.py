"""The emulated board: boots, deep sleep, power cuts, watchdog, IRQs, clock, sensors."""

import random
import struct

import pytest
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.flash import NorFlash
from lorafield_hw.scheduler import ProcessKilled, Scheduler
from lorafield_hw.sensors import SHT31
from lorafield_node import board as contract

S = 1_000_000


def make(main, profile="pico_rfm95w", **kwargs):
    sched = Scheduler(seed=1)
    board = EmulatedBoard(sched, main, profile, **kwargs)
    return sched, board


def test_boot_runs_the_entry_with_a_board_interface():
    seen = []

    def main(board):
        assert isinstance(board, contract.Board)
        seen.append((board.reset_cause(), board.unique_id(), len(board.random_bytes(8))))

    sched, board = make(main)
    board.power_on()
    sched.run_until(2 * S)
    assert seen == [(contract.PWRON_RESET, board.uid, 8)]
    assert len(board.uid) == 8  # RP2040 unique id
    assert board.boots[0][0] == board.profile.boot_ms * 1000
    assert board.halted  # main returned: the REPL idles


def test_deep_sleep_discards_ram_and_keeps_the_store():
    seen = []
    leaked = []

    def main(board):
        store = board.store()
        boots = store.get("boots", b"\x00")[0] + 1
        store.put("boots", bytes([boots]))
        seen.append((board.reset_cause(), boots, getattr(board, "ram_note", None)))
        board.ram_note = "set before deep sleep"  # only in RAM
        leaked.append(board.i2c())
        board.deepsleep(60_000)
        seen.append("deepsleep returned")  # never runs

    sched, board = make(main)
    board.power_on()
    sched.run_until(200 * S)
    assert seen == [
        (contract.PWRON_RESET, 1, None),
        (contract.DEEPSLEEP_RESET, 2, None),
        (contract.DEEPSLEEP_RESET, 3, None),
        (contract.DEEPSLEEP_RESET, 4, None),
    ]
    boot_us = board.profile.boot_ms * 1000
    times = [t for t, _ in board.boots]
    # boot to boot: the firmware's flash writes (ms), 60 s asleep, the boot time
    for a, b in zip(times, times[1:], strict=False):
        assert 60 * S + boot_us < b - a < 60 * S + boot_us + 60_000
    # What the firmware kept from an earlier boot is dead hardware now.
    with pytest.raises(ProcessKilled):
        leaked[0].scan()


def test_power_cut_stops_the_firmware_and_power_on_boots_again():
    progress = []

    def main(board):
        clock = board.clock()
        progress.append(("boot", board.reset_cause()))
        for i in range(100):
            clock.sleep_ms(100)
            progress.append(i)

    sched, board = make(main)
    board.power_on()
    sched.run_until(int(0.25 * S) + 550_000)  # boot at 0.25 s, then 5.5 ticks
    board.power_cut()
    assert progress[-1] == 4
    sched.run_until(10 * S)
    assert progress[-1] == 4  # nothing ran without power
    board.power_on()
    sched.run_until(10 * S + 250_000 + 150_000)  # boot, then one tick
    assert progress[-2:] == [("boot", contract.PWRON_RESET), 0]


def counter_firmware(committed):
    """Saves a frame counter as fast as it can; reports each value once put() returned."""

    def main(board):
        store = board.store()
        raw = store.get("fcnt")
        fcnt = struct.unpack("<I", raw)[0] if raw else 0
        committed.append(("boot", fcnt))
        while True:
            fcnt += 1
            store.put("fcnt", struct.pack("<I", fcnt))
            committed.append(fcnt)
            board.clock().sleep_ms(1)

    return main


def check_counter_history(committed):
    """After every boot the counter is the last committed value or the one in flight."""
    last = 0
    for entry in committed:
        if isinstance(entry, tuple):
            assert entry[1] in (last, last + 1), committed
            last = entry[1]
        else:
            assert entry == last + 1
            last = entry


def test_power_cuts_at_random_instants_never_lose_a_committed_counter():
    committed = []
    sched, board = make(counter_firmware(committed), "heltec_lora32_v2")
    rnd = random.Random(3)
    board.power_on()
    for _ in range(60):
        sched.run_until(sched.now_us + rnd.randrange(400_000, 1_200_000))
        board.power_cut()
        board.power_on()
    sched.run_until(sched.now_us + 2 * S)
    board.power_cut()
    check_counter_history(committed)
    assert sum(isinstance(e, tuple) for e in committed) == len(board.boots) > 40
    assert board.flash.torn > 10  # many cuts landed inside a program or an erase
    assert max(board.flash.erase_counts) > 3  # compactions happened during the run


def test_power_cut_during_each_flash_operation_of_a_compaction():
    # A small flash (2 x 256 bytes): a compaction every 16 saves, inside the 20 operations
    # tried; each operation index is cut before, during and after.
    for phase in ("before", "during", "after"):
        for operation in range(20):
            committed = []
            flash = NorFlash(block_size=256, block_count=2, seed=operation)
            sched, board = make(counter_firmware(committed), "heltec_lora32_v2", flash=flash)
            board.power_on()
            sched.run_until(int(0.6 * S))
            board.cut_at_flash_operation(operation, phase)
            sched.run_until(int(1.0 * S))
            assert not board.powered  # the armed cut fired
            board.power_on()
            sched.run_until(int(2 * S))
            check_counter_history(committed)
            assert committed[-1] != committed[-2]


def test_watchdog_resets_a_hung_firmware():
    events = []

    def main(board):
        clock = board.clock()
        events.append(("boot", board.reset_cause(), clock.ticks_ms()))
        if board.reset_cause() == contract.WDT_RESET:
            board.deepsleep(None)
        wdt = board.watchdog(2000)
        for _ in range(5):
            clock.sleep_ms(1500)
            wdt.feed()
        events.append("hang")
        clock.sleep_ms(60_000)  # stuck: no feed
        events.append("never")

    sched, board = make(main)
    board.power_on()
    sched.run_until(30 * S)
    assert [e if isinstance(e, str) else e[:2] for e in events] == [
        ("boot", contract.PWRON_RESET),
        "hang",
        ("boot", contract.WDT_RESET),
    ]
    boot = board.profile.boot_ms * 1000
    read = 10  # the one ticks_ms() read before the watchdog started
    assert board.boots[1][0] == boot + read + 5 * 1_500_000 + 2_000_000 + boot


def test_ticks_wrap_like_micropython():
    seen = []

    def main(board):
        clock = board.clock()
        t0 = clock.ticks_ms()
        clock.sleep_ms(2000)
        t1 = clock.ticks_ms()
        seen.append((t0, t1, clock.ticks_diff(t1, t0), clock.ticks_add(t0, 2000)))

    sched, board = make(main, ticks_start_ms=contract.TICKS_MAX - 999)
    board.power_on()
    sched.run_until(5 * S)
    ((t0, t1, diff, added),) = seen
    assert t1 < t0  # wrapped
    assert diff == 2000
    assert added == t1


def test_switched_sensor_rail_and_i2c_sensor_through_the_board():
    results = []

    def main(board):
        i2c = board.i2c()
        try:
            i2c.writeto(0x44, b"\x24\x00")
        except OSError as exc:
            results.append(("off", exc.args[0]))
        board.sensor_power(True)
        i2c.writeto(0x44, b"\x24\x00")
        board.clock().sleep_ms(16)
        data = i2c.readfrom(0x44, 6)
        results.append(("on", -45 + 175 * int.from_bytes(data[:2], "big") / 65535))
        board.sensor_power(False)

    sched = Scheduler(seed=2)
    sensor = SHT31(clock=lambda: sched.now_us, seed=1)
    board = EmulatedBoard(sched, main, "heltec_lora32_v2", sensors=[sensor])
    board.power_on()
    sched.run_until(2 * S)
    assert results[0] == ("off", 19)  # Vext off: the sensor does not ACK
    assert results[1][0] == "on" and abs(results[1][1] - 25.0) < 0.5
    assert board.energy.charge_mas["sensors"] > 0  # the measurement was counted


def test_energy_totals_for_a_known_schedule():
    def main(board):
        board.clock().sleep_ms(1000)  # active
        board.lightsleep(10_000)
        board.deepsleep(100_000)

    sched, board = make(main, "heltec_lora32_v2")
    board.power_on()
    boot_s = board.profile.boot_ms / 1000
    end_s = boot_s + 1 + 10 + 100  # just before the wake's boot
    sched.run_until(int(end_s * S))
    report = board.energy_report()
    c = board.profile.currents
    # (clock reads cost 10 us of active time each; none happen in this firmware)
    assert report["time_s"]["mcu active"] == pytest.approx(boot_s + 1)
    assert report["time_s"]["mcu lightsleep"] == pytest.approx(10)
    assert report["time_s"]["mcu deepsleep"] == pytest.approx(100)
    expected_mcu = ((boot_s + 1) * c["active"] + 10 * c["lightsleep"] + 100 * c["deepsleep"]) / 3600
    assert report["charge_mah"]["mcu"] == pytest.approx(expected_mcu)
    assert report["charge_mah"]["board"] == pytest.approx(end_s * c["board_floor"] / 3600)
    total = expected_mcu + end_s * c["board_floor"] / 3600
    assert report["total_mah"] == pytest.approx(total)
    assert report["average_ma"] == pytest.approx(total / (end_s / 3600))
    assert report["projected_life_days"] == pytest.approx(1000 / report["average_ma"] / 24)


def test_battery_voltage_falls_as_charge_is_used():
    from lorafield_hw.energy import Battery

    readings = []

    def main(board):
        for _ in range(6):
            readings.append(board.battery_mv())
            board.clock().sleep_ms(60_000)  # 40 mA for a minute: 0.67 mAh

    sched, board = make(main, "heltec_lora32_v2", battery=Battery("lipo", 4.0))
    board.power_on()
    sched.run_until(400 * S)
    assert readings[0] > 4000
    assert all(b < a for a, b in zip(readings, readings[1:], strict=False))
    assert readings[-1] < 3800


# -- the radio wired through the board ------------------------------------------------------
def transmit_firmware(results, power_reg=0x8C):
    """Raw register writes of a TX (SX1276 datasheet 4.1.6), waiting for DIO0 in light
    sleep: the IRQ must end the sleep at TxDone."""

    def main(board):
        spi, cs, reset, dio0 = board.radio()
        clock = board.clock()

        def write(reg, value):
            cs.value(0)
            spi.write(bytes([reg | 0x80, value]))
            cs.value(1)

        def read(reg):
            buf = bytearray(1)
            cs.value(0)
            spi.write(bytes([reg]))
            spi.readinto(buf)
            cs.value(1)
            return buf[0]

        reset.value(0)
        clock.sleep_us(100)
        reset.value(1)
        clock.sleep_ms(5)
        results.append(("version", read(0x42)))
        write(0x01, 0x80)  # LoRa, sleep
        write(0x01, 0x81)  # standby
        frf = 868_100_000 * (1 << 19) // 32_000_000
        write(0x06, frf >> 16)
        write(0x07, (frf >> 8) & 0xFF)
        write(0x08, frf & 0xFF)
        write(0x09, power_reg)  # PA_BOOST, OutputPower 12: 14 dBm
        write(0x1D, 0x72)  # 125 kHz, 4/5, explicit header
        write(0x1E, 0x74)  # SF7, CRC on
        write(0x0D, 0x80)  # FIFO pointer at TX base
        cs.value(0)
        spi.write(bytes([0x80]) + bytes(range(20)))
        cs.value(1)
        write(0x22, 20)  # payload length
        write(0x40, 0x40)  # DIO0 = TxDone
        woke = []
        dio0.irq(lambda pin: woke.append(pin.value()), trigger=dio0.IRQ_RISING)
        start = clock.ticks_us()
        write(0x01, 0x83)  # TX
        board.lightsleep(5000)
        results.append(("woke after us", clock.ticks_diff(clock.ticks_us(), start), list(woke)))
        results.append(("irq flags", read(0x12)))
        # RX single with an 8-symbol timeout, RxTimeout on DIO1 (mapping 00 in bits 5-4).
        write(0x12, 0xFF)
        dio1 = board.radio_dio1()
        dio1.irq(lambda pin: woke.append("dio1"), trigger=dio1.IRQ_RISING)
        write(0x1F, 8)
        start = clock.ticks_us()
        write(0x01, 0x86)  # RX single
        board.lightsleep(5000)
        results.append(("rx timeout after us", clock.ticks_diff(clock.ticks_us(), start), woke))
        results.append(("irq flags", read(0x12)))
        write(0x01, 0x80)  # sleep
        board.deepsleep(10_000)

    return main


def test_radio_tx_wakes_light_sleep_on_dio0_and_is_counted_as_tx_energy():
    from lorafield_hw.airtime import time_on_air_us
    from lorafield_hw.sx1276 import SX1276

    results = []
    sched = Scheduler(seed=1)
    chip = SX1276(sched)
    board = EmulatedBoard(sched, transmit_firmware(results), "heltec_lora32_v2", radio=chip)
    board.power_on()
    sched.run_until(3 * S)
    airtime = time_on_air_us(20, 7, 125_000, coding_rate=5, crc=True, ldro=False)
    assert results[0] == ("version", 0x12)
    label, woke_after, woke = results[1]
    assert woke == [1]  # the handler ran, in the firmware, with DIO0 high
    assert airtime <= woke_after < airtime + 2_000  # woke at TxDone, not after 5 s
    assert results[2] == ("irq flags", 0x08)
    _, timeout_after, woke = results[3]
    assert woke == [1, "dio1"]
    assert 8 * 1024 <= timeout_after < 8 * 1024 + 1000  # 8 symbols of 1.024 ms at SF7
    assert results[4] == ("irq flags", 0x80)  # RxTimeout
    report = board.energy_report()
    assert report["time_s"]["radio tx 14 dBm PA_BOOST"] == pytest.approx(airtime / 1e6, abs=2e-4)
    assert report["time_s"]["radio rx"] == pytest.approx(8 * 1024 / 1e6, abs=2e-4)
    asleep = (airtime + 8 * 1024) / 1e6
    assert report["time_s"]["mcu lightsleep"] == pytest.approx(asleep, abs=2e-3)
    from lorafield_hw.energy import sx1276_tx_ma

    assert sx1276_tx_ma(17, True) == 87.0 and sx1276_tx_ma(20, True) == 120.0
    assert report["charge_mah"]["radio"] > sx1276_tx_ma(14, True) * airtime / 1e6 / 3600
    assert report["time_s"]["radio sleep"] > 2.0  # put to sleep before deep sleep


def test_a_flat_battery_browns_the_board_out():
    from lorafield_hw.energy import Battery

    ticks = []

    def main(board):
        while True:
            board.clock().sleep_ms(100)  # ~40 mA active on an ESP32
            ticks.append(board.battery_mv())

    battery = Battery("lipo", 0.01)  # 36 mA*s
    sched, board = make(main, "heltec_lora32_v2", battery=battery)
    board.power_on()
    sched.run_until(10 * S)
    assert board.browned_out and not board.powered
    assert battery.empty
    # 36 mA*s: the 0.45 s boot at ~41 mA takes half, four 100 ms ticks the rest
    assert 3 <= len(ticks) <= 5
    # checked at board events: it overdraws by at most one 100 ms tick (~0.0011 mAh)
    used = board.energy.total_mah()
    assert 0.01 <= used < 0.01 + 0.0012
    sched.run_until(20 * S)
    assert board.energy.total_mah() == used  # nothing draws without power
    assert ticks[-1] < ticks[0]
