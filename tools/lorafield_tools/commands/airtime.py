"""`lorafield airtime`: LoRa time on air of one frame (Semtech formula, lorafield_hw.airtime).

    lorafield airtime --sf 7 --bw 125 --payload-bytes 20           # one line: 56.576
    lorafield airtime --region US915 --dr 4 --payload-bytes 20     # SF and bandwidth of DR4
    lorafield airtime --region US915 --payload-bytes 20            # one line per uplink DR

With --region (one of lorafield_node.region.NAMES) the data rate comes from the region's
table (RP002-1.0.4): --dr N, or --sf/--bw checked to be one of its uplink rates; a frame
longer than the region allows at that rate is refused (the limit is 5 bytes of MHDR and MIC
over the MACPayload limit M, dwell time off). Without --dr, --sf or --bw it prints every
uplink data rate: `DR0 SF10/125 kHz: 92.672 ms`, and `(over N bytes)` where the frame is
longer than that rate carries.
"""

from lorafield_hw import airtime
from lorafield_hw.plans import PlanError, plan_of, uplink_drs

from ..cli import UsageError

HELP = "print the LoRa time on air of one frame in milliseconds"
_PHY_OVERHEAD = 5  # MHDR (1) + MIC (4) around the MACPayload


def add_arguments(parser):
    parser.add_argument("--sf", type=int, help="spreading factor 6..12")
    parser.add_argument(
        "--bw",
        metavar="KHZ",
        help="bandwidth in kHz: " + ", ".join(airtime.BANDWIDTH_BY_KHZ),
    )
    parser.add_argument(
        "--region",
        metavar="NAME",
        help="a LoRaWAN region (EU868, US915, AU915, AS923-1..4, IN865, KR920): data rates "
        "from its table",
    )
    parser.add_argument("--dr", type=int, metavar="N", help="with --region: data rate N")
    parser.add_argument(
        "--payload-bytes",
        type=int,
        required=True,
        metavar="N",
        help="whole PHYPayload length in bytes (1..255)",
    )
    parser.add_argument("--cr", type=int, default=5, help="coding rate 4/CR, CR 5..8 (default 5)")
    parser.add_argument("--no-crc", action="store_true", help="no payload CRC (downlinks)")
    parser.add_argument(
        "--preamble", type=int, default=8, help="preamble symbols, 6..65535 (default 8)"
    )
    parser.add_argument("--implicit-header", action="store_true", help="implicit header mode")
    parser.add_argument(
        "--ldro",
        choices=("auto", "on", "off"),
        default="auto",
        help="low data rate optimisation (auto: on when a symbol exceeds 16 ms, "
        "i.e. SF11/SF12 at 125 kHz)",
    )


def _bandwidth(text):
    key = text.strip().lower().removesuffix("khz")
    if key.endswith(".0"):
        key = key[:-2]
    try:
        return airtime.BANDWIDTH_BY_KHZ[key]
    except KeyError:
        choices = ", ".join(airtime.BANDWIDTH_BY_KHZ)
        raise UsageError(f"--bw must be one of {choices} (kHz)") from None


def run(args):
    if args.region is not None:
        return _run_region(args)
    if args.dr is not None:
        raise UsageError("--dr needs --region (the data rate table of a region)")
    if args.sf is None or args.bw is None:
        raise UsageError("--sf and --bw are needed (or --region with --dr)")
    bw = _bandwidth(args.bw)
    if args.sf not in airtime.SPREADING_FACTORS:
        raise UsageError("--sf must be 6..12")
    _check_frame(args)
    print(airtime.format_ms(_seconds(args, args.sf, bw)))
    return 0


def _check_frame(args):
    if args.cr not in airtime.CODING_RATES:
        raise UsageError("--cr must be 5..8 (coding rate 4/5..4/8)")
    if not 1 <= args.payload_bytes <= 255:
        raise UsageError("--payload-bytes must be 1..255")
    if not 6 <= args.preamble <= 0xFFFF:
        raise UsageError("--preamble must be 6..65535")


def _seconds(args, sf, bw):
    return airtime.time_on_air_s(
        args.payload_bytes,
        sf,
        bw,
        coding_rate=args.cr,
        preamble=args.preamble,
        crc=not args.no_crc,
        implicit_header=args.implicit_header,
        ldro={"auto": None, "on": True, "off": False}[args.ldro],
    )


def _run_region(args):
    try:
        plan = plan_of(args.region)
    except PlanError as exc:
        raise UsageError(f"--region: {exc}") from None
    _check_frame(args)
    drs = uplink_drs(plan)
    listed = ", ".join(f"DR{dr}" for dr in drs)
    if args.dr is not None:
        if args.sf is not None or args.bw is not None:
            raise UsageError("--dr sets SF and bandwidth: give --dr or --sf/--bw, not both")
        if args.dr not in drs:
            raise UsageError(f"--dr: {plan.name}'s uplink data rates are {listed}")
        chosen = [args.dr]
    elif args.sf is not None or args.bw is not None:
        if args.sf is None or args.bw is None:
            raise UsageError("--sf and --bw go together (or --dr)")
        bw = _bandwidth(args.bw)
        dr = plan.dr_of(args.sf, int(bw))
        if dr not in drs:
            raise UsageError(
                f"SF{args.sf}/{args.bw} kHz is not an uplink data rate of {plan.name} ({listed})"
            )
        chosen = [dr]
    else:
        chosen = None
    if chosen is not None:
        dr = chosen[0]
        most = plan.max_mac_payload[dr] + _PHY_OVERHEAD
        if args.payload_bytes > most:
            raise UsageError(
                f"--payload-bytes: {plan.name} DR{dr} carries at most {most} bytes of "
                f"PHYPayload (MACPayload {plan.max_mac_payload[dr]})"
            )
        sf, bw = plan.dr_params(dr)
        print(airtime.format_ms(_seconds(args, sf, bw)))
        return 0
    for dr in drs:
        sf, bw = plan.dr_params(dr)
        line = f"DR{dr} SF{sf}/{bw // 1000} kHz: {airtime.format_ms(_seconds(args, sf, bw))} ms"
        most = plan.max_mac_payload[dr] + _PHY_OVERHEAD
        if args.payload_bytes > most:
            line += f" (over {most} bytes)"
        print(line)
    return 0
