"""Device entry point: read /lorafield.json (written at deploy time), build the board and
run its app. On a device this file is /main.py; lorafield_node, lorafield_codec and
lorafield_boards are in /lib."""

from lorafield_boards import make_board
from lorafield_node.apps import start
from lorafield_node.deploy import load


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
