"""What several command modules check the same way: argument types that refuse bad numbers
at parse time, the fleet file, an output directory. Not a command (see cli.COMMANDS)."""

import argparse
import os

from lorafield_tools.cli import UsageError


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return value


def non_negative_float(text):
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def load_fleet_file(path):
    """The fleet file, or a UsageError with the fleet module's one-line reason."""
    from lorafield_gateway.fleet import FleetError, load_fleet

    try:
        return load_fleet(path)
    except FleetError as exc:
        raise UsageError(str(exc)) from None


def output_dir(path, option):
    """Create the directory `option` names if needed; a UsageError if it cannot be written."""
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{option} {path}: exists and is not a directory") from None
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot create ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: not writable")
    return path


def field_output_dirs(args):
    """`lorafield demo` and `emulate SCENARIO.toml`: their output directories are checked
    before the field runs, not when its results are written at the end."""
    output_dir(args.out, "--out")
    if args.export:
        output_dir(args.export, "--export")
    if args.db:
        output_dir(os.path.dirname(os.path.abspath(args.db)), "--db")
