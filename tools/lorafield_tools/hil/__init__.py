"""Hardware in the loop: a pytest plugin (`--hil-port PORT`) and the device test build."""

from pathlib import Path

SELFTEST = Path(__file__).with_name("selftest.py")
