"""Shared pytest fixtures: the real MicroPython VM with the project's device files in /lib."""

from __future__ import annotations

import pytest
from lorafield_tools.mpvm import MicroPythonUnavailable, MicroPythonVM, project_vm

# Hardware in the loop: --hil-port PORT (tests marked `hil` are skipped without it).
pytest_plugins = ["lorafield_tools.hil.plugin"]


def _project_vm(heap_kib: int | None = None) -> MicroPythonVM:
    try:
        return project_vm(heap_kib=heap_kib)
    except MicroPythonUnavailable as exc:
        # Never skip: a missing VM must not turn the MicroPython checks green.
        pytest.fail(f"MicroPython VM unavailable: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def micropython():
    """One VM per test module (1 MiB heap, may grow); /lib = codec + firmware/lib/."""
    vm = _project_vm()
    yield vm
    vm.close()


@pytest.fixture
def micropython_factory():
    """`micropython_factory(heap_kib=64)` -> a fresh VM whose heap must not grow past heap_kib."""
    vms: list[MicroPythonVM] = []

    def make(heap_kib: int | None = 64) -> MicroPythonVM:
        vm = _project_vm(heap_kib)
        vms.append(vm)
        return vm

    yield make
    for vm in vms:
        vm.close()


# -- .mpy size report ----------------------------------------------------------------------
_MPY_REPORT = pytest.StashKey[str]()


@pytest.fixture
def record_mpy_report(request):
    """Tests call this with a one-line .mpy size summary; it is printed after the run."""

    def record(line: str) -> None:
        request.config.stash[_MPY_REPORT] = line

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    line = config.stash.get(_MPY_REPORT, None)
    if line:
        terminalreporter.write_sep("-", "MicroPython .mpy size")
        terminalreporter.write_line(line)
