"""`lorafield bench conformance`: the firmware's TS009 test app through the Class A test
sequences on the emulated field, our harness in the test tool's role (lorafield_tools
.conformance, README.md there). Prints one row per case and the cases left out; exit 1 if
any case fails."""

import time

from ..cli import CommandError, UsageError

HELP = "LoRaWAN certification (TS009) Class A test sequences on the emulated field"
HEADERS = ("test case", "spec section", "result", "detail")


def add_arguments(parser):
    parser.add_argument(
        "--region",
        default="EU868",
        metavar="NAME",
        help="regional parameters of node, gateway and server: one of "
        "lorafield_node.region.NAMES (default EU868; US915 and AU915 on sub-band 2)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")


def table(rows):
    """`|`-separated columns, padded; ``rows`` of four strings."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]

    def line(cells):
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(HEADERS), "-|-".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def run(args):
    from ..conformance import LEFT_OUT, ConformanceError, run_cases

    started = time.perf_counter()
    try:
        results = run_cases(args.region, args.seed)
    except ConformanceError as e:
        raise UsageError(str(e)) from None
    rows = [(r.name, r.section, "PASS" if r.passed else "FAIL", r.detail) for r in results]
    print(f"TS009 Class A on the emulated field ({args.region}, seed {args.seed})")
    print(table(rows))
    print()
    print("left out:")
    for name, section, why in LEFT_OUT:
        print(f"- {name} ({section}): {why}")
    failed = [r.name for r in results if not r.passed]
    wall = time.perf_counter() - started
    print(f"{len(results) - len(failed)} of {len(results)} cases passed in {wall:.1f} s wall")
    if failed:
        raise CommandError(f"{len(failed)} case(s) failed: {', '.join(failed)}")
    return 0
