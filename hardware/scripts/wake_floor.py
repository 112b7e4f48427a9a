"""The emulation's floor per firmware wake: boards whose firmware does nothing but light-sleep.

    .venv/bin/python hardware/scripts/wake_floor.py [--boards 500] [--hours 1] [--sleep-ms 10000]

Each board's firmware is a loop of `lightsleep(sleep_ms)` -- once bare, once feeding a
watchdog first, as the app framework does -- on emulated boards (greenlet processes, energy
meter, radio on the air). Prints the CPU time per wake-up: what one firmware wake costs
before the firmware does anything, the lower bound of any field's cost per wake (a parking
sensor of the demo wakes every 10 s).
"""

import argparse
import time

from lorafield_hw.air import Air, PathLoss
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.scheduler import Scheduler


def measure(boards, hours, sleep_ms, feed):
    scheduler = Scheduler(seed=1, greenlets=True)
    air = Air(scheduler, PathLoss())

    def main(view):
        watchdog = view.watchdog(3 * sleep_ms) if feed else None
        while True:
            if watchdog is not None:
                watchdog.feed()
            view.lightsleep(sleep_ms)

    for i in range(boards):
        board = EmulatedBoard(
            scheduler, main, "heltec_lora32_v2", name=f"b{i}", air=air, position=(i, 0), seed=i
        )
        scheduler.at(i * 7919 % (sleep_ms * 1000), board.power_on)  # spread the phases
    end_us = int(hours * 3600e6)
    cpu = time.process_time()
    scheduler.run_until(end_us)
    cpu = time.process_time() - cpu
    wakes = scheduler.handoffs
    scheduler.shutdown()
    return cpu, wakes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", type=int, default=500)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--sleep-ms", type=int, default=10_000)
    args = parser.parse_args()
    if args.boards < 1 or args.hours <= 0 or args.sleep_ms < 1:
        parser.error("--boards, --hours and --sleep-ms must be positive")
    for feed in (False, True):
        cpu, wakes = measure(args.boards, args.hours, args.sleep_ms, feed)
        label = "lightsleep + watchdog feed" if feed else "lightsleep only"
        print(
            f"{label:<27} {args.boards} boards x {args.hours:g} h: {wakes:,} wakes in"
            f" {cpu:.2f} s CPU = {1e6 * cpu / max(1, wakes):.1f} us per wake"
        )


if __name__ == "__main__":
    main()
