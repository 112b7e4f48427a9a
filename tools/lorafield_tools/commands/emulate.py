"""`lorafield emulate`: emulated hardware. `board --pty`: a MicroPython board on a
pseudo-terminal (lorafield_tools.pty_board). The field form (`emulate SCENARIO.toml`) is
another helper's: it dispatches on the first argument."""

from ..cli import UsageError
from ..pty_board.command import add_board_arguments, run_board

HELP = "run emulated hardware: `board --pty` (a MicroPython board on a pseudo-terminal)"


def add_arguments(parser):
    parser.add_argument("target", help="`board` (more forms to come: SCENARIO.toml)")
    add_board_arguments(parser)


def run(args):
    if args.target == "board":
        return run_board(args, UsageError)
    raise UsageError(f"lorafield emulate: unknown target {args.target!r} (supported: board --pty)")
