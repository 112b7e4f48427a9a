"""`lorafield bench air`: how fast the radio medium runs, and the LoRaSim experiment.

Without --nodes: a mixed field (EU868's three channels, SF by distance as ADR would assign,
20-byte frames every 300 s on average, one 8-demodulator gateway) with 1,000 and with
10,000 transmitters, one emulated hour each; prints frames per wall-second and the
emulated-time to wall-time ratio.

With --nodes: the LoRaSim experiment (Bor et al. 2016) on one SF, nodes uniformly in the
disc where the farthest is still above sensitivity, each frame on a channel picked at random
from the first --channels of EU868's eight-channel plan (default 1); prints one
`name: value` per line.

--no-capture (both modes): LoRaSim's simple collision check (any overlap on the same channel
and SF loses both frames) instead of the capture model.

--region NAME [--sub-band K ...] (both modes): the channels and data rates of another region
(lorafield_node.region.NAMES, RP002-1.0.4) instead of EU868's: what an 8-channel gateway of
that region listens on (`lorafield_hw.plans`; US915/AU915: sub-band 2 unless told). The mixed
field then uses its default or sub-band channels at 125 kHz and the SFs of its 125 kHz data
rates (US915: SF7..SF10); the LoRaSim mode's --sf/--bw must be one of its uplink data rates
(US915 --sf 8 --bw 500 is DR4, on the sub-band's 500 kHz channel) and --channels counts that
region's channels at that bandwidth. The output then starts with `region:` (and `sub_bands:`).
"""

from lorafield_hw import lorasim
from lorafield_hw.plans import PlanError, plan_of, uplink_drs

from ..cli import UsageError

HELP = "radio medium throughput, or the LoRaSim collision experiment (--nodes ...)"

DEFAULT_SIZES = (1_000, 10_000)


def add_arguments(parser):
    parser.add_argument("--nodes", type=int, help="number of transmitters (LoRaSim mode)")
    parser.add_argument("--interval-s", type=float, default=300.0, help="mean interval (s)")
    parser.add_argument("--sf", type=int, default=7, help="spreading factor 7..12")
    parser.add_argument("--bw", type=int, default=125, choices=(125, 250, 500), help="kHz")
    parser.add_argument("--payload-bytes", type=int, default=20, help="PHYPayload bytes")
    parser.add_argument("--hours", type=float, default=1.0, help="emulated hours")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--channels",
        type=int,
        help=f"LoRaSim mode: each frame on one of the first N of EU868's "
        f"{len(lorasim.EU868_PLAN_HZ)} channels (default 1)",
    )
    parser.add_argument(
        "--region",
        metavar="NAME",
        help="channels and data rates of this region (EU868, US915, AU915, AS923-1..4, IN865, "
        "KR920; default EU868)",
    )
    parser.add_argument(
        "--sub-band",
        type=int,
        action="append",
        dest="sub_bands",
        metavar="K",
        help="with --region US915/AU915: the gateway's sub-band 1..8 (repeatable; default 2)",
    )
    parser.add_argument(
        "--no-capture",
        action="store_true",
        help="LoRaSim's simple check: any overlap on the same channel and SF loses both frames",
    )


def _check(args):
    if args.nodes is not None and not 1 <= args.nodes <= 1_000_000:
        raise UsageError("--nodes must be 1..1000000")
    if not args.interval_s > 0:
        raise UsageError("--interval-s must be positive")
    if not 7 <= args.sf <= 12:
        raise UsageError("--sf must be 7..12")
    if not 1 <= args.payload_bytes <= 255:
        raise UsageError("--payload-bytes must be 1..255")
    if not 0 < args.hours <= 10_000:
        raise UsageError("--hours must be in (0, 10000]")
    plan = _plan(args)
    if plan is None:
        plan_hz, what = lorasim.EU868_PLAN_HZ, "EU868's channel plan"
    else:
        plan_hz = lorasim.region_channels(plan, args.sub_bands, args.bw * 1000)
        what = f"{plan.name}'s channels at {args.bw} kHz"
        drs = uplink_drs(plan)
        if args.nodes is not None and plan.dr_of(args.sf, args.bw * 1000) not in drs:
            rates = ", ".join(f"DR{dr} SF{plan.dr_sf[dr]}/{plan.dr_bw[dr] // 1000}" for dr in drs)
            raise UsageError(
                f"--sf {args.sf} --bw {args.bw} is not an uplink data rate of {plan.name} ({rates})"
            )
    most = len(plan_hz)
    if args.channels is not None:
        if args.nodes is None:
            raise UsageError("--channels needs --nodes (the mixed field uses EU868's 3 channels)")
        if not 1 <= args.channels <= most:
            raise UsageError(f"--channels must be 1..{most} ({what})")
    return plan, plan_hz


def _plan(args):
    if args.region is None:
        if args.sub_bands:
            raise UsageError("--sub-band needs --region US915 or AU915")
        return None
    try:
        plan = plan_of(args.region)
        lorasim.region_channels(plan, args.sub_bands)  # sub-bands checked
    except PlanError as exc:
        raise UsageError(f"--region: {exc}") from None
    return plan


def _print_region(plan, args):
    if plan is not None:
        print(f"region: {plan.name}")
        if plan.fixed:
            print("sub_bands: " + " ".join(str(k) for k in (args.sub_bands or [2])))


def run(args):
    plan, plan_hz = _check(args)
    _print_region(plan, args)
    if args.nodes is None:
        return _throughput(args, plan)
    result = lorasim.run(
        args.nodes,
        args.interval_s,
        sf=args.sf,
        bw_hz=args.bw * 1000,
        payload_bytes=args.payload_bytes,
        hours=args.hours,
        seed=args.seed,
        channels_hz=plan_hz[: args.channels or 1],
        capture=not args.no_capture,
    )
    print(f"channels: {len(result['channels_hz'])}")
    print(f"capture: {'on' if result['capture'] else 'off'}")
    per_channel = result["sent_per_channel"]
    print("sent_per_channel_mhz: " + " ".join(f"{f / 1e6:g}={n}" for f, n in per_channel.items()))
    for name in ("sent", "received", "collided", "lost_to_range", "lost_to_busy"):
        print(f"{name}: {result[name]}")
    print(f"data_extraction_rate: {result['data_extraction_rate']:.4f}")
    print(f"aloha_der_no_capture: {result['aloha_der']:.4f}")
    print(f"airtime_ms: {result['airtime_s'] * 1000:.3f}")
    print(f"disc_radius_m: {result['radius_m']:.1f}")
    print(f"frames_per_wall_second: {result['frames_per_wall_second']:.0f}")
    print(f"emulated_to_wall_ratio: {result['emulated_to_wall_ratio']:.0f}")
    return 0


def _throughput(args, plan=None):
    channels_hz, sfs = lorasim.EU868_CHANNELS_HZ, (7, 8, 9, 10, 11, 12)
    if plan is not None:
        channels_hz = lorasim.region_channels(plan, args.sub_bands)
        sfs = tuple(sorted({plan.dr_sf[dr] for dr in uplink_drs(plan, 125_000)}))
    for nodes in DEFAULT_SIZES:
        result = lorasim.run(
            nodes,
            args.interval_s,
            sf=None,
            payload_bytes=args.payload_bytes,
            hours=args.hours,
            seed=args.seed,
            channels_hz=channels_hz,
            capture=not args.no_capture,
            adr_sfs=sfs,
        )
        print(f"transmitters_{nodes}_frames: {result['sent']}")
        print(
            f"transmitters_{nodes}_frames_per_wall_second: {result['frames_per_wall_second']:.0f}"
        )
        print(
            f"transmitters_{nodes}_emulated_to_wall_ratio: {result['emulated_to_wall_ratio']:.0f}"
        )
        print(f"transmitters_{nodes}_data_extraction_rate: {result['data_extraction_rate']:.4f}")
    return 0
