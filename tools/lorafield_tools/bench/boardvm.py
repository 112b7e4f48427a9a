"""`lorafield bench boardvm`: the emulated board's two MicroPython runtimes side by side (the
native unix port and the WebAssembly build under node, `emulate board --runtime`): interpreter
start, a run round trip, the cost of one board (hardware) call over the bridge, Ctrl-C on a
pure-Python loop, and the heap the VM really has."""

import os
import statistics
import threading
import time

from ..commands.common import positive_int

HELP = "emulated board's VM per runtime: start, run round trip, board call cost, Ctrl-C, heap"

RUNTIMES = ("micropython", "webassembly")
# One board call per iteration, as lorafield_emulated makes them (JSON both ways).
CALLS = """
import lorafield_emulated as e
for _ in range({n}):
    e.request({{"op": "identity"}})
"""
EMPTY = "for _ in range({n}):\n    pass\n"


def add_arguments(parser):
    parser.add_argument(
        "--runtime", choices=RUNTIMES, action="append", help="only this one (default: both)"
    )
    parser.add_argument("--calls", type=positive_int, default=5000, help="board calls (5000)")
    parser.add_argument("--starts", type=positive_int, default=5, help="VM starts (default 5)")
    parser.add_argument("--heap-kib", type=positive_int, default=110, help="VM heap (110 KiB)")


def run(args):
    from lorafield_tools.mpvm import MicroPythonUnavailable
    from lorafield_tools.pty_board.board import make_vm

    rows = []
    for runtime in args.runtime or RUNTIMES:
        try:
            vm = make_vm(runtime, args.heap_kib)
        except MicroPythonUnavailable as exc:
            rows.append((f"{runtime}: not available", str(exc)))
            continue
        try:
            rows += _measure(runtime, vm, args)
        finally:
            vm.stop()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def _measure(runtime, vm, args):
    rows = []
    starts = []
    for _ in range(args.starts):
        t0 = time.perf_counter()
        vm.start()
        starts.append(time.perf_counter() - t0)
    rows.append((f"{runtime}: VM start (soft reset), median", _ms(statistics.median(starts))))
    runs = []
    for _ in range(50):
        t0 = time.perf_counter()
        vm.run("x = 1")
        runs.append(time.perf_counter() - t0)
    rows.append((f"{runtime}: run round trip, median", _ms(statistics.median(runs))))

    def hw(req):
        return {"board": "heltec_lora32_v2", "port": "esp32"}

    t0 = time.perf_counter()
    result = vm.run(EMPTY.format(n=args.calls), hw=hw)
    empty = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = vm.run(CALLS.format(n=args.calls), hw=hw)
    calls = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(result.traceback)
    per_call = (calls - empty) / args.calls
    rows.append((f"{runtime}: board call round trip ({args.calls} calls)", _us(per_call)))
    out = []
    vm.run("import gc; gc.collect(); print(gc.mem_free() + gc.mem_alloc())", output=out.append)
    heap = int("".join(out).split()[-1])
    rows.append((f"{runtime}: GC heap for --heap-kib {args.heap_kib}", f"{heap} B"))
    rows.append((f"{runtime}: Ctrl-C on `while True: pass`", _interrupt(vm)))
    return rows


def _interrupt(vm):
    r, w = os.pipe()
    try:
        threading.Timer(0.2, os.write, (w, b"\x03")).start()
        sent = time.perf_counter() + 0.2

        def on_input():
            os.read(r, 1)
            return True

        result = vm.run("while True:\n    pass\n", input_fd=r, on_input=on_input)
        took = time.perf_counter() - sent
    finally:
        os.close(r)
        os.close(w)
    how = "VM killed after the grace period" if result.killed else result.exc_type
    return f"{_ms(took)} ({how})"


def _ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def _us(seconds):
    return f"{seconds * 1e6:.0f} us"
