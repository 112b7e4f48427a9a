"""`lorafield deploy`: firmware and one device's config onto a board over its serial port."""

import sys

from lorafield_gateway.fleet import FleetError, load_fleet
from lorafield_node.deploy import ConfigError

from ..cli import UsageError
from ..mpcheck.mpy import MpyCompileError
from ..workbench.build import BuildError
from ..workbench.deploy import DeployError, deploy
from ..workbench.device import Device, DeviceError

HELP = "deploy firmware and a device's config (keys) to a board over mpremote"


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port of the board")
    parser.add_argument("--device", required=True, metavar="DEVEUI", help="fleet DevEUI")
    parser.add_argument("--fleet", required=True, help="fleet file")
    parser.add_argument("--board", help="board profile (default: the fleet entry's board)")
    parser.add_argument("--no-compile", action="store_true", help="copy .py sources, no .mpy")
    parser.add_argument("--no-reset", action="store_true", help="no soft reset afterwards")
    parser.add_argument(
        "--watch", type=float, default=0.0, metavar="S", help="show the board's output S s"
    )
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument(
        "--root", help="checkout to deploy from (its firmware/ and codecs/; default: this one)"
    )


def run(args):
    try:
        fleet = load_fleet(args.fleet)
    except FleetError as exc:
        raise UsageError(f"lorafield deploy: {exc}") from None
    device = fleet.get(args.device)
    if device is None:
        raise UsageError(f"lorafield deploy: no device {args.device} in {args.fleet}")
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
        raise UsageError(f"lorafield deploy: {exc}") from None
    except MpyCompileError as exc:
        print(f"lorafield deploy: {exc}", file=sys.stderr)
        return 1
    return 0


def _out(line):
    print(line, flush=True)
