"""`lorafield provision`: new device identities into the fleet file, and a key-less listing."""

import json
import os

from lorafield_gateway.fleet import KINDS, FleetError, append_devices
from lorafield_node.pinmaps import MCU
from lorafield_node.region import NAMES

from ..cli import UsageError
from ..workbench import provision
from .common import load_fleet_file

# A new fleet without --join-eui: LoRaWAN 1.0.x devices without a join server of their own
# use the all-zero JoinEUI, which The Things Stack and ChirpStack both accept.
DEFAULT_JOIN_EUI = bytes(8)

HELP = "provision devices: new DevEUIs and AppKeys into the fleet file, or list them (no keys)"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    new = sub.add_parser("new", help="append new OTAA devices with fresh keys to the fleet file")
    new.add_argument("--kind", required=True, choices=KINDS, metavar="KIND", help=", ".join(KINDS))
    new.add_argument(
        "--count", type=int, default=1, metavar="N", help="how many devices, 1..10000 (default 1)"
    )
    new.add_argument(
        "--fleet", required=True, metavar="FILE", help="fleet file (created with mode 0600)"
    )
    new.add_argument(
        "--join-eui",
        metavar="HEX",
        help="JoinEUI, 16 hex digits (default: the fleet's [defaults]; for a new fleet "
        f"{DEFAULT_JOIN_EUI.hex()}, which TTN and ChirpStack accept)",
    )
    new.add_argument(
        "--dev-eui-prefix",
        metavar="HEX",
        help="sequential DevEUIs under this prefix (default: random, locally administered)",
    )
    new.add_argument(
        "--from-port",
        metavar="PORT",
        help="one device whose DevEUI comes from the board's unique id (machine.unique_id())",
    )
    new.add_argument(
        "--name-prefix", metavar="PREFIX", help="device names PREFIX-<last 4 hex of DevEUI>"
    )
    new.add_argument(
        "--board",
        choices=sorted(MCU),  # the boards `lorafield deploy` accepts (lorafield_node.pinmaps)
        metavar="KEY",
        help="board recorded for deploy: " + ", ".join(sorted(MCU)),
    )
    new.add_argument(
        "--region",
        metavar="NAME",
        help="a new fleet's LoRaWAN region, written at its top (default EU868): "
        + ", ".join(NAMES)
        + "; for an existing fleet it must be the fleet's",
    )
    new.add_argument(
        "--sub-band",
        dest="sub_bands",
        type=int,
        action="append",
        metavar="K",
        help="with --region US915/AU915 for a new fleet: a sub-band 1..8 its gateways use"
        " (repeat for more), e.g. 2",
    )
    new.add_argument("--show-keys", action="store_true", help="print the AppKeys (off by default)")
    listing = sub.add_parser("list", help="list the fleet's devices (never keys)")
    listing.add_argument("--fleet", required=True, metavar="FILE", help="fleet file")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args):
    try:
        if args.action == "new":
            return _new(args)
        return _list(args)
    except FleetError as exc:
        raise UsageError(str(exc)) from None


def _new(args):
    existing = None
    if os.path.exists(args.fleet):
        existing = load_fleet_file(args.fleet)
    join_eui = None
    if args.join_eui is not None:
        join_eui = provision.parse_hex(args.join_eui, 8, "--join-eui")
    elif existing is not None and "join_eui" not in existing.defaults:
        raise FleetError(f"{args.fleet}: no [defaults] join_eui; give --join-eui")
    _check_region(args, existing)
    default_join_eui = existing is None and join_eui is None
    if default_join_eui:
        join_eui = DEFAULT_JOIN_EUI
    prefix = None if args.dev_eui_prefix is None else provision.parse_prefix(args.dev_eui_prefix)
    taken = [d.dev_eui for d in existing] if existing is not None else []
    euis = None
    if args.from_port is not None:
        if args.count != 1 or prefix is not None:
            raise FleetError("--from-port makes one device: no --count or --dev-eui-prefix")
        euis = [_board_eui(args.from_port)]
    devices = provision.new_devices(
        args.kind, args.count, taken, prefix, args.name_prefix, args.board, euis=euis
    )
    defaults = None
    if existing is None:
        defaults = {"join_eui": join_eui.hex()}  # a new file records it once
    elif join_eui is not None and existing.defaults.get("join_eui", "").lower() != join_eui.hex():
        for device in devices:
            device.join_eui = join_eui
    try:
        append_devices(
            args.fleet,
            devices,
            defaults=defaults,
            region=args.region if existing is None else None,
            sub_bands=tuple(args.sub_bands or ()),
        )
    except OSError as exc:
        raise UsageError(f"{args.fleet}: cannot write ({exc.strerror})") from None
    for device in devices:
        line = f"{device.dev_eui_hex}  {device.name}  {device.kind}"
        if args.show_keys:
            line += f"  app_key={device.app_key.hex()}"
        print(line)
    if default_join_eui:
        print(
            f"join_eui {join_eui.hex()}: none given, the all-zero JoinEUI "
            "(TTN and ChirpStack accept it; give --join-eui for your own)"
        )
    hint = "" if args.show_keys else " (keys not shown: --show-keys)"
    print(f"{len(devices)} device(s) added to {args.fleet}{hint}")
    return 0


def _check_region(args, existing):
    """--region/--sub-band: a new fleet's, or the existing fleet's own (one region per fleet,
    as per network server)."""
    if args.region is None:
        if args.sub_bands:
            raise FleetError("--sub-band goes with --region US915 or AU915")
        return
    if args.region not in NAMES:
        raise FleetError(f"--region must be one of {', '.join(NAMES)}, got {args.region!r}")
    if existing is not None:
        if args.region != existing.region or (
            args.sub_bands and tuple(args.sub_bands) != existing.sub_bands
        ):
            raise FleetError(
                f"{args.fleet} is a {existing.region} fleet: its region stays (one per fleet)"
            )
        return
    if args.sub_bands and args.region not in ("US915", "AU915"):
        raise FleetError(f"--sub-band: {args.region} has no sub-bands (only US915 and AU915)")


def _board_eui(port):
    from ..workbench.device import Device, DeviceError

    try:
        with Device(port) as board:
            info = board.probe()
    except DeviceError as exc:
        raise FleetError(str(exc)) from None
    if info.uid is None:
        raise FleetError(f"{port}: the board has no machine.unique_id()")
    return provision.eui_from_unique_id(info.uid)


def _list(args):
    fleet = load_fleet_file(args.fleet)
    for device in fleet:
        info = device.public_dict()
        if args.json:
            print(json.dumps(info, sort_keys=True))
        else:
            print(
                f"{info['dev_eui']}  {info['activation']:4}  {info['kind']:11}  "
                f"{info.get('name') or '-':16}  {info.get('board') or '-'}"
            )
    if not args.json:
        print(f"{len(fleet)} device(s)")
    return 0
