"""`lorafield demo`: the main job on a laptop. A small town's field -- parking bays, river
water-level gauges and temperature sensors running the real firmware on emulated boards --
joins over the emulated air, runs its day (cars, a flood wave, the daily temperature
cycle), gets a config downlink and a power cut, through the real gateway service into the
local network server (SQLite). Prints a progress bar, a summary table per node kind and the
path of an HTML report with plots. Nothing else to install. (`lorafield codec demo` is the
payload codec's walk-through.)"""

from lorafield_tools.cli import UsageError
from lorafield_tools.field.cli import add_output_arguments, run_field
from lorafield_tools.field.spec import ScenarioError, default_town

from .common import field_output_dirs

HELP = "run the emulated field demo: a small town's sensors for a day, in under a minute"


def add_arguments(parser):
    parser.add_argument(
        "--nodes", type=int, default=24, metavar="N", help="nodes (12:4:8 mix, default 24)"
    )
    parser.add_argument(
        "--hours", type=float, default=24.0, metavar="H", help="emulated hours (default 24)"
    )
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="seed (default 1)")
    parser.add_argument("--gateways", type=int, default=2, metavar="G", help="gateways (default 2)")
    add_output_arguments(parser, "lorafield-demo")


def run(args):
    if not 0 < args.hours <= 24 * 31:
        raise UsageError("--hours must be in (0, 744]")
    if not 1 <= args.gateways <= 100:
        raise UsageError("--gateways must be 1..100")
    if not 3 <= args.nodes <= 100_000:
        raise UsageError("--nodes must be 3..100000")
    try:
        spec = default_town(args.nodes, args.hours, args.seed, args.gateways)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    field_output_dirs(args)
    run_field(spec, args)
    return 0
