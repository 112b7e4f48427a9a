"""Real boards: the BOARD INTERFACE (lorafield_node.board) built from `machine`.

    board = make_board("heltec_lora32_v2", {"tpl5110": {"done": 12, "period_s": 900}})

Pin maps come from lorafield_node.pinmaps (the same table the emulated boards use). These
modules run only on a device: they import `machine` (and `esp32` / the RP2040's registers).
"""


def make_board(key, options=None):
    from lorafield_node.pinmaps import MCU

    mcu = MCU.get(key)
    if mcu == "esp32":
        from .esp32 import Esp32Board

        return Esp32Board(key, options)
    if mcu == "rp2040":
        from .rp2 import Rp2Board

        return Rp2Board(key, options)
    raise ValueError("unknown board %r (known: %s)" % (key, ", ".join(sorted(MCU))))
