"""`lorafield emulate`: emulated hardware. `board --pty`: a MicroPython board on a
pseudo-terminal (lorafield_tools.pty_board). `SCENARIO.toml`: an emulated field
(lorafield_tools.field), with the options of `lorafield demo`. The first argument picks the
form."""

import os

from ..cli import UsageError
from ..pty_board.command import add_board_arguments, run_board

HELP = (
    "run emulated hardware: SCENARIO.toml (a field of nodes, gateways and the local network"
    " server) or `board --pty` (a MicroPython board on a pseudo-terminal)"
)


def add_arguments(parser):
    parser.add_argument(
        "target",
        nargs="?",
        help="SCENARIO.toml (an emulated field), the name of a shipped example, or `board`",
    )
    parser.add_argument(
        "--list-examples", action="store_true", help="list the example scenarios shipped"
    )
    add_board_arguments(parser)
    from ..field.cli import add_output_arguments, add_runtime_arguments

    add_output_arguments(parser, "")  # field: --out, --db, --export, --also-forward, --quiet
    add_runtime_arguments(parser)  # both forms: --runtime


def run(args):
    if args.list_examples:
        return _list_examples()
    if args.target is None:
        raise UsageError("give a SCENARIO.toml, an example's name (--list-examples) or `board`")
    if args.target == "board":
        args._prog += " board"  # its errors read `lorafield emulate board: ...`
        return run_board(args, UsageError)
    return _field(args)


def _field(args):
    """`lorafield emulate SCENARIO.toml`: the field form (lorafield_tools.field)."""
    from ..field.cli import run_field
    from ..field.spec import ScenarioError, examples, load_scenario
    from .common import field_output_dirs

    shipped = examples()
    if not os.path.exists(args.target) and args.target in shipped:
        args.target = shipped[args.target][0]
    try:
        spec = load_scenario(args.target)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    if not args.out:
        stem = os.path.splitext(os.path.basename(args.target))[0] or "field"
        args.out = f"lorafield-{stem}"
    field_output_dirs(args)
    run_field(spec, args)
    return 0


def _list_examples():
    from ..field.spec import examples

    shipped = examples()
    width = max(len(name) for name in shipped)
    for name, (_, about) in shipped.items():
        print(f"{name:<{width}}  {about}")
    folder = os.path.dirname(next(iter(shipped.values()))[0])
    print(f"\nRun one: lorafield emulate NAME. To change one, copy it from {folder}")
    return 0
