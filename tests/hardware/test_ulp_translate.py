"""The ULP's fast path against its reference: translated code (lorafield_hw.ulp_translate)
running ahead of the scheduler must give exactly what the interpreter gives with one
scheduler event per pause -- memory, registers, flags, stage counter, wake times, I2C
traffic, energy to the last bit, and the same error -- on random programs with random
inputs, and on the parking sampler in a bay with cars."""

import random

import pytest
from lorafield_hw import ulp_translate
from lorafield_hw.energy import EnergyMeter
from lorafield_hw.scenarios import ParkingScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import QMC5883L
from lorafield_hw.ulp import MEM_WORDS, UlpFsm
from lorafield_node.ulp import parking as prog

S = 1_000_000
DATA = 1024  # random programs keep their variables here (and sometimes write their code)


class Register8:
    """An I2C device of eight byte registers whose reads mix the register, the time and a
    seeded stream, and which draws charge for the time since its last access: what a run
    reads depends on when it reads, and the meter sees every access."""

    def __init__(self, address, seed, clock, meter):
        self.address = address
        self.random = random.Random(seed)
        self.regs = bytearray(self.random.randbytes(8))
        self.pointer = 0
        self.clock = clock
        self.meter = meter
        self.last_us = 0
        self.log = []

    def present(self):
        return True

    def _touch(self):
        now = self.clock()
        self.meter.add_charge("sensors", 0.01 * (now - self.last_us) / 1e6)
        self.last_us = now
        return now

    def i2c_write(self, data):
        now = self._touch()
        self.pointer = data[0] & 7
        for value in data[1:]:
            self.regs[self.pointer] = value
            self.pointer = (self.pointer + 1) & 7
        self.log.append(("w", now, bytes(data)))
        return True

    def i2c_read(self, n):
        now = self._touch()
        out = bytes(
            (self.regs[(self.pointer + i) & 7] ^ now ^ self.random.randrange(256)) & 0xFF
            for i in range(n)
        )
        self.log.append(("r", now, out))
        return out


def _word(rnd, size):
    """One random instruction, most of them of the kinds a real program has."""
    reg = lambda: rnd.randrange(4)  # noqa: E731
    imm16 = rnd.choice((rnd.randrange(16), rnd.randrange(0x10000), 0xFFFF, 0x8000))
    kind = rnd.choices(
        ("alu", "alui", "stage", "st", "ld", "jump", "jumpr", "jumps", "wait", "i2c", "wake")
        + ("sleep", "halt", "reg", "adc", "bad"),
        (20, 20, 3, 8, 8, 6, 6, 3, 3, 8, 2, 1, 3, 1, 1, 1),
    )[0]
    sel = rnd.randrange(7) if rnd.random() < 0.97 else rnd.randrange(16)
    target = rnd.randrange(size)
    if kind == "alu":
        return 7 << 28 | sel << 21 | reg() << 4 | reg() << 2 | reg()
    if kind == "alui":
        return 7 << 28 | 1 << 25 | sel << 21 | imm16 << 4 | reg() << 2 | reg()
    if kind == "stage":
        return 7 << 28 | 2 << 25 | rnd.randrange(3) << 21 | rnd.randrange(256) << 4
    if kind in ("st", "ld"):
        offset = rnd.randrange(size) if rnd.random() < 0.05 else DATA + rnd.randrange(64)
        return (6 if kind == "st" else 13) << 28 | offset << 10 | reg() << 2 | reg()
    if kind == "jump":
        indirect = rnd.random() < 0.1
        return 8 << 28 | rnd.randrange(4) << 22 | indirect << 21 | target << 2 | reg()
    step, sign = rnd.randrange(1, 12), rnd.randrange(2)
    if kind == "jumpr":
        return 8 << 28 | 1 << 25 | sign << 24 | step << 17 | rnd.randrange(2) << 16 | imm16
    if kind == "jumps":
        cmp = rnd.randrange(3)
        return 8 << 28 | 2 << 25 | sign << 24 | step << 17 | cmp << 15 | rnd.randrange(8)
    if kind == "wait":
        return 4 << 28 | rnd.choice((0, rnd.randrange(1, 16), rnd.randrange(20_000)))
    if kind == "i2c":  # now and then a slave index or bit field the chip has no meaning for
        low = rnd.randrange(8)
        high = rnd.randrange(low, 8) if rnd.random() < 0.95 else rnd.randrange(8)
        slave = rnd.randrange(3) if rnd.random() < 0.97 else rnd.randrange(16)
        return (
            (3 << 28 | rnd.randrange(2) << 27 | slave << 22 | high << 19 | low << 16)
            | rnd.randrange(256) << 8
            | rnd.randrange(8)
        )
    if kind == "wake":
        return 9 << 28 | rnd.randrange(2)
    if kind == "sleep":
        return 9 << 28 | 1 << 25 | rnd.randrange(6)
    if kind == "halt":
        return 11 << 28
    if kind == "reg":
        return rnd.choice((1, 2)) << 28 | 7 << 23 | 0 << 18 | rnd.randrange(256) << 10 | 5
    if kind == "adc":
        return rnd.choice((5, 10)) << 28 | reg()
    return rnd.choice((0, 12, 14, 15)) << 28


def _world(engine, ahead, program, data, seed):
    sched = Scheduler(seed)
    meter = EnergyMeter(lambda: sched.now_us)
    devices = [Register8(0x20 + i, seed * 7 + i, lambda: sched.now_us, meter) for i in range(2)]
    wakes = []
    horizon = (lambda: sched._limit + 1 if sched._limit is not None else None) if ahead else None
    ulp = UlpFsm(
        sched, devices, meter, lambda: wakes.append(sched.now_us), horizon=horizon, engine=engine
    )
    ulp.MAX_STEPS = 3000  # a looping program fails fast, in both engines alike
    ulp.load(0, b"".join(w.to_bytes(4, "little") for w in program))
    for i, value in enumerate(data):
        ulp.write(DATA + i, value)
    ulp.set_slave(0, 0x20)
    ulp.set_slave(1, 0x21)  # slave 2 is absent: NACKs
    for i in range(5):
        ulp.set_wakeup_period(i, (i + 1) * 20_000)
    ulp.start(0, 50_000)
    return sched, ulp, devices, wakes, meter


def _outcome(world, until_us):
    sched, ulp, devices, wakes, meter = world
    error = None
    try:
        sched.run_until(until_us)
    except Exception as exc:  # the same error, in the same state, from both engines
        error = (type(exc).__name__, str(exc))
    return {
        "error": error,
        "mem": list(ulp.mem),
        "regs": list(ulp.regs),
        "flags": (ulp.zero, ulp.ov, ulp.stage, ulp._pc & (MEM_WORDS - 1)),
        "counts": (ulp.runs, ulp.wakes, ulp.i2c_errors, ulp.active_us, ulp._sleep_sel),
        "registers": dict(ulp.registers),
        "wakes": wakes,
        "i2c": [d.log for d in devices],
        "energy": (meter.charge_mas, meter.battery.used_mah),
    }


@pytest.mark.parametrize("seed", range(150))
def test_translated_code_running_ahead_matches_the_interpreter_on_random_programs(seed):
    rnd = random.Random(seed)
    size = rnd.randrange(8, 60)
    program = [_word(rnd, size) for _ in range(size)]
    program[rnd.randrange(size)] = 11 << 28  # at least one HALT
    data = [rnd.randrange(1 << 32) for _ in range(64)]
    until = rnd.choice((300_000, 2 * S))
    reference = _outcome(_world("interpreter", False, program, data, seed), until)
    for engine, ahead in (("translated", False), ("translated", True), ("interpreter", True)):
        assert _outcome(_world(engine, ahead, program, data, seed), until) == reference, (
            engine,
            ahead,
        )


def test_random_programs_exercise_what_the_translation_hands_over():
    """The generator is not toothless: over the seeds above the runs end in every way a
    segment can (pause, HALT, the interpreter's instructions, an error) and some write
    their own code."""
    outcomes = [
        _outcome(_world("translated", True, *_program(seed), seed), 2 * S) for seed in range(150)
    ]
    assert sum(o["error"] is not None for o in outcomes) >= 20
    assert sum(o["error"] is None and o["counts"][0] > 5 for o in outcomes) >= 40
    assert sum(bool(o["wakes"]) for o in outcomes) >= 5
    assert sum(any(log for log in o["i2c"]) for o in outcomes) >= 20
    programs = [_program(seed)[0] for seed in range(150)]
    rewritten = sum(o["mem"][: len(p)] != p for o, p in zip(outcomes, programs, strict=True))
    assert rewritten >= 2


def _program(seed):
    rnd = random.Random(seed)
    size = rnd.randrange(8, 60)
    program = [_word(rnd, size) for _ in range(size)]
    program[rnd.randrange(size)] = 11 << 28
    return program, [rnd.randrange(1 << 32) for _ in range(64)]


def test_a_write_into_the_code_takes_effect_in_the_translation():
    # R0 = 1; ST R0 -> word 3 (which becomes a word ending in ...0001: ALU? no, an ST's
    # layout puts the PC in the top bits: word 3 becomes an unknown opcode 0, an error)
    program = [
        7 << 28 | 1 << 25 | 4 << 21 | 3 << 4 | 0 << 2 | 1,  # MOVE R1, 3
        6 << 28 | 0 << 10 | 1 << 2 | 0,  # ST R0, R1, 0: Mem[3] = {pc, R1, R0}
        11 << 28,  # HALT
        11 << 28,  # overwritten before it runs
    ]
    for engine in ("interpreter", "translated"):
        world = _world(engine, True, program, [0] * 64, 1)
        _sched, ulp, *_ = world
        outcome = _outcome(world, S)
        assert outcome["mem"][3] == (1 << 21 | 1 << 16)
        assert outcome["error"] is None and ulp.runs > 5  # word 3 is never reached
    # the CPU rewrites an instruction between runs: the next run executes the new one
    world = _world("translated", True, program, [0] * 64, 1)
    sched, ulp, *_ = world
    sched.run_until(S)
    ulp.write(0, 7 << 28 | 1 << 25 | 4 << 21 | 9 << 4 | 0 << 2 | 1)  # MOVE R1, 9
    sched.run_until(2 * S)
    assert ulp.regs[1] == 9


class _Bays:
    def __init__(self, scenario):
        self.scenario = scenario

    def field_offset_ut(self, t_s):
        return self.scenario.field_offset_ut(t_s)


def _bay(engine, ahead, heartbeat=0xFFF0):
    sched = Scheduler(2)
    meter = EnergyMeter(lambda: sched.now_us)
    cars = ParkingScenario.generate(5, 3, arrivals_per_hour=4, mean_stay_min=20)
    mag = QMC5883L(parking=cars, clock=lambda: sched.now_us, seed=13)
    mag.charge_hook = lambda mas: meter.add_charge("sensors", mas)
    mag.rail_changed(True)
    wakes = []
    horizon = (lambda: sched._limit + 1 if sched._limit is not None else None) if ahead else None
    ulp = UlpFsm(
        sched, [mag], meter, lambda: wakes.append(sched.now_us), horizon=horizon, engine=engine
    )
    ulp.load_binary(prog.ENTRY, prog.binary())
    ulp.set_slave(prog.SLAVE, 0x0D)
    for i, ut in enumerate(mag.earth_field_ut):
        ulp.write(prog.V_BASE_X + i, prog.bias(round(ut * prog.LSB_PER_UT)))
    on, off = prog.thresholds(8)
    for var, value in ((prog.V_ON, on), (prog.V_OFF, off), (prog.V_DEBOUNCE, 3)):
        ulp.write(var, value)
    ulp.write(prog.V_HEARTBEAT, heartbeat)
    ulp.start(prog.ENTRY, 5 * S)
    seen = []
    while sched.now_us < 3 * 3600 * S:  # the CPU serves each wake at the next 10 s step
        n = len(wakes)
        sched.run_until(sched.now_us + 10 * S)
        if len(wakes) > n:
            seen.append((wakes[-1], ulp.read(prog.V_STATE) & 0xFFFF))
            ulp.write(prog.V_WAKE, 0)
            ulp.write(prog.V_SLEPT, 0)
    return seen, list(ulp.mem), ulp.runs, ulp.ahead_runs, meter.charge_mas, meter.battery.used_mah


@pytest.mark.parametrize("heartbeat", [0xFFF0, 180])
def test_the_parking_sampler_is_the_same_translated_and_ahead_as_interpreted(heartbeat):
    reference = _bay("interpreter", False, heartbeat)
    fast = _bay("translated", True, heartbeat)
    assert reference[0] and fast[0] == reference[0]  # the same wakes, the same bay states
    assert fast[1:3] == reference[1:3] and fast[4:] == reference[4:]
    assert reference[3] == 0 and fast[3] >= 0.4 * fast[2]  # at 10 s steps, half began ahead


def test_translations_are_shared_between_nodes_running_the_same_program():
    first = _bay("translated", True)
    before = len(ulp_translate._cache)
    second = _bay("translated", True)
    assert len(ulp_translate._cache) == before and second[0] == first[0]
