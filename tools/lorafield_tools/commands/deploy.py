"""`lorafield deploy`: firmware and one device's config onto a board over its serial port."""

import os
import sys

from lorafield_node.deploy import ConfigError
from lorafield_node.pinmaps import MCU

from ..cli import CommandError, UsageError
from ..mpcheck.mpy import MpyCompileError
from ..workbench.build import BuildError
from ..workbench.deploy import DeployError, deploy
from ..workbench.device import Device, DeviceError
from .common import load_fleet_file, non_negative_float, positive_int

HELP = "deploy firmware and a device's config (keys) to a board over mpremote"


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port of the board")
    parser.add_argument("--device", required=True, metavar="DEVEUI", help="fleet DevEUI")
    parser.add_argument("--fleet", required=True, metavar="FILE", help="fleet file")
    parser.add_argument(
        "--board",
        choices=sorted(MCU),  # lorafield_node.pinmaps: the boards the firmware knows
        metavar="KEY",
        help="board (default: the fleet entry's board): " + ", ".join(sorted(MCU)),
    )
    parser.add_argument("--no-compile", action="store_true", help="copy .py sources, no .mpy")
    parser.add_argument("--no-reset", action="store_true", help="no soft reset afterwards")
    parser.add_argument(
        "--watch",
        type=non_negative_float,
        default=0.0,
        metavar="S",
        help="show the board's output S s",
    )
    parser.add_argument(
        "--baud", type=positive_int, default=115200, help="serial speed (default 115200)"
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="checkout to deploy from (its firmware/ and codecs/; default: this one)",
    )


def run(args):
    if args.root is not None and not os.path.isfile(os.path.join(args.root, "firmware", "main.py")):
        raise UsageError(
            f"--root {args.root}: no firmware/main.py there (not a lorafield checkout)"
        )
    fleet = load_fleet_file(args.fleet)
    device = fleet.get(args.device)
    if device is None:
        raise UsageError(f"no device {args.device} in {args.fleet}")
    try:
        with Device(args.port, args.baud) as board:
            report = deploy(
                board, device, args.board, not args.no_compile, out=_out, root=args.root
            )
            print(f"deployed {device.dev_eui_hex} to {args.port}: {report.summary()}")
            if not args.no_reset:
                board.soft_reset()
                print("soft reset: main.py is running")
                if args.watch > 0:
                    sys.stdout.write(board.read_output(args.watch).decode("utf-8", "replace"))
    except (DeployError, DeviceError, BuildError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    except MpyCompileError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _out(line):
    print(line, flush=True)
