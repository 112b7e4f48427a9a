"""Helpers of the console tests (the fixtures are in conftest.py)."""

SCRIPT_NAME = "<script>alert('x')</script>"  # a device name that must stay text


def token_of(console):
    """The token a console generated in its token file."""
    with open(console.token_file, encoding="utf-8") as handle:
        return handle.read().strip()
