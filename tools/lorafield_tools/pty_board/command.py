"""`lorafield emulate board --pty`: options and run (called from commands/emulate.py)."""

import signal
import sys
import threading

from .board import PtyBoard


def add_board_arguments(parser):
    parser.add_argument("--pty", action="store_true", help="board: serve a pseudo-terminal")
    parser.add_argument("--fs", metavar="DIR", help="board: its filesystem (default: in memory)")
    parser.add_argument("--link", metavar="PATH", help="board: a symlink to the pty")
    parser.add_argument(
        "--board-profile",
        default="heltec_lora32_v2",
        help="board: which board it emulates (default heltec_lora32_v2)",
    )
    parser.add_argument(
        "--fleet", help="board: fleet file for the emulated gateway's network server"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="board: virtual seconds per real second while the node sleeps (default 1)",
    )
    parser.add_argument("--heap-kib", type=int, default=512, help="board: MicroPython heap")
    parser.add_argument("--no-radio", action="store_true", help="board: no air, gateway, LNS")
    parser.add_argument(
        "--real-boards",
        action="store_true",
        help="board: run the deployed firmware/boards code on emulated machine/esp32/onewire "
        "modules (default: the ROM's own board support)",
    )


def run_board(args, usage_error):
    if not args.pty:
        raise usage_error("lorafield emulate board: only --pty is supported (give --pty)")
    world = None
    if not args.no_radio:
        from .world import NodeWorld, WorldError

        try:
            world = NodeWorld(
                board_key=args.board_profile, fleet_path=args.fleet, speed=args.speed, log=_log
            )
        except WorldError as exc:
            raise usage_error(f"lorafield emulate board: {exc}") from None
    from ..mpvm import MicroPythonUnavailable

    try:
        board = PtyBoard(
            fs_dir=args.fs,
            world=world,
            heap_kib=args.heap_kib,
            link=args.link,
            real_boards=args.real_boards,
        )
    except MicroPythonUnavailable as exc:
        raise usage_error(f"lorafield emulate board: {exc}") from None
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
