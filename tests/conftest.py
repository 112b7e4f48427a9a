"""Shared pytest fixtures: the real MicroPython VM with the project's device files in /lib,
and a real MQTT broker."""

from __future__ import annotations

import pytest
from lorafield_tools import mqtt_broker
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


# -- MQTT broker ---------------------------------------------------------------------------
def pytest_report_header(config):
    """Which real broker the MQTT tests use (tests parametrized over brokers also use amqtt)."""
    try:
        kind = mqtt_broker.choose()
    except mqtt_broker.BrokerError as exc:
        return f"mqtt broker: none ({exc}); the MQTT tests will fail"
    line = f"mqtt broker: {mqtt_broker.describe(kind)}"
    if kind != "amqtt" and mqtt_broker.amqtt_version():
        line += f"; amqtt {mqtt_broker.amqtt_version()} too in the tests run per broker"
    return line


@pytest.fixture
def mqtt_broker_factory(tmp_path):
    """`mqtt_broker_factory(kind=None, persistent=True)` -> a started real broker
    (lorafield_tools.mqtt_broker: mosquitto if installed, else amqtt); stopped at teardown.
    Without one the test fails (never skips) with the install hint."""
    brokers = []

    def make(kind=None, persistent=True):
        try:
            broker = mqtt_broker.Broker(
                tmp_path / f"broker-{len(brokers)}", kind=kind, persistent=persistent
            )
            brokers.append(broker)
            return broker.start()
        except mqtt_broker.BrokerError as exc:
            pytest.fail(f"MQTT broker: {exc}", pytrace=False)

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def broker(mqtt_broker_factory):
    """The session's broker, persistent: a restart keeps clean_session=False subscriptions."""
    return mqtt_broker_factory()


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
