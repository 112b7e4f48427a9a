"""The ULP-FSM assembler: known-answer encodings from a binutils-esp32ulp listing
(micropython-esp32-ulp tests/fixtures/all_opcodes.esp32.lst: the bytes as they lie in
memory, little-endian), the source-as-data assembler, and its errors."""

from pathlib import Path

import pytest
from lorafield_node.ulp import asm
from lorafield_node.ulp.asm import AsmError, R, assemble

# (listing bytes, binutils source line, our encoder call)
KNOWN = [
    ("230d8810", "REG_WR 0x123, 1, 2, 3", lambda: asm.reg_wr(0x123, 1, 2, 3)),
    ("21030421", "REG_RD 0x321, 2, 1", lambda: asm.reg_rd(0x321, 2, 1)),
    ("03001130", "I2C_RD 3, 2, 1, 0", lambda: asm.i2c_rd(3, 2, 1, 0)),
    ("00011339", "I2C_WR 0, 1, 2, 3, 4", lambda: asm.i2c_wr(0, 1, 2, 3, 4)),
    ("00000040", "NOP", lambda: asm.wait(0)),
    ("07000040", "WAIT 7", lambda: asm.wait(7)),
    ("0b000068", "ST r3, r2, 0", lambda: asm.st(3, 2, 0)),
    ("06000070", "ADD r2, r1, r0", lambda: asm.alu_r(asm.ALU_ADD, 2, 1, 0)),
    ("06002070", "SUB r2, r1, r0", lambda: asm.alu_r(asm.ALU_SUB, 2, 1, 0)),
    ("06004070", "AND r2, r1, r0", lambda: asm.alu_r(asm.ALU_AND, 2, 1, 0)),
    ("06006070", "OR r2, r1, r0", lambda: asm.alu_r(asm.ALU_OR, 2, 1, 0)),
    ("16008070", "MOVE r2, r1", lambda: asm.move_r(2, 1)),
    ("0600a070", "LSH r2, r1, r0", lambda: asm.alu_r(asm.ALU_LSH, 2, 1, 0)),
    ("0600c070", "RSH r2, r1, r0", lambda: asm.alu_r(asm.ALU_RSH, 2, 1, 0)),
    ("06000072", "ADD r2, r1, 0", lambda: asm.alu_i(asm.ALU_ADD, 2, 1, 0)),
    ("06002072", "SUB r2, r1, 0", lambda: asm.alu_i(asm.ALU_SUB, 2, 1, 0)),
    ("06004072", "AND r2, r1, 0", lambda: asm.alu_i(asm.ALU_AND, 2, 1, 0)),
    ("06006072", "OR r2, r1, 0", lambda: asm.alu_i(asm.ALU_OR, 2, 1, 0)),
    ("01008072", "MOVE r1, 0", lambda: asm.move_i(1, 0)),
    ("0600a072", "LSH r2, r1, 0", lambda: asm.alu_i(asm.ALU_LSH, 2, 1, 0)),
    ("0600c072", "RSH r2, r1, 0", lambda: asm.alu_i(asm.ALU_RSH, 2, 1, 0)),
    ("00004074", "STAGE_RST", lambda: asm.stage(asm.STAGE_RST)),
    ("70000074", "STAGE_INC 7", lambda: asm.stage(asm.STAGE_INC, 7)),
    ("30002074", "STAGE_DEC 3", lambda: asm.stage(asm.STAGE_DEC, 3)),
    ("00002080", "JUMP r0", lambda: asm.jump_reg(0)),
    ("01006080", "JUMP r1, EQ", lambda: asm.jump_reg(1, asm.JUMP_EQ)),
    ("0200a080", "JUMP r2, OV", lambda: asm.jump_reg(2, asm.JUMP_OV)),
    ("00000080", "JUMP 0", lambda: asm.jump(0)),
    ("00004080", "JUMP 0, EQ", lambda: asm.jump(0, asm.JUMP_EQ)),
    ("00008080", "JUMP 0, OV", lambda: asm.jump(0, asm.JUMP_OV)),
    ("01000082", "JUMPR 0, 1, LT", lambda: asm.jumpr(0, 1, asm.JUMPR_LT)),
    ("06000382", "JUMPR +1 word, 6, GE", lambda: asm.jumpr(1, 6, asm.JUMPR_GE)),
    ("08000582", "JUMPR +2 words, 8, GE", lambda: asm.jumpr(2, 8, asm.JUMPR_GE)),
    ("01000084", "JUMPS 0, 1, LT", lambda: asm.jumps(0, 1, asm.JUMPS_LT)),
    ("01000090", "WAKE", asm.wake),
    ("07000092", "SLEEP 7", lambda: asm.sleep(7)),
    ("090000a0", "TSENS r1, 2", lambda: asm.tsens(1, 2)),
    ("000000b0", "HALT", asm.halt),
    ("060000d0", "LD r2, r1, 0", lambda: asm.ld(2, 1, 0)),
]


@pytest.mark.parametrize("listing, source, encode", KNOWN, ids=[k[1] for k in KNOWN])
def test_encodings_match_the_binutils_listing(listing, source, encode):
    assert encode() == int.from_bytes(bytes.fromhex(listing), "little"), source


def test_fields_land_where_the_trm_puts_them():
    # ST/LD offsets (words) in bits 20:10; ALU immediates in bits 19:4; JUMP address 12:2
    assert asm.st(1, 3, 13) >> 10 & 0x7FF == 13
    assert asm.ld(0, 3, 16) >> 10 & 0x7FF == 16
    assert asm.alu_i(asm.ALU_ADD, 1, 1, 0x8000) >> 4 & 0xFFFF == 0x8000
    assert asm.jump(100) >> 2 & 0x7FF == 100
    # a backward JUMPR: magnitude in 23:17, sign bit 24
    w = asm.jumpr(-5, 3, asm.JUMPR_LT)
    assert w >> 24 & 1 == 1 and w >> 17 & 0x7F == 5
    # REG_WR takes a peripheral byte address (RTC_CNTL base 0x3FF48000) or a word index
    assert asm.reg_wr(0x3FF48000 + 4 * 0x123, 1, 2, 3) == asm.reg_wr(0x123, 1, 2, 3)


def test_source_with_labels_assembles_at_its_origin():
    source = (
        ("label", "start"),
        ("move", 0, 3),
        ("label", "loop"),
        ("sub", 0, 0, 1),
        ("jumpr", "loop", 1, "ge"),  # backwards: one word
        ("jump", "end", "eq"),
        ("move", 1, R(0)),
        ("label", "end"),
        ("halt",),
    )
    words, labels = assemble(source, origin=10)
    assert labels == {"start": 10, "loop": 11, "end": 15}
    assert words == [
        asm.move_i(0, 3),
        asm.alu_i(asm.ALU_SUB, 0, 0, 1),
        asm.jumpr(-1, 1, asm.JUMPR_GE),
        asm.jump(15, asm.JUMP_EQ),
        asm.move_r(1, 0),
        asm.halt(),
    ]


@pytest.mark.parametrize(
    "source, message",
    [
        ((("jump", "nowhere"),), "unknown label"),
        ((("move", 4, 0),), "no register"),
        ((("wait", 70000),), "cycles out of range"),
        ((("i2c_rd", 0, 8, 0, 0),), "high out of range"),
        ((("frobnicate",),), "unknown instruction"),
        ((("label", "a"), ("label", "a")), "defined twice"),
        ((("jumpr", "far", 0, "lt"),) + (("nop",),) * 200 + (("label", "far"),), "relative"),
        ((("jumpr", 0, 0, "le"),), "lt or ge"),
        ((("add", 0, 0),), "rd, rs"),
        ((("halt", 1),), "bad operands"),
    ],
)
def test_bad_source_is_a_typed_error(source, message):
    with pytest.raises(AsmError, match=message):
        assemble(source)


def test_the_shipped_image_is_the_assembled_program():
    """ulp/parking_image.py (what the device loads) is regenerated from the source:
    .venv/bin/python -c "from lorafield_node.ulp import parking as p;
    open('firmware/lib/lorafield_node/ulp/parking_image.py', 'w').write(p.image_module())\""""
    from lorafield_node.ulp import parking, parking_image

    path = Path(parking_image.__file__)
    assert path.read_text(encoding="utf-8") == parking.image_module()
    assert parking.binary() == parking_image.BINARY
    words, _ = parking.program()
    assert parking.binary()[:4] == b"ulp\0" and len(parking.binary()) == 12 + 4 * len(words)
