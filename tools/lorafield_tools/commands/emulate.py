"""`lorafield emulate`: emulated hardware. `board --pty`: a MicroPython board on a
pseudo-terminal (lorafield_tools.pty_board). `SCENARIO.toml`: an emulated field
(lorafield_tools.field), with the options of `lorafield demo`. The first argument picks the
form."""

from ..cli import UsageError
from ..pty_board.command import add_board_arguments, run_board

HELP = (
    "run emulated hardware: SCENARIO.toml (a field of nodes, gateways and the local network"
    " server) or `board --pty` (a MicroPython board on a pseudo-terminal)"
)


def add_arguments(parser):
    parser.add_argument("target", help="SCENARIO.toml (an emulated field) or `board`")
    add_board_arguments(parser)
    from ..field.cli import add_output_arguments

    add_output_arguments(parser, "")  # field: --out, --db, --export, --also-forward, --quiet


def run(args):
    if args.target == "board":
        args._prog += " board"  # its errors read `lorafield emulate board: ...`
        return run_board(args, UsageError)
    return _field(args)


def _field(args):
    """`lorafield emulate SCENARIO.toml`: the field form (lorafield_tools.field)."""
    import os

    from ..field.cli import run_field
    from ..field.spec import ScenarioError, load_scenario
    from .common import field_output_dirs

    try:
        spec = load_scenario(args.target)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    except UnicodeDecodeError:  # load_scenario lets this one through (tomllib decodes UTF-8)
        raise UsageError(f"{args.target}: not UTF-8 text") from None
    if not args.out:
        stem = os.path.splitext(os.path.basename(args.target))[0] or "field"
        args.out = f"lorafield-{stem}"
    field_output_dirs(args)
    run_field(spec, args)
    return 0
