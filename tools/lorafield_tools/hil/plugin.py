"""pytest plugin for the hardware-in-the-loop test set (tests/hil/).

    pytest tests/hil --hil-port /dev/ttyUSB0 --hil-board heltec_lora32_v2 \
        --hil-fleet fleet.toml --hil-device 70b3d57ed0001001

Without --hil-port every test marked `hil` is skipped with the reason. The `hil` fixture
deploys the test build (hil/selftest.py as /main.py, the real firmware packages, the device's
config), soft-resets the board and collects its `HIL ...` report lines.
"""

from __future__ import annotations

import time

import pytest

from . import SELFTEST

SKIP_REASON = "HIL: no board attached (run with --hil-port PORT; hardware/README.md, Workbench)"


def pytest_addoption(parser):
    group = parser.getgroup("hil", "hardware in the loop (a board on a serial port)")
    group.addoption("--hil-port", help="serial port of the board under test")
    group.addoption("--hil-board", help="board profile (default: the fleet entry's board)")
    group.addoption("--hil-fleet", help="fleet file holding the device under test")
    group.addoption("--hil-device", help="DevEUI of the device under test (in --hil-fleet)")
    group.addoption("--hil-timeout", type=float, default=120.0, help="s to wait for the report")


def pytest_configure(config):
    config.addinivalue_line("markers", "hil: needs a board on a serial port (--hil-port)")
    if config.getoption("--hil-port") and not (
        config.getoption("--hil-fleet") and config.getoption("--hil-device")
    ):
        raise pytest.UsageError("--hil-port needs --hil-fleet and --hil-device")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--hil-port"):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if "hil" in item.keywords:
            item.add_marker(skip)


class HilBench:
    """The board under test and what its test build reported."""

    def __init__(self, config):
        from lorafield_gateway.fleet import load_fleet

        self.port = config.getoption("--hil-port")
        self.board = config.getoption("--hil-board")
        self.timeout = config.getoption("--hil-timeout")
        fleet = load_fleet(config.getoption("--hil-fleet"))
        self.device = fleet.get(config.getoption("--hil-device"))
        if self.device is None:
            raise pytest.UsageError("--hil-device is not in --hil-fleet")
        self.deploys = []
        self.report = {}
        self.lines = []

    def deploy(self):
        from ..workbench.deploy import deploy
        from ..workbench.device import Device

        with Device(self.port) as board:
            result = deploy(board, self.device, self.board, out=lambda line: None,
                            main=SELFTEST.read_bytes())  # fmt: skip
            self.deploys.append(result)
        return result

    def run_selftest(self):
        """Soft reset (the test build runs) and collect its report until `HIL done` or a
        failed join, or the timeout."""
        from ..workbench.device import Device

        with Device(self.port) as board:
            board.soft_reset()
            serial = board.transport.serial
            buffer = b""
            end = time.monotonic() + self.timeout
            while time.monotonic() < end:
                buffer += serial.read(serial.in_waiting or 1)
                if any(end in buffer for end in (b"HIL done", b"HIL join ok=0", b"Traceback")):
                    time.sleep(0.2)  # the rest of a traceback
                    buffer += serial.read(serial.in_waiting)
                    break
            serial.write(b"\x03")  # stop whatever runs next (a real board's main.py is gone)
        self.lines = buffer.decode("utf-8", "replace").splitlines()
        for line in self.lines:
            if line.startswith("HIL "):
                check, *fields = line[4:].split()
                self.report[check] = dict(f.split("=", 1) for f in fields if "=" in f)
        return self.report


@pytest.fixture(scope="session")
def hil(request):
    if not request.config.getoption("--hil-port"):
        pytest.skip(SKIP_REASON)
    bench = HilBench(request.config)
    bench.deploy()
    bench.run_selftest()
    return bench
