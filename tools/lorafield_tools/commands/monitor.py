"""`lorafield monitor`: the node's serial output with time stamps, hex frames decoded."""

import sys
import time

import serial

from ..cli import UsageError
from ..workbench.monitor import Console

HELP = "serial console: the node's log lines with time stamps, hex frames decoded by the codec"


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port of the board")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--elapsed", action="store_true", help="seconds since start, not clock")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")


def run(args):
    try:
        port = serial.Serial(args.port, args.baud, timeout=0.1)
    except (serial.SerialException, OSError) as exc:
        raise UsageError(f"lorafield monitor: cannot open {args.port} ({exc})") from None
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
        raise UsageError(f"lorafield monitor: {args.port}: {exc}") from None
    finally:
        port.close()
    return 0
