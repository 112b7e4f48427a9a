"""`lorafield monitor`: the node's serial output with time stamps, hex frames decoded."""

import os
import sys
import time

import serial

from ..cli import UsageError
from ..workbench.monitor import Console
from .common import positive_float, positive_int

HELP = "serial console: the node's log lines with time stamps, hex frames decoded by the codec"


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port of the board")
    parser.add_argument(
        "--baud", type=positive_int, default=115200, help="serial speed (default 115200)"
    )
    parser.add_argument("--elapsed", action="store_true", help="seconds since start, not clock")
    parser.add_argument(
        "--seconds",
        type=positive_float,
        metavar="S",
        help="stop after this long (default: Ctrl-C)",
    )


def _open(port, baud):
    try:
        return serial.Serial(port, baud, timeout=0.1)
    except (serial.SerialException, OSError, ValueError) as exc:
        # pyserial nests the OS error in its message: say only the reason.
        reason = os.strerror(exc.errno) if getattr(exc, "errno", None) else str(exc)
        raise UsageError(f"cannot open {port} ({reason})") from None


def run(args):
    port = _open(args.port, args.baud)
    console = Console(wall=not args.elapsed)
    print(f"monitor: {args.port} at {args.baud} baud (Ctrl-C to quit)", file=sys.stderr, flush=True)
    end = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while end is None or time.monotonic() < end:
            data = port.read(4096)
            for line in console.feed(data):
                print(line, flush=True)
    except KeyboardInterrupt:
        pass
    except serial.SerialException as exc:
        raise UsageError(f"{args.port}: {exc}") from None
    finally:
        port.close()
    return 0
