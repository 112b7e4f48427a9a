"""`lorafield emulate board --pty`: options and run (called from commands/emulate.py)."""

import argparse
import signal
import sys
import threading

from .board import PtyBoard
from .vm import VmGone

# A heap of 0 or less kills the VM at start; the WebAssembly VM's memory is 32-bit, and a
# 4 GiB heap does not start either. (Real boards give MicroPython 100-200 KiB.) Both runtimes
# take the same range; too small a heap for the board's own start-up is a one-line error.
HEAP_KIB = (1, 1 << 20)
BOARD_HEAP_KIB = 512


def _heap_kib(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not HEAP_KIB[0] <= value <= HEAP_KIB[1]:
        raise argparse.ArgumentTypeError(f"must be {HEAP_KIB[0]}..{HEAP_KIB[1]}, got {text!r}")
    return value


def add_board_arguments(parser):
    parser.add_argument("--pty", action="store_true", help="board: serve a pseudo-terminal")
    parser.add_argument("--fs", metavar="DIR", help="board: its filesystem (default: in memory)")
    parser.add_argument("--link", metavar="PATH", help="board: a symlink to the pty")
    parser.add_argument(
        "--board-profile",
        default="heltec_lora32_v2",
        metavar="KEY",
        help="board: which board it emulates (default heltec_lora32_v2)",
    )
    parser.add_argument(
        "--fleet",
        metavar="FILE",
        help="board: fleet file for the emulated gateway's network server",
    )
    parser.add_argument(
        "--speed",
        type=float,
        metavar="X",
        default=1.0,
        help="board: virtual seconds per real second while the node sleeps (default 1)",
    )
    parser.add_argument(
        "--heap-kib",
        type=_heap_kib,
        metavar="KIB",
        default=None,
        help=f"MicroPython heap, {HEAP_KIB[0]}..{HEAP_KIB[1]} KiB (board: default "
        f"{BOARD_HEAP_KIB}; field: of every micropython node, default its board's budget)",
    )
    parser.add_argument("--no-radio", action="store_true", help="board: no air, gateway, LNS")
    parser.add_argument(
        "--real-boards",
        action="store_true",
        help="board: run the deployed firmware/boards code on emulated machine/esp32/onewire "
        "modules (default: the ROM's own board support)",
    )


def run_board(args, usage_error):
    if not args.pty:
        raise usage_error("only --pty is supported (give --pty)")
    if getattr(args, "runtime", None) == "cpython":
        raise usage_error(
            "--runtime cpython: the board runs a MicroPython VM (micropython or webassembly)"
        )
    world = None
    if not args.no_radio:
        from .world import NodeWorld, WorldError

        try:
            world = NodeWorld(
                board_key=args.board_profile, fleet_path=args.fleet, speed=args.speed, log=_log
            )
        except WorldError as exc:
            raise usage_error(str(exc)) from None
    from ..mpvm import MicroPythonUnavailable

    try:
        board = PtyBoard(
            fs_dir=args.fs,
            world=world,
            heap_kib=args.heap_kib or BOARD_HEAP_KIB,
            link=args.link,
            real_boards=args.real_boards,
            runtime=args.runtime,
        )
    except MicroPythonUnavailable as exc:
        raise usage_error(str(exc)) from None
    try:
        board.vm.start()
    except VmGone as exc:  # e.g. a heap too small for the interpreter's own start-up
        board.close()
        raise usage_error(str(exc)) from None
    print(board.path, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        board.serve(stop)
    except KeyboardInterrupt:
        pass
    return 0


def _log(line):
    print(line, file=sys.stdout, flush=True)
