# A small `machine` for the emulated board's REPL (mpremote's `reset`, a board's unique id).
# The firmware itself reaches the hardware through lorafield_boards, as on a real board.
from binascii import unhexlify

import lorafield_emulated as _link

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5


def unique_id():
    return unhexlify(_link.request({"op": "unique_id"})["hex"])


def reset():
    _link.request({"op": "reset"})  # the host resets the board after this exec returns


def soft_reset():
    reset()


def freq():
    return 240_000_000
