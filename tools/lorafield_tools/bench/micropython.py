"""`lorafield bench micropython`: cost of the MicroPython checks (VM start, run() round trip,
.mpy size of the device code)."""

import statistics
import tempfile
import time
from pathlib import Path

HELP = "MicroPython VM start-up and run() round trip; total .mpy size of firmware/ and codecs/"


def add_arguments(parser):
    parser.add_argument("--runs", type=int, default=500, help="run() calls to time (default 500)")
    parser.add_argument("--starts", type=int, default=5, help="VM starts to time (default 5)")


def run(args):
    from lorafield_tools.cli import UsageError
    from lorafield_tools.mpcheck import compile_project, repo_root
    from lorafield_tools.mpvm import MicroPythonUnavailable, project_vm

    if args.runs < 1 or args.starts < 1:
        raise UsageError("--runs and --starts must be at least 1")
    if not (repo_root() / "firmware").is_dir():
        raise UsageError("run it in a lorafield checkout")
    try:
        starts = []
        for _ in range(args.starts):
            t0 = time.perf_counter()
            vm = project_vm(heap_kib=64)
            starts.append(time.perf_counter() - t0)
            vm.close()
        with project_vm() as vm:
            vm.run("x = 0")
            trips = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                vm.run("x += 1")
                trips.append(time.perf_counter() - t0)
    except MicroPythonUnavailable as exc:
        raise UsageError(str(exc)) from None
    with tempfile.TemporaryDirectory() as tmp:
        report = compile_project(Path(tmp))
    print(
        f"VM start (node + wasm + project /lib, median of {args.starts}): "
        f"{statistics.median(starts) * 1000:.0f} ms"
    )
    print(f"run() round trip (median of {args.runs}): {statistics.median(trips) * 1e6:.0f} us")
    print(
        f".mpy total, firmware/ + codecs/: {report.total_bytes} bytes ({len(report.files)} files)"
    )
    return 0
