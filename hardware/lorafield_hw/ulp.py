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


class UlpFsm:
    MAX_STEPS = 100_000  # a run longer than this never HALTs: a program bug

    def __init__(self, scheduler, i2c_devices=(), energy=None, on_wake=None):
        self.scheduler = scheduler
        self.i2c_devices = i2c_devices
        self.energy = energy
        self.on_wake = on_wake
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
        self._event = None
        self._pc = 0
        self._run_start = 0
        self._i2c_us = 0
        self._sleep_sel = 0

    # -- what the main CPU does (esp32.ULP, machine.mem32, the RTC I2C registers) --------------
    def load(self, word, image):
        """Copy little-endian words into RTC slow memory at `word`."""
        if len(image) % 4 or word < 0 or word + len(image) // 4 > MEM_WORDS:
            raise ValueError("ULP image must be whole words inside RTC slow memory")
        for i in range(0, len(image), 4):
            self.mem[word + i // 4] = int.from_bytes(image[i : i + 4], "little")

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

    # -- execution --------------------------------------------------------------------------
    def _begin(self):
        self._event = None
        self.runs += 1
        self._run_start = self.scheduler.now_us
        self._i2c_us = 0
        self._pc = self.entry
        self._continue()

    def _continue(self):
        self._event = None
        cycles = 0
        for _ in range(self.MAX_STEPS):
            word = self.mem[self._pc & (MEM_WORDS - 1)]
            op = word >> 28
            cycles += _FETCH + _EXEC.get(op, 2)
            pause_us = self._execute(word, op)
            if pause_us is None:
                continue
            if pause_us < 0:  # HALT
                self._halt(cycles)
                return
            delay = pause_us + cycles * 1_000_000 // CLOCK_HZ
            self._event = self.scheduler.after(delay, self._continue)
            return
        raise UlpError(f"ULP program ran {self.MAX_STEPS} instructions without HALT")

    def _halt(self, cycles):
        end = self.scheduler.now_us + cycles * 1_000_000 // CLOCK_HZ
        run_us = end - self._run_start
        self.active_us += run_us
        if self.energy is not None:
            mas = ACTIVE_MA * run_us / 1e6 + PULLUP_MA * self._i2c_us / 1e6
            self.energy.add_charge("ulp", mas)
        if self.entry is not None:
            period = self.period_us[self._sleep_sel] or 0
            self._event = self.scheduler.at(end + max(period, 1), self._begin)

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
        pc = self._pc
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
        sub_addr, data = w & 0xFF, (w >> 8) & 0xFF
        low, high = (w >> 16) & 7, (w >> 19) & 7
        write = (w >> 27) & 1
        address = self.slave_addr[(w >> 22) & 0xF]
        mask = ((1 << (high - low + 1)) - 1) << low
        device = None
        for d in self.i2c_devices:
            if d.address == address and d.present():
                device = d
        # START, address+W, register, [RESTART, address+R, data | data], STOP: 9 bits a byte
        bits = 9 * (3 if write else 4) + 2
        us = bits * 1_000_000 // I2C_HZ
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
        else:
            got = device.i2c_read(1) if device.i2c_write(bytes((sub_addr,))) else None
            if got is None:
                self.i2c_errors += 1
            else:
                self.regs[0] = (got[0] & mask) >> low
        return us
