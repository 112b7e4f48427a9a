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
"""

from lorafield_hw import lorasim

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
    most = len(lorasim.EU868_PLAN_HZ)
    if args.channels is not None:
        if args.nodes is None:
            raise UsageError("--channels needs --nodes (the mixed field uses EU868's 3 channels)")
        if not 1 <= args.channels <= most:
            raise UsageError(f"--channels must be 1..{most} (EU868's channel plan)")


def run(args):
    _check(args)
    if args.nodes is None:
        return _throughput(args)
    result = lorasim.run(
        args.nodes,
        args.interval_s,
        sf=args.sf,
        bw_hz=args.bw * 1000,
        payload_bytes=args.payload_bytes,
        hours=args.hours,
        seed=args.seed,
        channels_hz=lorasim.channels(args.channels or 1),
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


def _throughput(args):
    for nodes in DEFAULT_SIZES:
        result = lorasim.run(
            nodes,
            args.interval_s,
            sf=None,
            payload_bytes=args.payload_bytes,
            hours=args.hours,
            seed=args.seed,
            channels_hz=lorasim.EU868_CHANNELS_HZ,
            capture=not args.no_capture,
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
