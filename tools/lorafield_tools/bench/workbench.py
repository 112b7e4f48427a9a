"""`lorafield bench workbench`: the workbench tools against the emulated board on a pty
(in-process): board start, exec round trip through mpremote's transport, raw-paste write
throughput, a full and a no-op deploy, and soft reset to the node's first uplink."""

import statistics
import tempfile
import threading
import time
from pathlib import Path

from ..commands.common import positive_float, positive_int
from ..pty_board.board import RUNTIMES
from .keys import FIPS197_TEST_KEY_HEX

HELP = "emulated pty board: exec round trip, write throughput, deploy full/no-op, reset to uplink"

DEV_EUI = "70b3d57ed0002001"
FLEET = f"""[defaults]
join_eui = "70b3d57ed00000ff"

[[device]]
dev_eui = "70b3d57ed0002001"
kind = "temperature"
app_key = "{FIPS197_TEST_KEY_HEX}"  # a test key: the FIPS-197 example key
board = "heltec_lora32_v2"
settings = {{ sensor = "sht31", interval_s = 60 }}
"""


def add_arguments(parser):
    parser.add_argument(
        "--execs", type=positive_int, default=50, help="exec round trips (default 50)"
    )
    parser.add_argument(
        "--speed", type=positive_float, default=500.0, help="board --speed (default 500)"
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        help="the board's MicroPython: the native unix port (micropython; default where"
        " installed) or the WebAssembly build (webassembly)",
    )


def run(args):
    from lorafield_gateway.fleet import load_fleet

    from lorafield_tools.cli import UsageError
    from lorafield_tools.mpvm import MicroPythonUnavailable
    from lorafield_tools.pty_board import PtyBoard
    from lorafield_tools.pty_board.world import NodeWorld
    from lorafield_tools.workbench.deploy import deploy
    from lorafield_tools.workbench.device import Device

    rows = []
    with tempfile.TemporaryDirectory(prefix="lorafield-bench-") as tmp:
        fleet_path = Path(tmp) / "fleet.toml"
        fleet_path.write_text(FLEET)
        uplinks = []
        t0 = time.perf_counter()
        world = NodeWorld(fleet_path=str(fleet_path), speed=args.speed, log=uplinks.append)
        try:
            board = PtyBoard(fs_dir=Path(tmp) / "fs", world=world, runtime=args.runtime)
        except MicroPythonUnavailable as exc:
            raise UsageError(str(exc)) from None
        stop = threading.Event()
        thread = threading.Thread(target=board.serve, args=(stop,), daemon=True)
        thread.start()
        device = load_fleet(fleet_path).get(DEV_EUI)
        try:
            with Device(board.path) as dev:
                dev.exec("pass")
                rows.append(("board start to first exec", f"{time.perf_counter() - t0:.2f} s"))
                times = []
                for _ in range(args.execs):
                    t1 = time.perf_counter()
                    dev.exec("x = 1")
                    times.append(time.perf_counter() - t1)
                rows.append(("exec round trip (raw-paste), median", _ms(statistics.median(times))))
                blob = bytes(range(256)) * 256
                t1 = time.perf_counter()
                dev.write("/bench.bin", blob)
                rate = len(blob) / 1024 / (time.perf_counter() - t1)
                rows.append(("file write (1 kB chunks)", f"{rate:.0f} KiB/s"))
                dev.remove(["/bench.bin"])
                t1 = time.perf_counter()
                full = deploy(dev, device, out=lambda line: None)
                rows.append(
                    (
                        f"full deploy ({len(full.written)} files, {full.bytes_written} B)",
                        f"{time.perf_counter() - t1:.2f} s",
                    )
                )
                t1 = time.perf_counter()
                again = deploy(dev, device, out=lambda line: None)
                assert not again.written
                rows.append(("no-op deploy (hashes only)", f"{time.perf_counter() - t1:.2f} s"))
                uplinks.clear()
                t1 = time.perf_counter()
                dev.soft_reset()
                while not any(" uplink " in line for line in uplinks):
                    if time.perf_counter() - t1 > 60:
                        raise RuntimeError("no uplink within 60 s")
                    time.sleep(0.01)
                rows.append(
                    (
                        f"soft reset to first uplink (--speed {args.speed:g})",
                        f"{time.perf_counter() - t1:.2f} s",
                    )  # fmt: skip
                )
        finally:
            stop.set()
            thread.join(10)
    print(f"runtime: {board.vm.runtime} ({board.vm.version})")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def _ms(seconds):
    return f"{seconds * 1000:.1f} ms"
