"""The emulated ESP32 ULP-FSM: instruction semantics on small programs, its timer, I2C onto
emulated devices, energy; then the parking sampler program against the emulated QMC5883L
in a scripted bay (a car arriving and leaving wakes the CPU; a passing car and a truck in
the next bay do not)."""

import pytest
from lorafield_hw.energy import EnergyMeter
from lorafield_hw.scenarios import ParkingScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import QMC5883L
from lorafield_hw.ulp import ACTIVE_MA, UlpError, UlpFsm
from lorafield_node.ulp import parking as prog
from lorafield_node.ulp.asm import R, assemble

S = 1_000_000


def _image(words):
    return b"".join(w.to_bytes(4, "little") for w in words)


def _ulp(source, devices=(), origin=0):
    sched = Scheduler(1)
    meter = EnergyMeter(lambda: sched.now_us)
    wakes = []
    ulp = UlpFsm(sched, list(devices), meter, lambda: wakes.append(sched.now_us))
    words, labels = assemble(source, origin)
    ulp.load(origin, _image(words))
    return sched, ulp, wakes, meter, labels


def test_alu_flags_memory_and_branches():
    source = (
        ("move", 3, 0),
        ("move", 0, 0xFFFF),
        ("add", 0, 0, 2),  # carry: OV, result 1
        ("jump", "carried", "ov"),
        ("halt",),
        ("label", "carried"),
        ("st", 0, 3, 100),  # Mem[100] = 1 with the PC above
        ("move", 1, 5),
        ("sub", 2, 1, 7),  # 5 - 7 borrows
        ("jump", "borrowed", "ov"),
        ("halt",),
        ("label", "borrowed"),
        ("st", 2, 3, 101),
        ("sub", 2, 1, R(1)),  # zero
        ("jump", "zero", "eq"),
        ("halt",),
        ("label", "zero"),
        ("stage_rst",),
        ("move", 0, 0),
        ("label", "loop"),  # R0 += 3, five times, with the stage counter
        ("add", 0, 0, 3),
        ("stage_inc", 1),
        ("jumps", "loop", 5, "lt"),
        ("st", 0, 3, 102),
        ("ld", 1, 3, 100),
        ("lsh", 1, 1, 4),
        ("rsh", 1, 1, 2),
        ("or", 1, 1, 0x100),
        ("and", 1, 1, 0x1FF),
        ("st", 1, 3, 103),
        ("halt",),
    )
    sched, ulp, wakes, _, labels = _ulp(source)
    ulp.start(0, period_us=1_000_000)
    sched.run_until(10)
    assert ulp.mem[100] & 0xFFFF == 1
    assert ulp.mem[100] >> 21 == 5  # the PC of that ST (word 5)
    assert ulp.mem[101] & 0xFFFF == 0xFFFE  # 5 - 7 in 16 bits
    assert ulp.mem[102] & 0xFFFF == 15
    assert ulp.mem[103] & 0xFFFF == 0x104  # ((1 << 4) >> 2) | 0x100
    assert wakes == [] and ulp.runs == 1


def test_timer_restarts_the_program_a_period_after_each_halt_and_wake_calls_back():
    source = (
        ("move", 3, 0),
        ("ld", 0, 3, 50),
        ("add", 0, 0, 1),
        ("st", 0, 3, 50),
        ("jumpr", "done", 3, "lt"),
        ("wake",),
        ("label", "done"),
        ("wait", 8000),  # 1 ms at 8 MHz
        ("halt",),
    )
    sched, ulp, wakes, meter, _ = _ulp(source)
    ulp.start(0, period_us=2 * S)
    sched.run_until(9 * S)
    assert ulp.runs == 5  # t = 0, ~2, ~4, ~6, ~8 s
    assert ulp.mem[50] & 0xFFFF == 5
    assert len(wakes) == 3  # runs 3, 4 and 5
    assert 4 * S < wakes[0] < 4.01 * S
    # each run: ~1 ms of WAIT plus a few us of instructions, at 150 uA
    assert 5 * 1000 < ulp.active_us < 5 * 1100
    assert meter.charge_mas["ulp"] == pytest.approx(ACTIVE_MA * ulp.active_us / 1e6)
    ulp.stop()
    sched.run_until(20 * S)
    assert ulp.runs == 5


class Register8:
    """A one-register I2C device."""

    address = 0x21

    def __init__(self):
        self.value = 0xA5
        self.pointer = None
        self.writes = []

    def present(self):
        return True

    def i2c_write(self, data):
        self.pointer = data[0]
        if len(data) > 1:
            self.writes.append(bytes(data))
            self.value = data[1]
        return True

    def i2c_read(self, n):
        return bytes([self.value]) * n


def test_i2c_through_the_slave_address_table():
    dev = Register8()
    source = (
        ("move", 3, 0),
        ("i2c_rd", 0x10, 7, 4, 2),  # high nibble of 0xA5
        ("st", 0, 3, 60),
        ("i2c_wr", 0x10, 0x3, 1, 0, 2),  # bits 1:0 <- 3: read-modify-write
        ("i2c_rd", 0x10, 7, 0, 2),
        ("st", 0, 3, 61),
        ("i2c_rd", 0x10, 7, 0, 5),  # slave 5: nobody answers
        ("halt",),
    )
    sched, ulp, _, _, _ = _ulp(source, [dev])
    ulp.set_slave(2, 0x21)
    ulp.start(0, period_us=S)
    sched.run_until(S // 2)
    assert ulp.mem[60] & 0xFFFF == 0xA
    assert ulp.mem[61] & 0xFFFF == 0xA7
    assert dev.writes == [bytes([0x10, 0xA7])]
    assert ulp.i2c_errors == 1
    assert ulp.active_us > 3 * 380  # bus time at 100 kHz


def test_a_program_without_halt_is_an_error():
    sched, ulp, _, _, _ = _ulp((("label", "spin"), ("jump", "spin")))
    ulp.start(0, period_us=S)
    with pytest.raises(UlpError, match="without HALT"):
        sched.run_until(10)


def test_load_binary_checks_the_header_and_power_off_clears_memory():
    sched, ulp, _, _, _ = _ulp((("halt",),))
    with pytest.raises(ValueError, match="magic"):
        ulp.load_binary(prog.ENTRY, b"elf\0" + bytes(20))
    ulp.load_binary(prog.ENTRY, prog.binary())
    words, _ = prog.program()
    assert ulp.mem[prog.ENTRY : prog.ENTRY + len(words)] == words
    ulp.power_off()
    assert not any(ulp.mem) and not ulp.running


# -- the parking sampler against the emulated magnetometer ------------------------------------
class Bays:
    def __init__(self, *scenarios):
        self.scenarios = scenarios

    def field_offset_ut(self, t_s):
        out = [0.0, 0.0, 0.0]
        for s in self.scenarios:
            for i, v in enumerate(s.field_offset_ut(t_s)):
                out[i] += v
        return out


def _bay(own, neighbour=()):
    sched = Scheduler(2)
    scenarios = [ParkingScenario(own, seed=11)]
    if neighbour:
        scenarios.append(ParkingScenario(neighbour, seed=12, signature_ut=(3.0, 4.0)))
    mag = QMC5883L(parking=Bays(*scenarios), clock=lambda: sched.now_us, seed=13)
    mag.rail_changed(True)
    wakes = []
    ulp = UlpFsm(sched, [mag], None, lambda: wakes.append(sched.now_us / S))
    ulp.load_binary(prog.ENTRY, prog.binary())
    ulp.set_slave(prog.SLAVE, 0x0D)
    # the empty bay's field, as the CPU's calibration would find it (Earth's field, LSB)
    for i, ut in enumerate(mag.earth_field_ut):
        ulp.write(prog.V_BASE_X + i, prog.bias(round(ut * prog.LSB_PER_UT)))
    on, off = prog.thresholds(8)
    for var, value in ((prog.V_ON, on), (prog.V_OFF, off), (prog.V_DEBOUNCE, 3)):
        ulp.write(var, value)
    ulp.write(prog.V_HEARTBEAT, 0xFFF0)
    ulp.start(prog.ENTRY, 5 * S)
    return sched, ulp, wakes


def _get(ulp, var):
    return ulp.read(var) & 0xFFFF


def _serve(sched, ulp, wakes, until_s):
    """Run; at each wake the 'CPU' records the state and clears the flags (as the app)."""
    seen = []
    while sched.now_us < until_s * S:
        n = len(wakes)
        sched.run_until(min(until_s * S, sched.now_us + 5 * S))
        if len(wakes) > n:
            seen.append((wakes[-1], _get(ulp, prog.V_STATE), _get(ulp, prog.V_WAKE)))
            ulp.write(prog.V_WAKE, 0)
            ulp.write(prog.V_SLEPT, 0)
    return seen


def test_sampler_wakes_on_arrival_and_departure_only():
    own = [(600, "arrive"), (1800, "depart"), (2400, "arrive"), (2404, "depart")]
    sched, ulp, wakes = _bay(own, neighbour=[(1000, "arrive"), (3000, "depart")])
    seen = _serve(sched, ulp, wakes, 3600)
    assert [(s, f) for _, s, f in seen] == [(1, prog.WAKE_CHANGE), (0, prog.WAKE_CHANGE)]
    (t_in, _, _), (t_out, _, _) = seen
    assert 600 < t_in < 600 + 3 + 4 * 5  # ramp + 3 samples of debounce
    assert 1800 < t_out < 1800 + 3 + 4 * 5
    assert ulp.i2c_errors == 0 and 715 <= ulp.runs <= 721


def test_sampler_debounce_ignores_a_car_driving_over_and_wakes_for_the_heartbeat():
    sched, ulp, wakes = _bay([(100, "arrive"), (104, "depart")])
    ulp.write(prog.V_HEARTBEAT, 60)  # 5 minutes of samples
    seen = _serve(sched, ulp, wakes, 700)
    assert [f for _, _, f in seen] == [prog.WAKE_HEARTBEAT, prog.WAKE_HEARTBEAT]
    # 60 periods, each starting after a ~9 ms run (the timer counts from HALT)
    assert [round(t) for t, _, _ in seen] in ([295, 595], [295, 596])
    assert _get(ulp, prog.V_STATE) == 0


def test_sampler_measures_the_deviation_like_the_detector():
    sched, ulp, wakes = _bay([(50, "arrive")])
    sched.run_until(40 * S)
    quiet = prog.deviation_ut10(_get(ulp, prog.V_DEV))
    assert quiet <= 5  # noise: ~0.2 uT per axis
    sched.run_until(200 * S)
    assert _get(ulp, prog.V_STATE) == 1
    assert _get(ulp, prog.V_CHANGE_AT) in range(11, 16)  # samples at 55..75 s
    # raw sample words: the field with the car, in LSB + 0x8000
    z = _get(ulp, prog.V_Z) - 0x8000
    assert z < -44 * prog.LSB_PER_UT - 5 * prog.LSB_PER_UT  # the car pulls z down
