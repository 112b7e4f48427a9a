"""The parking sampler for the ESP32 ULP-FSM: polls a QMC5883L over RTC I2C while the main
CPU deep-sleeps, and wakes it only on a confirmed change of the bay or a due heartbeat.

Each run (the ULP timer starts one every sample period, TRM "ULP Co-processor Sleep"):

1. CONTROL1 <- continuous 200 Hz (QMC5883L datasheet 9.2.2), WAIT 5 ms (one sample period
   at 8 MHz RTC_FAST_CLK), six I2C_RD of X/Y/Z LSB/MSB, CONTROL1 <- standby;
2. each axis + 0x8000 (two's complement -> offset binary, so SUB's borrow compares them) is
   stored; the deviation is the squared Euclidean norm, as the light-sleep detector's:
   per axis |d| in units of 16 LSB (0.133 uT; 120 LSB/uT at +-2 G), capped at 255, squared
   by shift-and-add (the ULP has no multiply), summed with saturation at 0xFFFF;
3. drift: on a free bay below V_OFF each axis of the baseline follows 1/64 of the sample's
   difference (the sensor's offset drifts with temperature), as the light-sleep detector;
4. hysteresis: free -> occupied above V_ON, occupied -> free below V_OFF, a change needs
   V_DEBOUNCE consecutive samples beyond the threshold (a car driving over does not flip it);
5. a confirmed change toggles V_STATE, records V_CHANGE_AT (= V_SLEPT) and sets V_WAKE bit 0;
   V_SLEPT reaching V_HEARTBEAT sets bit 1; while V_WAKE is not 0 every run issues WAKE
   (a WAKE sent while the CPU is still going to sleep is lost: the next run repeats it).

The main CPU writes the baseline and thresholds, clears V_WAKE and V_SLEPT before each deep
sleep and reads the rest on a ULP wake. Words the ULP stores hold the value in bits 15:0
(the PC of the ST in the upper half): read them & 0xFFFF.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .layout import (  # noqa: F401 (re-exported: the layout belongs with the program)
    DEV_SHIFT,
    ENTRY,
    LSB_PER_UT,
    MAGIC,
    N_VARS,
    SLAVE,
    TRACK_SHIFT,
    V_BASE_X,
    V_BASE_Y,
    V_BASE_Z,
    V_CHANGE_AT,
    V_DEBOUNCE,
    V_DEV,
    V_HEARTBEAT,
    V_MAGIC,
    V_OFF,
    V_ON,
    V_PENDING,
    V_SLEPT,
    V_STATE,
    V_T0_S,
    V_WAKE,
    V_X,
    V_Y,
    V_Z,
    WAIT_5MS,
    WAKE_CHANGE,
    WAKE_HEARTBEAT,
    bias,
    deviation_ut10,
    thresholds,
)

# QMC5883L registers (datasheet 9.2 "Register Map")
_QMC_DATA = const(0x00)
_QMC_CONTROL1 = const(0x09)
_QMC_CONTINUOUS_200HZ = const(0x0D)  # OSR 512, 2 G, 200 Hz, continuous (as the driver)
_QMC_STANDBY = const(0x00)


def _r(n):
    """A register operand (lorafield_node.ulp.asm.R without importing the assembler)."""
    return ("r", n)


def _axis(lsb_reg, var):
    """Read one axis (two I2C_RD of one byte each into R0) into R1, bias it, store it."""
    return (
        ("i2c_rd", lsb_reg, 7, 0, SLAVE),
        ("move", 1, _r(0)),
        ("i2c_rd", lsb_reg + 1, 7, 0, SLAVE),
        ("lsh", 0, 0, 8),
        ("or", 1, 1, _r(0)),
        ("add", 1, 1, 0x8000),
        ("st", 1, 3, var),
    )


def _deviation(var, base, n):
    """V_DEV += (min(|Mem[var] - Mem[base]| >> 4, 255))^2, saturating at 0xFFFF.

    The square is a shift-and-add loop (the ULP has no multiply) over R0 (multiplicand),
    R2 (multiplier bits), R1 (product); R3 is borrowed for the bit test and reset to 0."""
    neg, mag, small = "neg%d" % n, "mag%d" % n, "small%d" % n
    loop, skip, done = "sq%d" % n, "sqskip%d" % n, "sqdone%d" % n
    return (
        ("ld", 0, 3, var),
        ("ld", 1, 3, base),
        ("sub", 0, 0, _r(1)),
        ("jump", neg, "ov"),  # borrow: the sample is below the baseline
        ("jump", mag),
        ("label", neg),
        ("move", 1, 0),
        ("sub", 0, 1, _r(0)),
        ("label", mag),
        ("rsh", 0, 0, DEV_SHIFT),
        ("jumpr", small, 256, "lt"),
        ("move", 0, 255),
        ("label", small),
        ("move", 1, 0),
        ("move", 2, _r(0)),
        ("label", loop),
        ("and", 3, 2, 1),
        ("jump", skip, "eq"),
        ("add", 1, 1, _r(0)),
        ("label", skip),
        ("lsh", 0, 0, 1),
        ("rsh", 2, 2, 1),
        ("jump", done, "eq"),  # no multiplier bits left
        ("jump", loop),
        ("label", done),
        ("move", 3, 0),
        ("ld", 0, 3, V_DEV),
        ("add", 0, 0, _r(1)),
        ("jump", "saturate", "ov"),
        ("st", 0, 3, V_DEV),
    )


def _track(var, base, n):
    """Drift: the baseline follows 1/2^TRACK_SHIFT of the difference to the sample."""
    neg, store = "tneg%d" % n, "tst%d" % n
    return (
        ("ld", 0, 3, var),
        ("ld", 1, 3, base),
        ("sub", 0, 0, _r(1)),
        ("jump", neg, "ov"),
        ("rsh", 0, 0, TRACK_SHIFT),
        ("add", 1, 1, _r(0)),
        ("jump", store),
        ("label", neg),
        ("move", 2, 0),
        ("sub", 0, 2, _r(0)),
        ("rsh", 0, 0, TRACK_SHIFT),
        ("sub", 1, 1, _r(0)),
        ("label", store),
        ("st", 1, 3, base),
    )


def source():
    """The sampler as data, built on demand: a wake that only reads RTC memory holds
    neither these tuples nor the assembler."""
    return (
        (
            ("label", "entry"),
            ("move", 3, 0),  # R3: base address of the variables
            ("i2c_wr", _QMC_CONTROL1, _QMC_CONTINUOUS_200HZ, 7, 0, SLAVE),
            ("wait", WAIT_5MS),
        )
        + _axis(_QMC_DATA, V_X)
        + _axis(_QMC_DATA + 2, V_Y)
        + _axis(_QMC_DATA + 4, V_Z)
        + (
            ("i2c_wr", _QMC_CONTROL1, _QMC_STANDBY, 7, 0, SLAVE),
            ("ld", 0, 3, V_SLEPT),
            ("add", 0, 0, 1),
            ("st", 0, 3, V_SLEPT),
            ("move", 0, 0),
            ("st", 0, 3, V_DEV),
        )
        + _deviation(V_X, V_BASE_X, 0)
        + _deviation(V_Y, V_BASE_Y, 1)
        + _deviation(V_Z, V_BASE_Z, 2)
        + (
            ("jump", "compare"),
            ("label", "saturate"),
            ("move", 3, 0),
            ("move", 0, 0xFFFF),
            ("st", 0, 3, V_DEV),
            ("label", "compare"),
            ("ld", 2, 3, V_DEV),
            ("ld", 0, 3, V_STATE),
            ("jumpr", "occupied", 1, "ge"),
            ("ld", 1, 3, V_ON),
            ("sub", 0, 1, _r(2)),  # on - dev borrows when dev > on
            ("jump", "beyond", "ov"),
            ("ld", 1, 3, V_OFF),
            ("sub", 0, 2, _r(1)),  # dev - off borrows when dev < off: a quiet, free bay
            ("jump", "track", "ov"),
            ("jump", "quiet"),
            ("label", "track"),
        )
        + _track(V_X, V_BASE_X, 0)
        + _track(V_Y, V_BASE_Y, 1)
        + _track(V_Z, V_BASE_Z, 2)
        + (
            ("jump", "quiet"),
            ("label", "occupied"),
            ("ld", 1, 3, V_OFF),
            ("sub", 0, 2, _r(1)),  # dev - off borrows when dev < off
            ("jump", "beyond", "ov"),
            ("label", "quiet"),
            ("move", 0, 0),
            ("st", 0, 3, V_PENDING),
            ("jump", "heartbeat"),
            ("label", "beyond"),
            ("ld", 0, 3, V_PENDING),
            ("add", 0, 0, 1),
            ("st", 0, 3, V_PENDING),
            ("ld", 1, 3, V_DEBOUNCE),
            ("sub", 1, 0, _r(1)),  # pending - debounce borrows while pending < debounce
            ("jump", "heartbeat", "ov"),
            ("move", 0, 0),  # confirmed: toggle the state
            ("st", 0, 3, V_PENDING),
            ("ld", 0, 3, V_STATE),
            ("move", 1, 1),
            ("sub", 0, 1, _r(0)),
            ("st", 0, 3, V_STATE),
            ("ld", 0, 3, V_SLEPT),
            ("st", 0, 3, V_CHANGE_AT),
            ("ld", 0, 3, V_WAKE),
            ("or", 0, 0, WAKE_CHANGE),
            ("st", 0, 3, V_WAKE),
            ("label", "heartbeat"),
            ("ld", 0, 3, V_SLEPT),
            ("ld", 1, 3, V_HEARTBEAT),
            ("sub", 0, 0, _r(1)),  # slept - heartbeat borrows while slept < heartbeat
            ("jump", "check_wake", "ov"),
            ("ld", 0, 3, V_WAKE),
            ("or", 0, 0, WAKE_HEARTBEAT),
            ("st", 0, 3, V_WAKE),
            ("label", "check_wake"),
            ("ld", 0, 3, V_WAKE),
            ("jumpr", "done", 1, "lt"),
            ("wake",),
            ("label", "done"),
            ("halt",),
        )
    )


def program():
    """(words, labels) of the sampler, assembled to start at ENTRY."""
    from .asm import assemble

    return assemble(source(), ENTRY)


def image():
    """The words as loaded at ENTRY, little-endian bytes (what esp32.ULP.load_binary takes
    after its header; see binary())."""
    words, _ = program()
    out = bytearray(4 * len(words))
    for i, w in enumerate(words):
        out[4 * i] = w & 0xFF
        out[4 * i + 1] = (w >> 8) & 0xFF
        out[4 * i + 2] = (w >> 16) & 0xFF
        out[4 * i + 3] = (w >> 24) & 0xFF
    return bytes(out)


def image_module():
    """The text of ulp/parking_image.py (deploy-time assembly: the device loads these bytes
    without importing the assembler; tests/firmware keeps the file equal to this)."""
    hexed = binary().hex()
    rows = "".join('    "%s"\n' % hexed[i : i + 64] for i in range(0, len(hexed), 64))
    return (
        '"""The parking ULP sampler, assembled: generated by\n'
        'lorafield_node.ulp.parking.image_module(); do not edit."""\n\n'
        "BINARY = bytes.fromhex(\n" + rows + ")\n"
    )


def binary():
    """The image in the ULP binary format esp-idf's ulp_load_binary() (MicroPython
    esp32.ULP.load_binary) expects: magic "ulp\\0", text offset 12, text, data and bss sizes
    (u16 each, bytes), then the text. Load it at word ENTRY."""
    text = image()
    n = len(text)
    head = bytes((0x75, 0x6C, 0x70, 0, 12, 0, n & 0xFF, n >> 8, 0, 0, 0, 0))
    return head + text
