"""The ULP-FSM program translated to Python: the fast engine of lorafield_hw.ulp.

A parking node's sampler runs every 5 s, ~17,000 times a day, ~150 instructions a run; one
at a time (`UlpFsm._interpret`: fetch, decode, dispatch, a method call per ALU operation)
that is most of a field's time. Here the code reachable from a program counter is cut into
basic blocks and each block becomes straight-line Python over local variables (R0-R3, the
flags, the cycle and step counts), in one function per program that dispatches on the
program counter. The translation is keyed by the words it was made from and shared by every
node running the same program.

What the translated code does is what `_interpret` does, instruction for instruction:

* the same cycle count per instruction (a block adds its sum), the same steps toward
  MAX_STEPS (a block that could cross the limit hands the segment to the interpreter);
* flags: only the last ALU operation of a block sets them (the earlier ones' flags are
  overwritten before anything can read them: a branch ends a block);
* a segment ends where the interpreter's does: WAIT n > 0 and I2C (through the same
  `UlpFsm._i2c`), HALT; a pause that ends before the horizon it moves through itself, the
  clock set as `UlpFsm._advance` sets it (one call runs a whole sample of the parking
  sampler: the engine's round trip per pause was a third of a run);
* WAKE, REG_RD/REG_WR, ADC, TSENS, the stage counter's ALU operations and anything the chip
  would hang on are left to the interpreter (INTERPRET_ONE): they are rare, and their
  semantics then exist once;
* an ST onto a word of the translation stops it (CODE_WRITTEN): the interpreter ends the
  segment and the next one is translated again (a program that keeps doing it stays on the
  interpreter); the CPU's writes drop the translation in `UlpFsm`.

Program counters are kept modulo the 2,048 words of RTC slow memory (the interpreter keeps
the unmasked value and masks it at fetch: the same instruction either way).
"""

from lorafield_hw.ulp import _EXEC, _FETCH, CLOCK_HZ, MEM_WORDS, _is_wake

# What a translation returns besides a pause (>= 0), ulp.HALT and ulp.DEFER_WAKE.
INTERPRET_ONE = -3  # the instruction at the program counter is the interpreter's
NOT_TRANSLATED = -4  # the program counter is not the start of a block of this translation
CODE_WRITTEN = -5  # an ST wrote a word of this translation
STEPS_LEFT = -6  # the next block could reach MAX_STEPS

_MASK = MEM_WORDS - 1
_MAX_BLOCK = 64  # instructions per block (a longer straight run continues in the next)
_ALU_OPS = {0: "+", 1: "-", 2: "&", 3: "|", 4: None, 5: "<<", 6: ">>"}

_cache = {}  # (blocks, their words) -> segment function
_CACHE_SIZE = 512


def translation(mem, start):
    """The segment function for the code reachable from `start` in `mem`:
    `segment(ulp, defer_wake) -> pause in us | HALT | DEFER_WAKE | one of the codes above`."""
    blocks = _blocks(mem, start)
    key = (tuple(map(tuple, blocks)), tuple(mem[pc] for block in blocks for pc in block))
    function = _cache.get(key)
    if function is None:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()  # programs come and go (tests); a field has a handful
        function = _cache[key] = _compile(mem, blocks)
    return function


def _cycles(word):
    return _FETCH + _EXEC.get(word >> 28, 2)


def _translated(word):
    """Whether the instruction is translated (else INTERPRET_ONE hands it over)."""
    op = word >> 28
    if op == 7:
        return (word >> 25) & 7 <= 1 and (word >> 21) & 0xF in _ALU_OPS
    if op == 8:
        return (word >> 25) & 7 <= 2
    if op == 9:
        return not _is_wake(word)
    if op == 3:  # the chip's 8 slave address registers, a bit field high >= low
        return (word >> 22) & 0xF < 8 and (word >> 19) & 7 >= (word >> 16) & 7
    return op in (4, 6, 11, 13)


def _ends_segment(word):
    op = word >> 28
    return op == 3 or op == 11 or (op == 4 and word & 0xFFFF)


def _successors(word, pc):
    """Where execution may go after the block-ending instruction at `pc` (None: anywhere)."""
    op, nxt = word >> 28, (pc + 1) & _MASK
    if op == 11:
        return ()
    if op != 8:
        return (nxt,)
    sub = (word >> 25) & 7
    if sub == 0:
        if (word >> 21) & 1:
            return None  # to a register's value
        target = (word >> 2) & 0x7FF
        return (target,) if (word >> 22) & 7 == 0 else (target, nxt)
    step = (word >> 17) & 0x7F
    return (((pc - step) if (word >> 24) & 1 else (pc + step)) & _MASK, nxt)


def _blocks(mem, start):
    """The basic blocks reachable from `start`, each a list of program counters; a block
    ends at a branch, a segment end, a hand-over to the interpreter, _MAX_BLOCK or the start
    of another block."""
    blocks, seen, todo = [], set(), [start]
    while todo:
        pc = todo.pop()
        if pc in seen:
            continue
        seen.add(pc)
        block = []
        while True:
            word = mem[pc]
            if not _translated(word):
                if block:
                    todo.append(pc)
                else:
                    block.append(pc)  # a block of one instruction the interpreter runs
                    todo.append((pc + 1) & _MASK)
                break
            block.append(pc)
            if word >> 28 == 8 or _ends_segment(word):
                todo.extend(_successors(word, pc) or ())
                break
            if len(block) == _MAX_BLOCK:
                todo.append((pc + 1) & _MASK)
                break
            pc = (pc + 1) & _MASK
        blocks.append(block)
    # A block runs up to the next block's start, then falls through to it (a branch into
    # the middle of a block would otherwise translate the rest twice).
    starts = {block[0] for block in blocks}
    for n, block in enumerate(blocks):
        cut = next((i for i, pc in enumerate(block) if i and pc in starts), None)
        if cut is not None:
            blocks[n] = block[:cut]
    blocks.sort()
    return blocks


_SAVE = (
    "R[0] = r0; R[1] = r1; R[2] = r2; R[3] = r3; u.zero = zero; u.ov = ov; "
    "u._pc = pc; u._cycles = cycles; u._steps = steps; u._now = now"
)


def _alu(word, flags):
    """Python statements for an ALU instruction (sub-opcode 0: registers, 1: immediate)."""
    sub, sel, rd, rs = (word >> 25) & 7, (word >> 21) & 0xF, word & 3, (word >> 2) & 3
    a = f"r{rs}"
    b = f"r{(word >> 4) & 3}" if sub == 0 else str((word >> 4) & 0xFFFF)
    operator = _ALU_OPS[sel]
    if sel == 4:
        expression = b
    elif sel in (5, 6):
        shift = f"({b} & 15)" if sub == 0 else str(int(b) & 15)
        expression = f"{a} {operator} {shift}"
    else:
        expression = f"{a} {operator} {b}"
    if not flags:
        if sel in (0, 1, 5):
            return [f"r{rd} = ({expression}) & 65535"]
        return [f"r{rd} = {expression}"]  # AND, OR, MOVE, RSH of 16-bit values stay 16-bit
    lines = [f"t = {expression}"]
    lines.append("ov = t > 65535" if sel == 0 else "ov = t < 0" if sel == 1 else "ov = False")
    lines.append(f"r{rd} = t & 65535")
    lines.append(f"zero = r{rd} == 0")
    return lines


def _block(mem, block, code_words):
    """(lines, transfer) of one block: the lines do its instructions; the transfer is where
    it goes, ("goto", pc) or ("branch", condition, taken, not taken), or None when the lines
    end it themselves (`continue` after setting `pc`, or `return` with the state saved)."""
    lines, cycles, start = [], 0, block[0]
    if not _translated(mem[start]):  # the interpreter's instruction
        return [f"pc = {start}; {_SAVE}; return {INTERPRET_ONE}"], None
    # Flags are read by a branch (the block's end) or saved where an ST may leave the block:
    # only the last ALU operation before each of those needs to compute them.
    exits = [i for i, pc in enumerate(block) if mem[pc] >> 28 == 6] + [len(block) - 1]
    alus = [i for i, pc in enumerate(block) if mem[pc] >> 28 == 7]
    flagged = {max((i for i in alus if i <= e), default=-1) for e in exits}
    lines.append(f"if steps > limit - {len(block)}:")
    lines.append(f"    pc = {start}; {_SAVE}; return {STEPS_LEFT}")
    ending = None
    for i, pc in enumerate(block):
        word = mem[pc]
        op = word >> 28
        cycles += _cycles(word)
        nxt = (pc + 1) & _MASK
        if op == 7:
            lines.extend(_alu(word, i in flagged))
        elif op == 6:  # ST: {PC[10:0], 3'b0, Rdst, Rsrc} at Rdst + offset
            rs, rd, offset = word & 3, (word >> 2) & 3, (word >> 10) & 0x7FF
            lines.append(f"a = (r{rd} + {offset}) & {_MASK}")
            lines.append(f"mem[a] = {(pc & 0x7FF) << 21 | rd << 16} | r{rs}")
            lines.append("if a in code_words:")
            lines.append(
                f"    pc = {nxt}; cycles += {cycles}; steps += {i + 1}; {_SAVE}; "
                f"return {CODE_WRITTEN}"
            )
        elif op == 13:  # LD
            rd, rs, offset = word & 3, (word >> 2) & 3, (word >> 10) & 0x7FF
            lines.append(f"r{rd} = mem[(r{rs} + {offset}) & {_MASK}] & 65535")
        elif op == 9:  # SLEEP (a WAKE without its enable bit does nothing)
            if (word >> 25) & 7:
                lines.append(f"u._sleep_sel = {min(word & 0xF, 4)}")
        elif op == 4 and not word & 0xFFFF:
            pass  # WAIT 0
        else:
            ending = (pc, word)
    lines.append(f"cycles += {cycles}; steps += {len(block)}")
    if ending is None:  # a block cut at _MAX_BLOCK or before another block
        return lines, ("goto", (block[-1] + 1) & _MASK)
    pc, word = ending
    op, nxt = word >> 28, (pc + 1) & _MASK
    if op == 8:
        transfer = _branch(word, pc, nxt)
        if isinstance(transfer, str):
            lines.append(transfer)
            transfer = None
        return lines, transfer
    if op == 3:  # I2C: the interpreter's own transaction (it may set R0)
        lines.append(f"R[0] = r0; p = i2c({word}); r0 = R[0]")
        lines.extend(_pause("p", nxt))
        return lines, ("goto", nxt)
    if op == 4:  # WAIT n > 0
        lines.extend(_pause(str((word & 0xFFFF) * 1_000_000 // CLOCK_HZ), nxt))
        return lines, ("goto", nxt)
    lines.append(f"pc = {nxt}; steps = 0; {_SAVE}; return -1")  # HALT
    return lines, None


def _pause(pause, nxt):
    """The end of a segment: on at once if the pause ends before the horizon (the clock
    moves on as `UlpFsm._advance` moves it: the pause, then the segment's cycles at 8 MHz),
    else back to `_advance` with the pause."""
    assert CLOCK_HZ == 8 * 1_000_000  # cycles * 1_000_000 // CLOCK_HZ == cycles >> 3
    return [
        f"t = now + {pause} + (cycles >> 3)",
        f"if t >= horizon: pc = {nxt}; steps = 0; {_SAVE}; return {pause}",
        "now = sched.now_us = t; cycles = steps = 0",
    ]


def _branch(word, pc, nxt):
    """The transfer of a branch, or a line that ends the block itself (to a register)."""
    sub = (word >> 25) & 7
    if sub == 0:  # JUMP
        cond = (word >> 22) & 7
        flag = "zero" if cond == 1 else "ov" if cond == 2 else None
        if (word >> 21) & 1:
            if cond == 0:
                return f"pc = r{word & 3} & {_MASK}; continue"
            if flag is not None:
                return f"pc = (r{word & 3} & {_MASK}) if {flag} else {nxt}; continue"
            return ("goto", nxt)
        target = (word >> 2) & 0x7FF
        if cond == 0:
            return ("goto", target)
        if flag is not None:
            return ("branch", flag, target, nxt)
        return ("goto", nxt)  # a condition the chip never meets
    step = (word >> 17) & 0x7F
    target = ((pc - step) if (word >> 24) & 1 else (pc + step)) & _MASK
    if sub == 1:  # JUMPR: R0 against the immediate
        compare = ">=" if (word >> 16) & 1 else "<"
        return ("branch", f"r0 {compare} {word & 0xFFFF}", target, nxt)
    imm, cmp = word & 0xFF, (word >> 15) & 3  # JUMPS: the stage counter
    compare = "<" if cmp == 0 else ">" if cmp == 1 else "=="
    return ("branch", f"u.stage {compare} {imm}", target, nxt)


def _code(part):
    """A block's lines with its transfer: `pc` set to where it goes, then `continue`."""
    lines, transfer = part
    if transfer is None:
        return lines
    if transfer[0] == "goto":
        return [*lines, f"pc = {transfer[1]}; continue"]
    _, condition, taken, not_taken = transfer
    return [*lines, f"pc = {taken} if {condition} else {not_taken}; continue"]


def _dispatch(starts, bodies, indent):
    """A binary search over the block starts (a few comparisons instead of a chain)."""
    pad = " " * indent
    if len(starts) <= 3:
        lines = []
        for i, pc in enumerate(starts):
            lines.append(f"{pad}{'if' if i == 0 else 'elif'} pc == {pc}:")
            lines.extend(f"{pad}    {line}" for line in bodies[pc])
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    {_SAVE}; return {NOT_TRANSLATED}")
        return lines
    middle = len(starts) // 2
    return (
        [f"{pad}if pc < {starts[middle]}:"]
        + _dispatch(starts[:middle], bodies, indent + 4)
        + [f"{pad}else:"]
        + _dispatch(starts[middle:], bodies, indent + 4)
    )


def _compile(mem, blocks):
    code_words = frozenset(pc for block in blocks for pc in block)
    bodies = {block[0]: _code(_block(mem, block, code_words)) for block in blocks}
    starts = sorted(bodies)
    source = [
        "def segment(u, horizon):",
        "    mem = u.mem; R = u.regs; r0, r1, r2, r3 = R; sched = u.scheduler; i2c = u._i2c",
        "    zero = u.zero; ov = u.ov; cycles = u._cycles; steps = u._steps; now = u._now",
        f"    limit = u.MAX_STEPS; pc = u._pc & {_MASK}",
        "    while True:",
    ]
    source.extend(_dispatch(starts, bodies, 8))
    namespace = {"code_words": code_words}
    exec(compile("\n".join(source), "<ulp translation>", "exec"), namespace)  # noqa: S102
    return namespace["segment"]
