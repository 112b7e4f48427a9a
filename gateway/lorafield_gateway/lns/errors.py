"""Typed errors of the network server. Messages never carry key material."""


class LnsError(ValueError):
    """Bad input to the network server (unknown device, malformed argument)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class RegistryError(LnsError):
    """A device entry is malformed or conflicts with another one."""


class Rejected(LnsError):
    """A frame was refused; ``reason`` is a short fixed phrase, ``detail`` a dict of
    non-secret facts (counters, DevEUI) for the event log."""

    def __init__(self, reason, dev_eui=None, **detail):
        super().__init__(reason)
        self.dev_eui = dev_eui
        self.detail = detail
