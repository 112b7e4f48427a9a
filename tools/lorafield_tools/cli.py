"""`lorafield` command line: one module per subcommand under lorafield_tools.commands.

User errors (bad arguments, bad input data) end with exit status 2 and exactly one line
on stderr, never a traceback. Command modules raise `UsageError` for those.
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
    "chirpstack": "chirpstack",
    "provision": "provision",
    "emulate": "emulate",
    "deploy": "deploy",
    "monitor": "monitor",
}


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line on stderr (exit 2), not usage + error."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


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


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
