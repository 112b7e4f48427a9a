# `onewire` of the emulated board in --real-boards mode: the bus of the host's emulated sensors.
import machine as _machine

SEARCH_ROM, MATCH_ROM, SKIP_ROM = 0xF0, 0x55, 0xCC


def OneWire(pin):
    return _machine._host().onewire()
