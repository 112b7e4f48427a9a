"""`lorafield airtime`: LoRa time on air of one frame (Semtech formula, lorafield_hw.airtime)."""

from lorafield_hw import airtime

from ..cli import UsageError

HELP = "print the LoRa time on air of one frame in milliseconds"


def add_arguments(parser):
    parser.add_argument("--sf", type=int, required=True, help="spreading factor 6..12")
    parser.add_argument(
        "--bw",
        required=True,
        metavar="KHZ",
        help="bandwidth in kHz: " + ", ".join(airtime.BANDWIDTH_BY_KHZ),
    )
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
    bw = _bandwidth(args.bw)
    if args.sf not in airtime.SPREADING_FACTORS:
        raise UsageError("--sf must be 6..12")
    if args.cr not in airtime.CODING_RATES:
        raise UsageError("--cr must be 5..8 (coding rate 4/5..4/8)")
    if not 1 <= args.payload_bytes <= 255:
        raise UsageError("--payload-bytes must be 1..255")
    if not 6 <= args.preamble <= 0xFFFF:
        raise UsageError("--preamble must be 6..65535")
    seconds = airtime.time_on_air_s(
        args.payload_bytes,
        args.sf,
        bw,
        coding_rate=args.cr,
        preamble=args.preamble,
        crc=not args.no_crc,
        implicit_header=args.implicit_header,
        ldro={"auto": None, "on": True, "off": False}[args.ldro],
    )
    print(airtime.format_ms(seconds))
    return 0
