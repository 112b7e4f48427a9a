"""Check 1: every .py under firmware/ and codecs/ compiles with mpy-cross; report the size."""

import pytest
from lorafield_tools.mpcheck import MpyCompileError, compile_file, compile_project, device_sources
from lorafield_tools.mpcheck.sources import repo_root


def test_every_device_file_compiles(tmp_path, record_mpy_report):
    sources = device_sources()
    assert sources, "no .py found under firmware/ and codecs/"
    report = compile_project(tmp_path)
    assert [f.source for f in report.files] == sources
    for f in report.files:
        data = f.output.read_bytes()
        # .mpy header: b"M", format version 6 (MicroPython 1.22+).
        assert data[:2] == b"M\x06", f.output
        assert f.size == len(data) > 0
        # Tracebacks on the device name the repo path of the source.
        assert f.source.relative_to(repo_root()).as_posix().encode() in data
    assert report.total_bytes == sum(f.size for f in report.files)
    record_mpy_report(f"firmware/ + codecs/: {report.summary()}")


def test_device_sources_cover_both_trees():
    root = repo_root()
    tops = {p.relative_to(root).parts[0] for p in device_sources()}
    assert tops == {"firmware", "codecs"}
    assert all("__pycache__" not in p.parts for p in device_sources())


def test_syntax_error_fails_the_compile(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n    pass\n")
    with pytest.raises(MpyCompileError, match="SyntaxError") as info:
        compile_file(bad, tmp_path / "bad.mpy", source_name="lib/bad.py")
    assert info.value.source == bad
    assert 'bad.py", line 1' in info.value.message


def test_cpython_only_syntax_fails_the_compile(tmp_path):
    # CPython accepts it, MicroPython does not: the check is MicroPython's grammar.
    src = tmp_path / "posonly.py"
    src.write_text("def f(x, /):\n    return x\n")
    with pytest.raises(MpyCompileError):
        compile_file(src, tmp_path / "posonly.mpy")


@pytest.mark.micropython
def test_compiled_mpy_imports_in_the_vm(tmp_path, micropython):
    # The .mpy format mpy-cross emits is the one the VM (same MicroPython release) loads.
    src = tmp_path / "lf_mpy_probe.py"
    src.write_text("def triple(x):\n    return 3 * x\n")
    out = tmp_path / "lf_mpy_probe.mpy"
    compile_file(src, out)
    micropython.write_file("/lib/lf_mpy_probe.mpy", out.read_bytes())
    result = micropython.run(
        "import lf_mpy_probe\nprint(lf_mpy_probe.triple(14), lf_mpy_probe.__file__)"
    )
    assert result == "42 /lib/lf_mpy_probe.mpy\n"
