"""Where the device code is, in a source checkout and in an installed wheel alike: the folders
Python imports lorafield_node, lorafield_codec and lorafield_boards from (firmware/ and
codecs/ in an editable install, site-packages from a wheel), and firmware/main.py, linked into
this package as device_main.py so that the wheel carries it."""

import importlib.util
from pathlib import Path

DEVICE_MAIN = Path(__file__).with_name("device_main.py")


class DeviceCodeMissing(Exception):
    """A device package cannot be found (one line)."""


def package_dir(name):
    """The folder of device package `name` (e.g. "lorafield_node")."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DeviceCodeMissing(f"device package {name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def main_py():
    """firmware/main.py (its copy in a wheel)."""
    return DEVICE_MAIN.resolve()
