# The emulated board's own board support (in its ROM, ahead of /lib on sys.path): the same
# make_board() as firmware/boards/lorafield_boards, but the board's hardware is the emulation
# on the host, reached through lorafield_emulated. Every method of the board interface the
# host's boot view has is forwarded (so new contract methods need nothing here); the clock's
# arithmetic and the persistent store (firmware code) run here in the VM.
import lorafield_emulated as link
from lorafield_node import board as contract


class EmulatedClock(contract.Clock):
    def __init__(self, host):
        self._host = host

    def ticks_ms(self):
        return self._host.ticks_ms()

    def ticks_us(self):
        return self._host.ticks_us()

    def sleep_ms(self, ms):
        self._host.sleep_ms(ms)

    def sleep_us(self, us):
        self._host.sleep_us(us)


class EmulatedBoard:
    def __init__(self, key, options=None):
        self.name = key
        self.options = options or {}
        self._host = link.board()
        self._clock = None
        self._store = None

    def __getattr__(self, name):
        return getattr(self._host, name)  # AttributeError when the host has no such method

    def radio(self):
        return tuple(self._host.radio())

    def clock(self):
        if self._clock is None:
            self._clock = EmulatedClock(self._host.clock())
        return self._clock

    def store(self):
        if self._store is None:  # one per boot, as the real boards keep it
            from lorafield_node.store import Store

            self._store = Store(self._host.flash(), prog_size=self._host.flash_prog_size())
        return self._store


def make_board(key, options=None):
    emulated, _port = link.identity()
    if key != emulated:
        raise ValueError("this emulated board is a " + emulated + ", the config says " + repr(key))
    from lorafield_node import unload

    unload("lorafield_node.pinmaps")  # as the firmware's make_board does once it is built
    return EmulatedBoard(key, options)
