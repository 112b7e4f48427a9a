"""ULP sampling under the real MicroPython VM: the assembler gives the same bytes as on
CPython, and the app's ULP wakes (install, a change, a heartbeat, a fallback timer wake) on
a fake board with a fake ULP port print the same uplinks, sleeps and RTC-memory words on
both runtimes. (The ULP itself is emulated on the host only: lorafield_hw.ulp.)"""

import contextlib
import io

import pytest
from lorafield_node.ulp import parking as prog
from lorafield_tools.mpcheck import compile_file
from mp_apps import deployed, fakes

pytestmark = pytest.mark.micropython

ULP = """
from lorafield_node.apps.parking import ParkingApp


class FakePort:
    def __init__(self):
        self.mem = [0] * 32
        self.loads = 0
        self.started = None
        self.slave = None

    def set_slave(self, i, a):
        self.slave = (i, a)

    def load_binary(self, word, b):
        self.loads += 1
        self.image = (word, len(b), sum(b) & 0xFFFF)

    def start(self, entry, period_us):
        self.started = (entry, period_us)

    def read(self, w):
        return self.mem[w]

    def write(self, w, v):
        self.mem[w] = v & 0xFFFFFFFF


class UlpBoard(Board):
    reason = None

    def ulp(self):
        return W["port"]

    def wake_reason(self):
        return self.reason


def st(var, value):
    # as the ULP's ST: the PC in the upper half
    W["port"].mem[var] = (77 << 21) | (value & 0xFFFF)


def ucycle(cause, reason=None, state=None, slept=0, change_at=0, dev=0):
    if "port" not in W:
        W["port"] = FakePort()
    port = W["port"]
    if cause == 4:
        st(10, slept)
        st(11, change_at)
        st(16, dev)
        if state is not None:
            st(8, state)
    settings = {"app": "parking", "sampling": "ulp"}
    board = UlpBoard(W["flash"], cause)
    board.reason = reason
    mac = FakeMac([])
    node = Node(board, settings, ParkingApp.DEFAULTS, mac)
    app = ParkingApp(node, settings)
    try:
        run(node, app, 1)
        slept = "none"
    except Slept as e:
        slept = "deep %d" % e.args[0]
    up = " ".join("%d:%s" % (p, b.hex()) for p, b in mac.sent)
    words = " ".join("%x" % (port.mem[i] & 0xFFFF) for i in range(17))
    print(slept, "up", up, "| mem", words, "t0", port.mem[17], "|", port.loads, port.image,
          port.started, port.slave)
"""

CALLS = [
    "ucycle(1)",  # install: calibrate, load, start, announce
    "ucycle(4, 'ulp', state=1, slept=20, change_at=17, dev=3600)",  # a car (60 units ~ 8 uT)
    "ucycle(4, 'ulp', slept=700)",  # the heartbeat
    "ucycle(4, 'ulp', state=0, slept=100, change_at=96, dev=100)",  # it left
    "ucycle(4, 'timer', slept=3)",  # the ULP stopped: the fallback timer restarts it
]


def _cpython():
    namespace = {}
    exec(fakes("parking") + ULP, namespace)  # noqa: S102 - our own test program
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        eval("setup()", namespace)  # noqa: S307
        for call in CALLS:
            eval(call, namespace)  # noqa: S307
    return out.getvalue()


def test_assembler_output_is_byte_identical_on_micropython(micropython):
    got = micropython.run(
        "from lorafield_node.ulp import parking\nprint(parking.binary().hex())\n"
    ).strip()
    assert got == prog.binary().hex()
    shipped = micropython.run(
        "from lorafield_node.ulp import parking_image\nprint(parking_image.BINARY.hex())\n"
    ).strip()
    assert shipped == got
    words, _ = prog.program()
    assert bytes.fromhex(got)[12:16] == words[0].to_bytes(4, "little")


def test_ulp_wakes_match_cpython(micropython):
    want = _cpython()
    micropython.run(fakes("parking") + ULP + "\nsetup()\n")
    got = "".join(micropython.run(call + "\n") for call in CALLS)
    assert got == want
    lines = want.splitlines()
    assert len(lines) == len(CALLS)
    # install: the ULP loaded and started at ENTRY, 5 s period, QMC5883L as slave 0
    assert f"({prog.ENTRY}, 5000000) (0, 13)" in lines[0] and " 20:" in lines[0]
    assert " 10:" in lines[1] and " 10:" not in lines[2] and " 20:" in lines[2]
    assert " 10:" in lines[3]
    assert lines[4].split("|")[2].split()[0] == "2"  # loaded a second time
    print(want)


IMPORTS = (
    "lorafield_codec",
    "lorafield_node.store",
    "lorafield_node.apps.framework",
    "lorafield_node.drivers.qmc5883l",
    "lorafield_node.apps.parking",
    "lorafield_node.ulp.layout",
    "lorafield_node.ulp.parking_image",
    "lorafield_node.apps.parking_ulp",
)


def test_each_ulp_wake_fits_96_kib(micropython_factory, tmp_path):
    """As the apps' heap test (test_apps_micropython.py): modules as deployed (.mpy) one
    per call, the fakes precompiled, then one wake per call (the image is assembled at
    deploy time: the device never imports the assembler)."""
    vm = micropython_factory(heap_kib=96)
    deployed(vm)
    for module in IMPORTS:
        vm.run(f"import {module}\n")
    src = tmp_path / "lf_ulp_fakes.py"
    src.write_text(fakes("parking") + ULP)
    compile_file(src, tmp_path / "lf_ulp_fakes.mpy")
    vm.write_file("/lib/lf_ulp_fakes.mpy", (tmp_path / "lf_ulp_fakes.mpy").read_bytes())
    vm.run("from lf_ulp_fakes import ucycle, setup\nsetup()\n")
    peak = 0
    lines = []
    for call in CALLS:
        out = vm.run(call + "\nimport gc\nprint(gc.mem_alloc())\n").splitlines()
        lines.append(out[0])
        peak = max(peak, int(out[-1]))
    assert "\n".join(lines) + "\n" == _cpython()
    assert peak < 96 * 1024
    print(f"parking (ULP): highest heap use in a wake {peak} B")
