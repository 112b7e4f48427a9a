"""The TS009 test app (firmware/lib/lorafield_node/testapp.py) on fakes: every command's
answer and effect, the cycle (counting, answering at once, the period, duty-cycle waits,
rejoin, reset, FPort 224 disabled), on CPython and in the real MicroPython VM, which must
print the same lines; the framework loads it only where the setting is on."""

import contextlib
import io
from pathlib import Path

import pytest
import ts009_program
from lorafield_node.deploy import ConfigError
from lorafield_node.settings import check_settings
from lorafield_tools.mpcheck import compile_file

HERE = Path(__file__).parent
PROGRAM_FILES = ("ts009_fakes.py", "ts009_program.py")


def load(vm):
    for name in PROGRAM_FILES:
        vm.write_file("/lib/" + name, (HERE / name).read_bytes())


# What the program must print (TS009 section 5 for the answers; testapp.py's docstring for
# our choices: the 5 s default period, the idle frame on FPort 1).
EXPECTED = """\
package_version 000601
package_version_wrong_length -
dut_version 7f000100000100040002010004
echo 080142ff00
echo_empty 08
echo_cut_len 102
rx_app_cnt 093412
rx_app_cnt_reset - 0
frames_ctrl 2 confirmed=True
frames_ctrl 0 confirmed=True
frames_ctrl 1 confirmed=False
frames_ctrl 7 confirmed=False
periodicity 3 20000
periodicity 10 480000
periodicity 0 5000
periodicity 11 5000
adr 0 False
adr 1 True
adr 2 True
duty_cycle 0 regional=False
duty_cycle 1 regional=True
duty_cycle 0 regional=False
duty_cycle 9 regional=False
mac_requests link_check,device_time True
switch_class 0 answer=-
switch_class 1 answer=-
switch_class 2 answer=-
tx_cw ignored answer=-
unknown answer=-
superseded answer_len=0
dut_join rejoin=True
dut_reset reboot=True
abp_dut_join rejoin=False
abp_dut_version 7f010203000100040002010004
activation joins=2 sent=(1, '00', False) next=3000 dr=1
after_request next=0 answer_len=3 cnt=1
answer sent=(224, '000601', False) next=3000 applied=[30]
cnt_with_config=2
confirmed sent=(1, '00', True) cnt=3
rx_app_cnt_ans (224, '090100', False)
duty_wait slept=[1234] sent=(1, '00', False)
echo_cut sent=(224, '0801010101010101010101', False)
version_dropped sends=0 answer_len=0
period next=8000
owed next=0
rejoin_failed joins=3 sends=0 next=10000
rejoined joins=4 rejoin=False sent=(1, '00', False) dr=2
reset done=True deep=[100] sends=1
disable done=True deep=[100] stored=True
after_disable run=False sends=0
three done=True sends=3 slept=[3000, 3000, 3000] fed=3
"""


def cpython_output():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ts009_program.main()
    return out.getvalue()


def test_commands_and_cycles_on_cpython():
    got = cpython_output()
    assert got.splitlines() == EXPECTED.splitlines()


def test_the_answers_are_the_spec_bytes():
    """The answers spelled out against TS009 section 5, not against our own output."""
    lines = dict(line.split(" ", 1) for line in EXPECTED.splitlines() if " " in line)
    # PackageVersionAns: CID 0x00, PackageIdentifier 6, PackageVersion 1.
    assert bytes.fromhex(lines["package_version"]) == bytes([0x00, 6, 1])
    # DutVersionAns: CID 0x7F, FW 0.1.0.0, LoRaWAN 1.0.4.0, RP002-1.0.4 as 2.1.0.4.
    assert bytes.fromhex(lines["dut_version"]) == bytes([0x7F, 0, 1, 0, 0, 1, 0, 4, 0, 2, 1, 0, 4])
    # EchoPayloadAns: CID 0x08 then each byte + 1 modulo 256 (0xFF -> 0x00).
    assert bytes.fromhex(lines["echo"]) == bytes([0x08, 0x01, 0x42, 0xFF, 0x00])
    # RxAppCntAns: CID 0x09, the 16-bit counter little endian.
    assert bytes.fromhex(lines["rx_app_cnt"]) == bytes([0x09, 0x34, 0x12])


@pytest.mark.micropython
def test_the_same_lines_in_the_micropython_vm(micropython):
    load(micropython)
    got = micropython.run("import ts009_program\nts009_program.main()\n")
    assert got.splitlines() == cpython_output().splitlines() == EXPECTED.splitlines()


FRAMEWORK_FAKES = """
import sys
from lorafield_node.apps.framework import run
from ts009_fakes import Downlink, Node


class App:
    CONTINUOUS = False

    def __init__(self):
        self.wakes = 0

    def wake(self):
        self.wakes += 1

    def sleep_ms(self):
        return 900000


def boot(settings, store=None, script=()):
    node = Node(settings)
    if store is not None:
        node.store = store
    node.finish = lambda: None
    node._mac.joined = True
    node._mac.script = list(script)
    app = App()
    run(node, app, 3)
    return node, app
"""


@pytest.mark.micropython
def test_the_framework_imports_the_test_app_only_where_it_is_on(micropython_factory, tmp_path):
    """A boot without ``certification`` never loads testapp.py (heap on a device); with it,
    test mode takes the boot and the app pauses; once FPort 224 is disabled the module is
    unloaded again and the app wakes."""
    vm = micropython_factory(heap_kib=None)
    load(vm)
    vm.run(FRAMEWORK_FAKES)
    out = vm.run(
        "node, app = boot({'dev_eui': b'x'})\n"
        "print(app.wakes, len(node._mac.sent), 'lorafield_node.testapp' in sys.modules)\n"
    )
    assert out.split() == ["1", "0", "False"]  # one wake, then its deep sleep
    out = vm.run(
        "node, app = boot({'dev_eui': b'x', 'certification': True},"
        " script=[[Downlink(224, b'\\x7e')]])\n"
        "print(app.wakes, node._mac.sent, node.deep, 'lorafield_node.testapp' in sys.modules)\n"
    )
    assert out.split(" ", 1)[0] == "0"  # the app paused
    assert "(1, '00', False)" in out and "[100] True" in out  # test mode, then the reset
    out = vm.run(
        "store = node.store\n"
        "node, app = boot({'dev_eui': b'x', 'certification': True}, store)\n"
        "print(app.wakes, len(node._mac.sent), 'lorafield_node.testapp' in sys.modules)\n"
    )
    assert out.split() == ["1", "0", "False"]  # FPort 224 off: the app again, module gone


@pytest.mark.micropython
def test_the_test_app_compiles_and_its_import_is_small(micropython_factory, tmp_path):
    """testapp.py as deployed (.mpy): what importing it costs a device's heap."""
    root = Path(__file__).resolve().parents[2]
    src = root / "firmware/lib/lorafield_node/testapp.py"
    mpy = tmp_path / "testapp.mpy"
    compile_file(src, mpy)
    vm = micropython_factory(heap_kib=64)
    vm.write_file("/mpy/lorafield_node/testapp.mpy", mpy.read_bytes())
    vm.write_file("/mpy/lorafield_node/__init__.py", b"")
    # One step per call: this port collects garbage only between calls (tests/README.md).
    vm.run("import sys, gc\nsys.path.insert(0, '/mpy')\nimport lorafield_node\n")
    before = int(vm.run("gc.collect()\nprint(gc.mem_alloc())\n"))
    vm.run("import lorafield_node.testapp\n")
    cost = int(vm.run("gc.collect()\nprint(gc.mem_alloc())\n")) - before
    print(f"testapp.mpy {mpy.stat().st_size} B; importing it: {cost} B of heap")
    assert 0 < cost < 4096


def test_the_setting_is_a_boolean_for_every_app():
    for app in ("parking", "water_level", "temperature"):
        check_settings(app, {"certification": True})
        check_settings(app, {"certification": False})
    for bad in (1, "yes", None):
        with pytest.raises(ConfigError, match="certification must be true or false"):
            check_settings("temperature", {"certification": bad})
