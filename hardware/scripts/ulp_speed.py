"""What a run of the parking sampler on the emulated ESP32 ULP costs, per engine.

    .venv/bin/python hardware/scripts/ulp_speed.py [--hours 3]

One bay with cars (ParkingScenario.generate), the QMC5883L at the ULP's RTC I2C, the energy
meter; the sampler every 5 s as the parking app starts it. Prints CPU µs per run for the
reference (the interpreter, one scheduler event per pause) and the fast path (translated
code running ahead of the scheduler), and for the fast path with the magnetometer's answers
replayed from a table: the program's own share (the rest is the magnetometer model, its
I2C transactions and their charge). The runs' results are the same either way
(tests/hardware/test_ulp_translate.py); this only says how long they take.
"""

import argparse
import time

from lorafield_hw.energy import EnergyMeter
from lorafield_hw.scenarios import ParkingScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import QMC5883L
from lorafield_hw.ulp import UlpFsm
from lorafield_node.ulp import parking as prog

S = 1_000_000


def bay(engine):
    scheduler = Scheduler(2)
    meter = EnergyMeter(lambda: scheduler.now_us)
    cars = ParkingScenario.generate(5, 24, arrivals_per_hour=4, mean_stay_min=20)
    magnetometer = QMC5883L(parking=cars, clock=lambda: scheduler.now_us, seed=13)
    magnetometer.charge_hook = lambda mas: meter.add_charge("sensors", mas)
    magnetometer.rail_changed(True)
    horizon = None
    if engine == "translated":  # nothing else on this board: ahead up to run_until's end
        horizon = lambda: scheduler._limit + 1  # noqa: E731
    ulp = UlpFsm(scheduler, [magnetometer], meter, None, horizon=horizon, engine=engine)
    ulp.load_binary(prog.ENTRY, prog.binary())
    ulp.set_slave(prog.SLAVE, 0x0D)
    for i, ut in enumerate(magnetometer.earth_field_ut):
        ulp.write(prog.V_BASE_X + i, prog.bias(round(ut * prog.LSB_PER_UT)))
    on, off = prog.thresholds(8)
    for var, value in ((prog.V_ON, on), (prog.V_OFF, off), (prog.V_DEBOUNCE, 3)):
        ulp.write(var, value)
    ulp.write(prog.V_HEARTBEAT, 0xFFF0)
    ulp.start(prog.ENTRY, 5 * S)
    return scheduler, ulp


def replayed(ulp):
    """The magnetometer's first answer to each I2C word, replayed: the program alone."""
    real, answers = ulp._i2c, {}

    def i2c(word):
        if word not in answers:
            answers[word] = (real(word), ulp.regs[0])
        pause, r0 = answers[word]
        if not (word >> 27) & 1:
            ulp.regs[0] = r0
        return pause

    ulp._i2c = i2c


def measure(engine, hours, program_only=False):
    scheduler, ulp = bay(engine)
    if program_only:
        replayed(ulp)
    cpu = time.process_time()
    scheduler.run_until(round(hours * 3600 * S))
    return (time.process_time() - cpu) / ulp.runs * 1e6, ulp.runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()
    for label, engine, program_only in (
        ("interpreter, an event per pause", "interpreter", False),
        ("translated, running ahead", "translated", False),
        ("translated, the program alone", "translated", True),
    ):
        us, runs = measure(engine, args.hours, program_only)
        print(f"{label:<34} {us:6.1f} µs a run ({runs} runs)")


if __name__ == "__main__":
    main()
