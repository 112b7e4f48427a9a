"""The ESP32 ULP-FSM coprocessor, emulated: it executes the binary words (decoded per the
ESP32 Technical Reference Manual, chapter "ULP Co-processor", "Instruction Set"; the same
fields as esp-idf's ulp.h) against 8 KiB of RTC slow memory, on the scheduler's clock.

* Timer: ``start(entry, period_us)`` runs the program now, and after each HALT again one
  period later (the ULP timer counts from the HALT; SLEEP n picks the period register n).
* Time: each instruction costs its TRM cycle count at the 8 MHz RTC_FAST_CLK (fetch 4 +
  execute; WAIT n: n more); an RTC I2C transaction costs its bits at 100 kHz SCL (the
  RTC_I2C_SCL_LOW/HIGH periods a board sets, 40 + 40 cycles of 8 MHz). The run is a chain
  of scheduler events, one per WAIT or I2C instruction, so a sensor sees time pass.
* I2C_RD / I2C_WR go to the emulated I2C devices: the slave address comes from the 8-entry
  table of SENS_SAR_SLAVE_ADDRn (``set_slave``); a read puts bits high:low of the byte in
  R0. A NACK leaves R0 unchanged and counts in ``i2c_errors`` (the real ULP cannot see it
  either).
* ALU flags (TRM "ALU"): zero = result 0; overflow = ADD carry out of 16 bits, SUB borrow.
* ST writes {PC[10:0], 3'b0, Rdst, Rsrc} (TRM "ST"); LD reads bits 15:0.
* WAKE calls ``on_wake()`` (the board boots the CPU if it is in deep sleep; a WAKE while
  it is awake is lost, as on the chip); REG_RD/REG_WR reach a plain register file; TSENS
  and ADC return 0 (no analogue model).
* Energy: while a run lasts the chip draws ACTIVE_MA (ESP32 datasheet, "Power consumption
  by power modes": deep sleep with the ULP co-processor powered on, 150 uA) on top of its
  deep-sleep floor, and each I2C transfer the pull-ups' current; both as charge on the
  meter's "ulp" component.
"""

CLOCK_HZ = 8_000_000  # RTC_FAST_CLK (8 MHz RC oscillator), TRM "Reset and Clock"
ACTIVE_MA = 0.150  # ESP32 datasheet v4, deep sleep with the ULP powered on
I2C_HZ = 100_000
# Two 4.7 kOhm pull-ups at 3 V, each line low about half of a transfer: 2 x 0.64 mA x 0.5.
PULLUP_MA = 0.64
MEM_WORDS = 2048  # 8 KiB RTC_SLOW_MEM
# TRM "Instruction Set": fetch 4 cycles + execute (ALU 2, ST 4, LD 4, JUMP 2, ...)
_FETCH = 4
_EXEC = {1: 8, 2: 4, 3: 4, 4: 2, 5: 2, 6: 4, 7: 2, 8: 2, 9: 2, 10: 2, 11: 2, 13: 4}


class UlpError(RuntimeError):
    """The program did something the chip would hang on (no HALT, an unknown opcode)."""


# What executing a segment (the instructions up to the next WAIT, I2C or HALT) returns
# besides a pause in us: HALT, and a WAKE deferred to the time it happens (_advance).
HALT = -1
DEFER_WAKE = -2
# A program that has written into its own code this often runs on the interpreter from then
# on: each write costs a new translation.
SELF_MODIFYING = 8


def _is_wake(word):
    """WAKE with its enable bit (op 9, sub-opcode 0, bit 0): it reaches the main CPU."""
    return word >> 28 == 9 and not (word >> 25) & 7 and word & 1


class UlpFsm:
    """`engine`: "translated" (the program compiled to Python by lorafield_hw.ulp_translate,
    the default) or "interpreter" (one instruction at a time: the reference the translated
    code is tested against). `horizon`: a callable giving the virtual time before which
    nothing but the ULP itself can touch the ULP, its I2C devices or its energy meter (the
    board: while its CPU deep-sleeps, its next own event), or None when something may
    (the CPU is awake). Up to it the ULP runs ahead of the scheduler in one event: each
    WAIT and I2C pause and each timer period between runs is virtual time the ULP moves
    through on its own, with the scheduler's clock set to it, so what a device and the
    meter see and the results are the same as with one scheduler event per pause; a WAKE
    is not run ahead: it happens in an event at its own time. Without `horizon` every
    pause is a scheduler event (the chip as the main CPU would see it at any instant)."""

    MAX_STEPS = 100_000  # instructions between two pauses: more never HALTs, a program bug

    def __init__(
        self,
        scheduler,
        i2c_devices=(),
        energy=None,
        on_wake=None,
        *,
        horizon=None,
        engine="translated",
    ):
        if engine not in ("translated", "interpreter"):
            raise ValueError(f"engine must be translated or interpreter, not {engine!r}")
        self.scheduler = scheduler
        self.i2c_devices = i2c_devices
        self.energy = energy
        self.on_wake = on_wake
        self.horizon = horizon
        self.engine = engine
        self.mem = [0] * MEM_WORDS
        self.registers = {}  # REG_WR targets (word address -> value)
        self.slave_addr = [0] * 8
        self.period_us = [0] * 5
        self.regs = [0, 0, 0, 0]
        self.stage = 0
        self.zero = self.ov = False
        self.entry = None
        self.runs = 0
        self.wakes = 0
        self.i2c_errors = 0
        self.active_us = 0
        self.ahead_runs = 0  # runs begun ahead of the scheduler (without an event of their own)
        self._event = None
        self._pc = 0
        self._cycles = 0  # cycles of the segment so far (kept over a deferred WAKE)
        self._steps = 0  # instructions of the segment so far (for MAX_STEPS)
        self._run_start = 0
        self._now = 0  # the ULP's time while it runs ahead of the scheduler
        self._i2c_us = 0
        self._sleep_sel = 0
        self._code = None  # the translation in use (ulp_translate), None: look it up
        self._code_writes = 0  # STs into translated code
        self._i2c_decoded = {}  # I2C instruction word -> _decode_i2c()
        self._i2c_at = {}  # slave address -> the devices at it (_devices_at)

    # -- what the main CPU does (esp32.ULP, machine.mem32, the RTC I2C registers) --------------
    def load(self, word, image):
        """Copy little-endian words into RTC slow memory at `word`."""
        if len(image) % 4 or word < 0 or word + len(image) // 4 > MEM_WORDS:
            raise ValueError("ULP image must be whole words inside RTC slow memory")
        for i in range(0, len(image), 4):
            self.mem[word + i // 4] = int.from_bytes(image[i : i + 4], "little")
        self._code = None

    def load_binary(self, word, binary):
        """esp-idf ulp_load_binary(): header "ulp\\0", text offset, text/data/bss sizes."""
        if len(binary) < 12 or binary[:4] != b"ulp\x00":
            raise ValueError("not a ULP binary (magic)")
        offset = int.from_bytes(binary[4:6], "little")
        text = int.from_bytes(binary[6:8], "little")
        data = int.from_bytes(binary[8:10], "little")
        self.load(word, bytes(binary[offset : offset + text + data]))

    def set_slave(self, index, address):
        self.slave_addr[index] = address & 0x7F

    def set_wakeup_period(self, index, period_us):
        self.period_us[index] = int(period_us)

    def read(self, word):
        return self.mem[word]

    def write(self, word, value):
        self.mem[word] = value & 0xFFFFFFFF
        self._code = None  # it may have been an instruction

    def start(self, entry, period_us=None):
        if period_us is not None:
            self.period_us[0] = int(period_us)
        self.stop()
        self.entry = entry
        self._sleep_sel = 0
        self._event = self.scheduler.after(0, self._begin)

    def stop(self):
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.entry = None

    @property
    def running(self):
        return self.entry is not None

    def power_off(self):
        """Power removed: the timer stops and RTC memory is lost."""
        self.stop()
        self.mem = [0] * MEM_WORDS
        self.slave_addr = [0] * 8
        self._code = None

    # -- execution --------------------------------------------------------------------------
    def _begin(self):
        self._event = None
        self._start_run(self.scheduler.now_us)
        self._advance()

    def _start_run(self, now):
        self.runs += 1
        self._run_start = now
        self._i2c_us = 0
        self._pc = self.entry
        self._cycles = self._steps = 0

    def _continue(self):
        self._event = None
        self._advance()

    def _advance(self):
        """Execute from now: segment after segment, run after run, as long as the next one
        begins before the horizon (the scheduler's clock follows the ULP's, `_now`, and is
        put back at the end); then the next pause's end or the next run is a scheduler
        event. The translated code moves through the pauses inside a run by itself."""
        scheduler = self.scheduler
        real = self._now = scheduler.now_us
        horizon = self.horizon() if self.horizon is not None else None
        segment = self._translated if self.engine == "translated" else self._interpreted
        try:
            while True:
                wakes = self.wakes
                pause = segment(real, -1 if horizon is None else horizon)
                now = self._now
                if pause == DEFER_WAKE:  # the WAKE happens at `now`, in an event of its own
                    self._event = scheduler.at(now, self._continue)
                    return
                if self.wakes != wakes and horizon is not None:
                    horizon = self.horizon()  # the CPU is waking: it may touch the ULP
                elapsed = self._cycles * 1_000_000 // CLOCK_HZ
                self._cycles = 0
                if pause == HALT:
                    now = self._halt(now + elapsed)
                    if now is None:
                        return  # stopped
                    if horizon is None or now >= horizon:
                        self._event = scheduler.at(now, self._begin)
                        return
                    scheduler.now_us = self._now = now
                    self.ahead_runs += 1
                    self._start_run(now)
                    continue
                now += pause + elapsed
                if horizon is None or now >= horizon:
                    self._event = scheduler.at(now, self._continue)
                    return
                scheduler.now_us = self._now = now
        finally:
            scheduler.now_us = real

    def _halt(self, end):
        """A run ended at `end`: count it; the time the next one begins (None: stopped)."""
        run_us = end - self._run_start
        self.active_us += run_us
        if self.energy is not None:
            mas = ACTIVE_MA * run_us / 1e6 + PULLUP_MA * self._i2c_us / 1e6
            self.energy.add_charge("ulp", mas)
        if self.entry is None:
            return None
        period = self.period_us[self._sleep_sel] or 0
        return end + max(period, 1)

    def _interpret(self, defer_wake, single=False):
        """Execute instructions one at a time to the end of the segment: a pause in us
        (WAIT, I2C), HALT, or DEFER_WAKE (`defer_wake`: stop before a WAKE). `single`: one
        instruction only (None if it did not end the segment)."""
        cycles, steps, limit, mem = self._cycles, self._steps, self.MAX_STEPS, self.mem
        while True:
            if steps >= limit:
                raise UlpError(f"ULP program ran {limit} instructions without HALT")
            word = mem[self._pc & (MEM_WORDS - 1)]
            if defer_wake and _is_wake(word):
                self._cycles, self._steps = cycles, steps
                return DEFER_WAKE
            op = word >> 28
            cycles += _FETCH + _EXEC.get(op, 2)
            steps += 1
            pause_us = self._execute(word, op)
            if pause_us is not None:
                self._cycles, self._steps = cycles, 0
                return pause_us
            if single:
                self._cycles, self._steps = cycles, steps
                return None

    def _interpreted(self, real, _horizon):
        return self._interpret(self._now > real)

    def _translated(self, real, horizon):
        """Translated code (lorafield_hw.ulp_translate) to the end of a segment, or through
        the pauses that end before `horizon`; what it leaves to the interpreter (WAKE, rare
        instructions, the last steps before MAX_STEPS) runs there, so both engines give the
        same results by construction of the hand-over."""
        from lorafield_hw import ulp_translate as t

        if self.engine != "translated":  # it turned out to be self-modifying
            return self._interpret(self._now > real)
        while True:
            code = self._code
            if code is None:
                code = self._code = t.translation(self.mem, self._pc & (MEM_WORDS - 1))
            result = code(self, horizon)
            if result >= DEFER_WAKE:
                return result
            defer_wake = self._now > real
            if result == t.INTERPRET_ONE:
                result = self._interpret(defer_wake, single=True)
                if result is not None:
                    return result
            elif result == t.NOT_TRANSLATED:
                self._code = None
            elif result == t.CODE_WRITTEN:
                self._code = None
                self._code_writes += 1
                if self._code_writes > SELF_MODIFYING:  # translating it costs more than it saves
                    self.engine = "interpreter"
                return self._interpret(defer_wake)
            else:  # t.STEPS_LEFT: the interpreter counts the last steps to MAX_STEPS
                self._code = None
                return self._interpret(defer_wake)

    def _alu(self, sel, a, b):
        if sel == 0:
            r = a + b
            self.ov = r > 0xFFFF
        elif sel == 1:
            r = a - b
            self.ov = r < 0
        else:
            self.ov = False
            if sel == 2:
                r = a & b
            elif sel == 3:
                r = a | b
            elif sel == 4:
                r = b
            elif sel == 5:
                r = a << (b & 0xF)
            elif sel == 6:
                r = a >> (b & 0xF)
            else:
                raise UlpError(f"ALU operation {sel} at {self._pc}")
        r &= 0xFFFF
        self.zero = r == 0
        return r

    def _execute(self, w, op):
        """One instruction; None to go on, a pause in us (WAIT, I2C), or -1 for HALT."""
        pc = self._pc & (MEM_WORDS - 1)  # a branch may have left it outside; fetch wraps
        self._pc = pc + 1
        regs = self.regs
        if op == 7:  # ALU
            sub, sel = (w >> 25) & 7, (w >> 21) & 0xF
            rd, rs = w & 3, (w >> 2) & 3
            if sub == 0:
                regs[rd] = self._alu(sel, regs[rs], regs[(w >> 4) & 3])
            elif sub == 1:
                regs[rd] = self._alu(sel, regs[rs], (w >> 4) & 0xFFFF)
            elif sub == 2:
                imm = (w >> 4) & 0xFF
                self.stage = [self.stage + imm, self.stage - imm, 0][sel] & 0xFF
            else:
                raise UlpError(f"ALU sub-opcode {sub} at {pc}")
            return None
        if op == 6:  # ST
            rs, rd, offset = w & 3, (w >> 2) & 3, (w >> 10) & 0x7FF
            address = (regs[rd] + offset) & (MEM_WORDS - 1)
            self.mem[address] = (pc & 0x7FF) << 21 | rd << 16 | regs[rs]
            return None
        if op == 13:  # LD
            rd, rs, offset = w & 3, (w >> 2) & 3, (w >> 10) & 0x7FF
            regs[rd] = self.mem[(regs[rs] + offset) & (MEM_WORDS - 1)] & 0xFFFF
            return None
        if op == 8:
            return self._branch(w, pc)
        if op == 3:
            return self._i2c(w)
        if op == 4:  # WAIT
            cycles = w & 0xFFFF
            return cycles * 1_000_000 // CLOCK_HZ if cycles else None
        if op == 11:  # HALT
            return -1
        if op == 9:  # WAKE / SLEEP
            if (w >> 25) & 7 == 0:
                if w & 1:
                    self.wakes += 1
                    if self.on_wake is not None:
                        self.on_wake()
            else:
                self._sleep_sel = min(w & 0xF, 4)
            return None
        if op == 1:  # REG_WR: bits high:low of the register
            addr, low, high = w & 0x3FF, (w >> 18) & 0x1F, (w >> 23) & 0x1F
            mask = ((1 << (high - low + 1)) - 1) << low
            old = self.registers.get(addr, 0)
            self.registers[addr] = (old & ~mask) | ((((w >> 10) & 0xFF) << low) & mask)
            return None
        if op == 2:  # REG_RD
            addr, low, high = w & 0x3FF, (w >> 18) & 0x1F, (w >> 23) & 0x1F
            regs[0] = (self.registers.get(addr, 0) >> low) & ((1 << (high - low + 1)) - 1)
            regs[0] &= 0xFFFF
            return None
        if op in (5, 10):  # ADC, TSENS: no analogue model
            regs[w & 3] = 0
            return None
        raise UlpError(f"unknown ULP opcode {op} at word {pc}")

    def _branch(self, w, pc):
        sub = (w >> 25) & 7
        if sub == 0:  # JUMP
            cond = (w >> 22) & 7
            target = self.regs[w & 3] if (w >> 21) & 1 else (w >> 2) & 0x7FF
            if cond == 0 or (cond == 1 and self.zero) or (cond == 2 and self.ov):
                self._pc = target
            return None
        step = (w >> 17) & 0x7F
        step = -step if (w >> 24) & 1 else step
        if sub == 1:  # JUMPR: R0 against the 16-bit immediate
            imm, r0 = w & 0xFFFF, self.regs[0]
            taken = r0 >= imm if (w >> 16) & 1 else r0 < imm
        elif sub == 2:  # JUMPS: stage_cnt against the 8-bit immediate
            imm, cmp, s = w & 0xFF, (w >> 15) & 3, self.stage
            taken = s < imm if cmp == 0 else s > imm if cmp == 1 else s == imm
        else:
            raise UlpError(f"branch sub-opcode {sub} at {pc}")
        if taken:
            self._pc = pc + step
        return None

    def _i2c(self, w):
        decoded = self._i2c_decoded.get(w)
        if decoded is None:
            decoded = self._i2c_decoded[w] = _decode_i2c(w)
        sub_addr, data, low, mask, write, slave, us = decoded
        devices = self._i2c_at.get(self.slave_addr[slave])
        if devices is None:
            devices = self._devices_at(self.slave_addr[slave])
        device = read_register = None
        for d, reader in devices:
            if d.present():
                device, read_register = d, reader  # the last one present answers
        self._i2c_us += us
        if device is None:
            self.i2c_errors += 1
            return us
        if write:
            value = data << low
            if mask != 0xFF:
                device.i2c_write(bytes((sub_addr,)))
                old = (device.i2c_read(1) or b"\0")[0]
                value = (old & ~mask) | (value & mask)
            if not device.i2c_write(bytes((sub_addr, value & 0xFF))):
                self.i2c_errors += 1
            return us
        if read_register is not None:  # the same as the write of the pointer and a 1-byte read
            got = read_register(sub_addr)
        else:
            got = device.i2c_read(1) if device.i2c_write(bytes((sub_addr,))) else None
        if got is None:
            self.i2c_errors += 1
        else:
            self.regs[0] = (got[0] & mask) >> low
        return us

    def _devices_at(self, address):
        """(device, its read_register or None) at `address`, in the board's order (the
        list is the board's for its life)."""
        devices = self._i2c_at[address] = [
            (d, getattr(d, "read_register", None)) for d in self.i2c_devices if d.address == address
        ]
        return devices


def _decode_i2c(w):
    """(register, data, low bit, mask, write, slave index, bus time in us) of an I2C word."""
    low, high = (w >> 16) & 7, (w >> 19) & 7
    write = (w >> 27) & 1
    # START, address+W, register, [RESTART, address+R, data | data], STOP: 9 bits a byte
    bits = 9 * (3 if write else 4) + 2
    mask = ((1 << (high - low + 1)) - 1) << low
    return w & 0xFF, (w >> 8) & 0xFF, low, mask, write, (w >> 22) & 0xF, bits * 1_000_000 // I2C_HZ
