"""Real boards: the BOARD INTERFACE (lorafield_node.board) built from `machine`.

    board = make_board("heltec_lora32_v2", {"tpl5110": {"done": 12, "period_s": 900}})

Pin maps come from lorafield_node.pinmaps (the same table the emulated boards use), which
is unloaded once the board is built (each board keeps its own pins). These
modules run only on a device: they import `machine` (and `esp32` / the RP2040's registers).
"""


def make_board(key, options=None):
    from lorafield_node import unload
    from lorafield_node.pinmaps import MCU

    mcu = MCU.get(key)
    if mcu == "esp32":
        from .esp32 import Esp32Board as Board
    elif mcu == "rp2040":
        from .rp2 import Rp2Board as Board
    else:
        raise ValueError("unknown board %r (known: %s)" % (key, ", ".join(sorted(MCU))))
    board = Board(key, options)
    unload("lorafield_node.pinmaps")  # the board keeps its own pins, not every board's
    return board
