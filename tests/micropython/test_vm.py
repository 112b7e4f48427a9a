"""The MicroPython VM runner itself: real MicroPython, stdout, tracebacks, heap limit, files."""

import pytest
from lorafield_tools.mpvm import HeapLimitExceeded, MicroPythonError, MicroPythonTimeout
from lorafield_tools.mpvm.vm import MicroPythonVM

pytestmark = pytest.mark.micropython


def test_run_returns_stdout(micropython):
    assert micropython.run("print(6 * 7)\nprint('b', end='')") == "42\nb"


def test_state_persists_between_runs(micropython):
    micropython.run("counter = 41")
    assert micropython.run("counter += 1\nprint(counter)") == "42\n"


def test_it_really_is_micropython_1_27(micropython):
    out = micropython.run(
        "import sys\nprint(sys.implementation.name)\nprint(sys.implementation.version[:2])"
    )
    name, version = out.splitlines()
    assert name == "micropython"
    assert tuple(int(x) for x in version.strip("()").split(",")) >= (1, 27)
    # A MicroPython-only module that CPython lacks.
    assert micropython.run("import micropython\nprint(micropython.const(7))") == "7\n"


def test_exception_raises_with_micropython_traceback(micropython):
    code = "print('before')\ndef inner():\n    raise ValueError('boom 17')\ninner()\n"
    with pytest.raises(MicroPythonError) as info:
        micropython.run(code)
    err = info.value
    assert err.exc_type == "ValueError"
    assert err.stdout == "before\n"
    assert "Traceback (most recent call last)" in err.traceback
    assert "line 3, in inner" in err.traceback
    assert err.traceback.rstrip().endswith("ValueError: boom 17")
    # The VM survives an exception.
    assert micropython.run("print('after')") == "after\n"


def test_written_files_are_importable(micropython):
    micropython.write_file("/lib/lf_probe_pkg/__init__.py", "VALUE = 3\n")
    sub = b"from lf_probe_pkg import VALUE\nX = VALUE * 2\n"
    micropython.write_file("/lib/lf_probe_pkg/sub.py", sub)
    assert micropython.run("from lf_probe_pkg.sub import X\nprint(X)") == "6\n"


def test_project_packages_are_in_lib(micropython):
    listing = micropython.run("import os\nprint(sorted(os.listdir('/lib')))")
    assert "lorafield_codec" in listing
    assert "lorafield_node" in listing


def test_heap_within_limit_passes(micropython_factory):
    vm = micropython_factory(heap_kib=64)
    assert vm.run("b = bytearray(16 * 1024)\nprint(len(b))") == "16384\n"
    assert vm.gc_total == vm.gc_total_initial


def test_heap_limit_exceeded_is_detected(micropython_factory):
    vm = micropython_factory(heap_kib=64)
    initial = vm.gc_total_initial
    # Initial GC total is the requested heap (minus the GC's own bookkeeping).
    assert 60 * 1024 < initial <= 64 * 1024
    with pytest.raises(HeapLimitExceeded, match="64 KiB"):
        vm.run("keep = [bytearray(1024) for _ in range(96)]")


def test_heap_growth_wins_over_a_later_exception(micropython_factory):
    vm = micropython_factory(heap_kib=64)
    with pytest.raises(HeapLimitExceeded, match="then raised"):
        vm.run("keep = [bytearray(1024) for _ in range(96)]\nraise ValueError('late')")


def test_vm_restarts_after_heap_limit(micropython_factory):
    vm = micropython_factory(heap_kib=64)
    with pytest.raises(HeapLimitExceeded):
        vm.run("keep = [bytearray(1024) for _ in range(96)]")
    # A fresh VM with the initial heap again, project files still in /lib.
    assert vm.run("import os\nprint('lorafield_codec' in os.listdir('/lib'))") == "True\n"
    assert vm.gc_total == vm.gc_total_initial


def test_stdin_reads_eof_without_eating_the_protocol(micropython):
    assert micropython.run("import sys\nprint(repr(sys.stdin.read(3)))") == "''\n"
    assert micropython.run("print('still here')") == "still here\n"


def test_same_code_fits_a_bigger_heap(micropython_factory):
    vm = micropython_factory(heap_kib=128)
    vm.run("keep = [bytearray(1024) for _ in range(96)]")
    assert vm.gc_total == vm.gc_total_initial


def test_hung_code_times_out_and_vm_restarts():
    vm = MicroPythonVM(timeout_s=1.0)
    try:
        vm.write_file("/lib/lf_after_restart.py", "OK = 1\n")
        with pytest.raises(MicroPythonTimeout):
            vm.run("while True:\n    pass\n")
        # Next call starts a fresh VM with the files written so far.
        assert vm.run("import lf_after_restart\nprint(lf_after_restart.OK)") == "1\n"
    finally:
        vm.close()


def test_relative_vm_path_is_rejected(micropython):
    with pytest.raises(ValueError, match="absolute"):
        micropython.write_file("lib/x.py", "")


def test_missing_node_modules_says_run_make_test(tmp_path, monkeypatch):
    from lorafield_tools.mpvm import MicroPythonUnavailable

    monkeypatch.setenv("LORAFIELD_NODE_MODULES", str(tmp_path))
    with pytest.raises(MicroPythonUnavailable, match="make test"):
        MicroPythonVM()
