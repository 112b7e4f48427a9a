"""Device entry point: read /lorafield.json (written at deploy time), build the board and
run its app. On a device this file is /main.py; lorafield_node, lorafield_codec and
lorafield_boards are in /lib."""

import gc

# Collect after every 8 KiB allocated, not only when the heap is full: a boot interleaves
# what it keeps (module code, the MAC) with garbage, and collecting late leaves what it keeps
# spread over the whole heap. MicroPython never moves an object, so the largest free block
# then shrinks to a few KiB, and a new qstr pool (one block of a few KiB, allocated when a
# boot's interned names outgrow the last one) fails with free memory to spare
# (firmware/boards/README.md, Heap).
gc.threshold(8192)

from lorafield_boards import make_board  # noqa: E402 (after the threshold: imports allocate)
from lorafield_node.apps import start  # noqa: E402
from lorafield_node.deploy import load  # noqa: E402


def main():
    settings = load()
    board = make_board(settings["board"], settings)
    try:
        start(board, settings)
    except Exception as e:  # a bug must not drain the battery in a tight crash loop
        import sys

        sys.print_exception(e)  # pyright: ignore[reportAttributeAccessIssue] (MicroPython)
        board.deepsleep(60_000)


main()
