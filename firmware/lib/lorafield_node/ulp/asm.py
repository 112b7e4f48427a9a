"""A tiny assembler for the ESP32 ULP-FSM coprocessor (runs on MicroPython and CPython).

Bit layouts: ESP32 Technical Reference Manual, chapter "ULP Co-processor", section
"Instruction Set" (one 32-bit word per instruction, opcode in bits 31:28), the same fields
as esp-idf's ulp.h (``ulp_insn_t``). Known-answer words in tests/firmware/test_ulp_asm.py
come from binutils-esp32ulp listings. Addresses are 32-bit WORDS of RTC slow memory
(address 0 = 0x50000000); relative jumps count words from the jump itself.

Source is data: a sequence of tuples, ``("label", name)`` or ``(mnemonic, arg, ...)``, where
a jump/move target may be a label name. ``assemble(source)`` -> (list of words, labels).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# Opcodes, bits 31:28 (TRM "Instruction Set"; esp-idf ulp.h OPCODE_*)
OP_REG_WR = const(1)
OP_REG_RD = const(2)
OP_I2C = const(3)
OP_WAIT = const(4)
OP_ADC = const(5)
OP_ST = const(6)
OP_ALU = const(7)
OP_BRANCH = const(8)
OP_END = const(9)  # WAKE / SLEEP
OP_TSENS = const(10)
OP_HALT = const(11)
OP_LD = const(13)

# ALU (bits 27:25 sub-opcode; bits 24:21 operation)
SUB_ALU_REG = const(0)
SUB_ALU_IMM = const(1)
SUB_ALU_STAGE = const(2)
ALU_ADD = const(0)
ALU_SUB = const(1)
ALU_AND = const(2)
ALU_OR = const(3)
ALU_MOVE = const(4)
ALU_LSH = const(5)
ALU_RSH = const(6)
STAGE_INC = const(0)
STAGE_DEC = const(1)
STAGE_RST = const(2)

# Branches (bits 27:25): JUMP (absolute), JUMPR (R0 vs imm), JUMPS (stage_cnt vs imm)
SUB_JUMP = const(0)
SUB_JUMPR = const(1)
SUB_JUMPS = const(2)
JUMP_ALWAYS = const(0)
JUMP_EQ = const(1)  # the last ALU result was zero
JUMP_OV = const(2)  # the last ALU operation overflowed (ADD carry, SUB borrow)
JUMPR_LT = const(0)  # R0 < imm
JUMPR_GE = const(1)  # R0 >= imm
JUMPS_LT = const(0)  # stage_cnt < imm   (esp-idf ulp.h BC_CMP_*)
JUMPS_GT = const(1)
JUMPS_EQ = const(2)

_ALU = {"add": ALU_ADD, "sub": ALU_SUB, "and": ALU_AND, "or": ALU_OR, "lsh": ALU_LSH}
_ALU["rsh"] = ALU_RSH
_CONDS = {None: JUMP_ALWAYS, "eq": JUMP_EQ, "ov": JUMP_OV}
_CMP_R = {"lt": JUMPR_LT, "ge": JUMPR_GE}
_CMP_S = {"lt": JUMPS_LT, "gt": JUMPS_GT, "eq": JUMPS_EQ}
_RTC_BASE = const(0x3FF48000)  # DR_REG_RTCCNTL_BASE: REG_RD/REG_WR address 0


class AsmError(ValueError):
    pass


def _field(value, bits, name):
    if value < 0 or value >= 1 << bits:
        raise AsmError("%s out of range: %r" % (name, value))
    return value


def _reg(r):
    if r not in (0, 1, 2, 3):
        raise AsmError("no register R%r" % (r,))
    return r


def _periph(addr):
    """REG_RD/REG_WR address: a peripheral byte address (0x3FF48000..) or a word index."""
    if addr >= _RTC_BASE:
        addr = (addr - _RTC_BASE) >> 2
    return _field(addr, 10, "register address")


def _rel(offset):
    """Relative jump: 7-bit magnitude and a sign bit (1 = backwards)."""
    sign = 1 if offset < 0 else 0
    return _field(-offset if sign else offset, 7, "relative jump"), sign


# -- encoders (TRM "Instruction Set"; each field low bit first) ------------------------------
def reg_wr(addr, high, low, data):
    a = _periph(addr)
    return (
        OP_REG_WR << 28
        | _field(high, 5, "high") << 23
        | _field(low, 5, "low") << 18
        | _field(data, 8, "data") << 10
        | a
    )


def reg_rd(addr, high, low):
    a = _periph(addr)
    return OP_REG_RD << 28 | _field(high, 5, "high") << 23 | _field(low, 5, "low") << 18 | a


def i2c_rd(sub_addr, high, low, slave):
    """R0 <- bits high:low of register sub_addr of the slave SENS_SAR_SLAVE_ADDRn[slave]."""
    return (
        OP_I2C << 28
        | _field(slave, 4, "slave") << 22
        | _field(high, 3, "high") << 19
        | _field(low, 3, "low") << 16
        | _field(sub_addr, 8, "sub_addr")
    )


def i2c_wr(sub_addr, value, high, low, slave):
    return i2c_rd(sub_addr, high, low, slave) | 1 << 27 | _field(value, 8, "value") << 8


def wait(cycles):
    return OP_WAIT << 28 | _field(cycles, 16, "cycles")


def tsens(rd, delay):
    return OP_TSENS << 28 | _field(delay, 14, "delay") << 2 | _reg(rd)


def adc(rd, sar_sel, mux):
    return OP_ADC << 28 | _field(sar_sel, 1, "sar_sel") << 6 | _field(mux, 4, "mux") << 2 | _reg(rd)


def st(rs, rd, offset):
    """Mem[rd + offset] <- rs (low 16 bits; the upper half gets the PC, TRM "ST")."""
    return OP_ST << 28 | 4 << 25 | (offset & 0x7FF) << 10 | _reg(rd) << 2 | _reg(rs)


def ld(rd, rs, offset):
    """rd <- low 16 bits of Mem[rs + offset]."""
    return OP_LD << 28 | (offset & 0x7FF) << 10 | _reg(rs) << 2 | _reg(rd)


def alu_r(op, rd, rs, rt):
    return OP_ALU << 28 | SUB_ALU_REG << 25 | op << 21 | _reg(rt) << 4 | _reg(rs) << 2 | _reg(rd)


def alu_i(op, rd, rs, imm):
    imm = _field(imm & 0xFFFF if imm < 0 else imm, 16, "immediate")
    return OP_ALU << 28 | SUB_ALU_IMM << 25 | op << 21 | imm << 4 | _reg(rs) << 2 | _reg(rd)


def move_r(rd, rs):
    return alu_r(ALU_MOVE, rd, rs, rs)  # binutils also puts the source in the treg field


def move_i(rd, imm):
    return alu_i(ALU_MOVE, rd, 0, imm)


def stage(op, imm=0):
    return OP_ALU << 28 | SUB_ALU_STAGE << 25 | op << 21 | _field(imm, 8, "stage imm") << 4


def jump(addr, cond=JUMP_ALWAYS):
    return OP_BRANCH << 28 | SUB_JUMP << 25 | cond << 22 | _field(addr, 11, "jump address") << 2


def jump_reg(rd, cond=JUMP_ALWAYS):
    return OP_BRANCH << 28 | SUB_JUMP << 25 | cond << 22 | 1 << 21 | _reg(rd)


def jumpr(offset, imm, cmp):
    mag, sign = _rel(offset)
    return (
        OP_BRANCH << 28
        | SUB_JUMPR << 25
        | sign << 24
        | mag << 17
        | cmp << 16
        | _field(imm, 16, "threshold")
    )


def jumps(offset, imm, cmp):
    mag, sign = _rel(offset)
    return (
        OP_BRANCH << 28
        | SUB_JUMPS << 25
        | sign << 24
        | mag << 17
        | cmp << 15
        | _field(imm, 8, "threshold")
    )


def wake():
    return OP_END << 28 | 1


def sleep(period_index):
    return OP_END << 28 | 1 << 25 | _field(period_index, 4, "sleep register")


def halt():
    return OP_HALT << 28


# -- the source-as-data assembler ------------------------------------------------------------
def _one(ins, pc, labels):
    op = ins[0]
    a = ins[1:]

    def target(x):
        if isinstance(x, str):
            if x not in labels:
                raise AsmError("unknown label %r" % (x,))
            return labels[x]
        return x

    if op in _ALU:
        if len(a) != 3:
            raise AsmError("%s takes rd, rs, rt|imm" % op)
        if isinstance(a[2], tuple):  # ("r", n): a register operand
            return alu_r(_ALU[op], a[0], a[1], a[2][1])
        return alu_i(_ALU[op], a[0], a[1], target(a[2]))
    if op == "move":
        if isinstance(a[1], tuple):
            return move_r(a[0], a[1][1])
        return move_i(a[0], target(a[1]))
    if op == "jump":
        cond = _CONDS.get(a[1] if len(a) > 1 else None)
        if cond is None:
            raise AsmError("jump condition: eq or ov")
        if isinstance(a[0], tuple):
            return jump_reg(a[0][1], cond)
        return jump(target(a[0]), cond)
    if op == "jumpr":
        if a[2] not in _CMP_R:
            raise AsmError("jumpr compares lt or ge")
        return jumpr(target(a[0]) - pc, a[1], _CMP_R[a[2]])
    if op == "jumps":
        if a[2] not in _CMP_S:
            raise AsmError("jumps compares lt, gt or eq")
        return jumps(target(a[0]) - pc, a[1], _CMP_S[a[2]])
    if op == "stage_rst":
        return stage(STAGE_RST)
    if op == "stage_inc":
        return stage(STAGE_INC, a[0])
    if op == "stage_dec":
        return stage(STAGE_DEC, a[0])
    if op == "nop":
        return wait(0)
    fn = _SIMPLE.get(op)
    if fn is None:
        raise AsmError("unknown instruction %r" % (op,))
    return fn(*a)


_SIMPLE = {
    "reg_wr": reg_wr,
    "reg_rd": reg_rd,
    "i2c_rd": i2c_rd,
    "i2c_wr": i2c_wr,
    "wait": wait,
    "tsens": tsens,
    "adc": adc,
    "st": st,
    "ld": ld,
    "wake": wake,
    "sleep": sleep,
    "halt": halt,
}


def R(n):
    """A register operand where an immediate would also fit: ("add", 1, 1, R(2))."""
    return ("r", _reg(n))


def assemble(source, origin=0):
    """Two passes: labels (word addresses from `origin`), then one word per instruction."""
    labels = {}
    pc = origin
    for ins in source:
        if ins[0] == "label":
            if ins[1] in labels:
                raise AsmError("label %r defined twice" % (ins[1],))
            labels[ins[1]] = pc
        else:
            pc += 1
    words = []
    pc = origin
    for ins in source:
        if ins[0] == "label":
            continue
        try:
            words.append(_one(ins, pc, labels))
        except TypeError:
            raise AsmError("bad operands for %r" % (ins[0],)) from None
        pc += 1
    return words, labels
