"""LoRaWAN 1.0.4 end-device firmware (firmware/README.md)."""


def unload(name):
    """Forget the module `name` and its submodules once a boot is done with them: their
    code and tables are freed at the next collection, as long as nothing still refers to
    them (their interned names stay: MicroPython never frees a qstr). A later import loads
    them again. On CPython (the host, where the emulated field's nodes share one process
    with the server) it does nothing: there is no device heap to save."""
    import sys

    if sys.implementation.name != "micropython":
        return
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    package, _, attr = name.rpartition(".")
    parent = sys.modules.get(package)
    if parent is not None and attr in parent.__dict__:
        delattr(parent, attr)
