"""LoRaWAN 1.0.4 end-device firmware (firmware/README.md)."""


def unload(name):
    """Forget the module `name` once a boot is done with it: its code and tables are freed
    at the next collection (its interned names stay: MicroPython never frees a qstr). A
    later import loads it again."""
    import sys

    sys.modules.pop(name, None)
    package, _, attr = name.rpartition(".")
    parent = sys.modules.get(package)
    if parent is not None and attr in parent.__dict__:
        delattr(parent, attr)
