"""Check 2: pyright type-checks firmware/ and codecs/ against each port's MicroPython stubs."""

import pytest
from lorafield_tools.mpcheck import PORTS, TypecheckUnavailable, typecheck, typecheck_project


def _check(port, paths, **kwargs):
    try:
        return typecheck(port, paths, **kwargs)
    except TypecheckUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.parametrize("port", PORTS)
def test_device_code_type_checks(port):
    try:
        diags = typecheck_project(port)
    except TypecheckUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    errors = [d for d in diags if d.severity == "error"]
    assert not errors, f"pyright ({port} stubs):\n" + "\n".join(map(str, errors))


@pytest.mark.parametrize("port", PORTS)
def test_nonexistent_machine_api_is_an_error(tmp_path, port):
    src = tmp_path / "probe.py"
    src.write_text("import machine\n\nmachine.Pin(0, machine.Pin.OUT).no_such_method()\n")
    diags = _check(port, [tmp_path])
    assert any(d.severity == "error" and "no_such_method" in d.message for d in diags), diags
    # The real API is fine: the only error is the bogus one.
    src.write_text("import machine\n\nmachine.Pin(0, machine.Pin.OUT).value(1)\n")
    assert _check(port, [tmp_path]) == []


@pytest.mark.parametrize("port", PORTS)
def test_stdlib_is_micropythons_and_host_packages_are_hidden(tmp_path, port):
    # dataclasses is CPython-only; cbor2 is installed in the host venv, not on a device.
    (tmp_path / "a.py").write_text("import dataclasses\n")
    (tmp_path / "b.py").write_text("import cbor2\n")
    (tmp_path / "c.py").write_text("import time\n\nt = time.ticks_diff(time.ticks_ms(), 0)\n")
    diags = _check(port, [tmp_path])
    unresolved = {d.file.rsplit("/", 1)[-1] for d in diags if d.rule == "reportMissingImports"}
    assert unresolved == {"a.py", "b.py"}, diags


def test_ports_do_not_see_each_others_stubs(tmp_path):
    (tmp_path / "only_rp2.py").write_text("import rp2\n")
    (tmp_path / "only_esp32.py").write_text("import esp32\n")

    def unresolved(port):
        diags = _check(port, [tmp_path])
        return {d.file.rsplit("/", 1)[-1] for d in diags if d.rule == "reportMissingImports"}

    assert unresolved("esp32") == {"only_rp2.py"}
    assert unresolved("rp2") == {"only_esp32.py"}


def test_const_fallback_pattern_is_accepted(tmp_path):
    # The project's mandated guard (MicroPython has no positional-only `/` to match the stub).
    (tmp_path / "consts.py").write_text(
        "try:\n    from micropython import const\nexcept ImportError:\n\n"
        "    def const(x):\n        return x\n\n\n_N = const(4)\n"
    )
    assert _check("esp32", [tmp_path]) == []


def test_unknown_port_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown port"):
        typecheck("esp8266", [tmp_path])
