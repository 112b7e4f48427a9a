"""The emulated TPL5110 power gate (lorafield_hw.tpl5110) on an emulated board: DONE cuts the
board until the timer's next period, a period without DONE power-cycles it (the timer's
watchdog), and the firmware's marker decides whether that power-on is a timed wake."""

import pytest
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.tpl5110 import IDD_MA
from lorafield_node import board as contract

S = 1_000_000
PERIOD_S = 900
GATED = {"tpl5110": {"done": 14, "period_s": PERIOD_S}}


def _board(main, options=GATED, profile="pico_rfm95w"):
    scheduler = Scheduler(seed=1)
    board = EmulatedBoard(scheduler, main, profile, options=options)
    board.power_on()
    return scheduler, board


def test_done_cuts_the_board_until_the_timers_next_period():
    awake_ms = 20_000

    def main(view):
        view.clock().sleep_ms(awake_ms)
        view.deepsleep(3_600_000)  # at least the period: DONE

    scheduler, board = _board(main)
    scheduler.run_until(100 * S)
    assert board.energy.state("board") == ("tpl5110 off", IDD_MA)
    assert board.energy.state("mcu") == ("off", 0.0)
    scheduler.run_until(3 * PERIOD_S * S + 5 * S)
    # boots at the periods the timer counts from the battery's connection (+ boot time)
    boot_s = board.profile.boot_ms / 1000
    assert [t / S for t, _ in board.boots] == [boot_s + k * PERIOD_S for k in range(4)]
    assert board.reset_causes == [contract.PWRON_RESET] + [contract.DEEPSLEEP_RESET] * 3
    assert board.tpl5110.cycles == 0


def test_planned_sleep_is_the_time_to_the_next_period_and_short_sleeps_stay_short():
    seen = []

    def main(view):
        view.clock().sleep_ms(30_000)
        seen.append((view.planned_sleep_ms(900_000), view.planned_sleep_ms(60_000)))
        view.deepsleep(3_600_000)

    scheduler, _ = _board(main)
    scheduler.run_until(10 * S + 31 * S)
    boot_ms = 250  # pico_rfm95w's boot to main.py
    assert seen == [(900_000 - 30_000 - boot_ms, 60_000)]


@pytest.mark.parametrize("profile", ["pico_rfm95w", "heltec_lora32_v2"])
def test_the_timers_watchdog_cycles_a_board_that_sleeps_short_and_the_marker_makes_it_a_wake(
    profile,
):
    """Alarm sampling: MCU deep sleeps of 60 s, never DONE. At the period's end the timer
    power-cycles the board; the firmware left its marker, so the boot is a timed wake."""

    def main(view):
        view.deepsleep(60_000)

    scheduler, board = _board(main, profile=profile)
    scheduler.run_until(PERIOD_S * S + 2 * S)
    assert board.tpl5110.cycles == 1
    cycle = [c for t, c in board.boots if t >= PERIOD_S * S]
    assert cycle == [contract.DEEPSLEEP_RESET]
    assert contract.PWRON_RESET not in board.reset_causes[1:]


def test_a_board_awake_at_the_periods_end_is_power_cycled_as_a_power_on():
    def main(view):
        view.clock().sleep_ms(2 * PERIOD_S * 1000)  # never done: a hung firmware

    scheduler, board = _board(main)
    scheduler.run_until(PERIOD_S * S + 2 * S)
    assert board.tpl5110.cycles == 1
    assert board.reset_causes == [contract.PWRON_RESET, contract.PWRON_RESET]


def test_no_gate_no_timer():
    def main(view):
        view.deepsleep(view.planned_sleep_ms(3_600_000))

    scheduler, board = _board(main, options=None)
    assert board.tpl5110 is None
    scheduler.run_until(3_600 * S + 2 * S)
    assert board.reset_causes == [contract.PWRON_RESET, contract.DEEPSLEEP_RESET]
    assert board.energy.state("mcu")[0] == "deepsleep"


def test_the_marker_is_a_file_a_battery_change_after_a_gated_sleep_reads_as_a_timed_wake():
    """Both are power-on resets to the MCU; only the marker tells them apart, and it is on
    the flash: what the real board does (lorafield_boards.common), the emulation does."""

    def main(view):
        view.deepsleep(3_600_000)

    scheduler, board = _board(main)
    scheduler.run_until(60 * S)
    board.power_cut()
    board.power_on()
    scheduler.run_until(62 * S)
    assert board.reset_causes == [contract.PWRON_RESET, contract.DEEPSLEEP_RESET]
