"""`lorafield` command line: one module per subcommand under lorafield_tools.commands.

Errors end with one line on stderr, never a traceback: `lorafield <command> [<action>]:
<message>`, the prefix argparse gives its own errors. Command modules raise `UsageError`
(bad arguments, bad input data: exit status 2) or `CommandError` (the command cannot go on,
e.g. a server that does not answer: exit status 1) with the bare message; `main` adds the
prefix of the (sub)command that ran.
"""

import argparse
import importlib
import sys

# Subcommand name -> module in lorafield_tools.commands. Each module provides
# `HELP` (one line) and `add_arguments(parser)` and `run(args) -> int`.
COMMANDS = {
    "demo": "demo",
    "codec": "codec",
    "airtime": "airtime",
    "bench": "bench",
    "gateway": "gateway",
    "lns": "lns",
    "console": "console",
    "sensorthings": "sensorthings",
    "chirpstack": "chirpstack",
    "provision": "provision",
    "emulate": "emulate",
    "deploy": "deploy",
    "monitor": "monitor",
}


class CommandError(Exception):
    """The command cannot go on: printed as one line after its name, exit status 1."""

    status = 1

    def __init__(self, message, prog=None):
        super().__init__(message)
        self.prog = prog  # None: the prog of the (sub)command that ran


class UsageError(CommandError):
    """A user error: printed as one line after the command's name, exit status 2."""

    status = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line on stderr (exit 2), not usage + error."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A subcommand's defaults override its parent's: the deepest parser that ran names
        # the command in front of its errors.
        self.set_defaults(_prog=self.prog)

    def error(self, message):
        raise UsageError(message, prog=self.prog)


def _load(name):
    return importlib.import_module(f"lorafield_tools.commands.{COMMANDS[name]}")


def build_parser():
    parser = _Parser(prog="lorafield", description="LoRaWAN field sensors toolkit.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = _load(name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def error_line(prog, message):
    """`prog: message` on one line, whatever the message holds (a tool's output, ...)."""
    text = "; ".join(line.strip() for line in str(message).splitlines() if line.strip())
    return f"{prog}: {text}"


def main(argv=None):
    args = None
    try:
        args = build_parser().parse_args(argv)
        return int(args._run(args) or 0)
    except CommandError as exc:
        prog = exc.prog or getattr(args, "_prog", None) or "lorafield"
        print(error_line(prog, exc), file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
