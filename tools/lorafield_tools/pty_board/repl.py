"""The REPL framing of a USB-serial MicroPython board, byte by byte (after pyexec.c):

* friendly REPL: echo, line editing (backspace), `...` continuation lines, expressions echoed;
  Ctrl-A raw REPL, Ctrl-B banner, Ctrl-C cancel, Ctrl-D soft reset (then main.py runs);
* raw REPL: `raw REPL; CTRL-B to exit\\r\\n>`, code up to Ctrl-D, `OK`, output, `\\x04`,
  error text, `\\x04`, `>`; Ctrl-D on an empty buffer is a soft reset (main.py does not run);
* raw-paste (`\\x05A\\x01` then Ctrl-A): `R\\x01`, the window size (uint16 LE), `\\x01` each time
  a window has been consumed, `\\x04` to acknowledge the end, then output as in the raw REPL.

The board object runs the code (`execute`) and resets (`soft_reset`); this class only frames.
"""

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = 1, 2, 3, 4, 5
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 128  # bytes per flow-control window (uint16 LE on the wire)


_COMPOUND = ("if", "while", "for", "def", "class", "with", "try", "async")


def cooked(text):
    """Output as a board's UART sends it: \\n becomes \\r\\n."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")


def needs_more(lines):
    """MicroPython's rule for a `...` continuation: a compound statement header, an open
    bracket or an open triple-quoted string."""
    text = "\n".join(lines)
    if text.count('"""') % 2 or text.count("'''") % 2:
        return True
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    if depth > 0:
        return True
    words = lines[0].split()
    if words and (words[0].rstrip(":") in _COMPOUND or words[0].startswith("@")):
        return True  # MicroPython continues any compound statement, even on one line
    return lines[-1].rstrip().endswith(":")


class Repl:
    def __init__(self, board):
        self.board = board
        self.mode = "friendly"
        self.line = bytearray()
        self.block = []
        self.raw = bytearray()
        self.paste_remain = 0
        self._after_cr = False
        self._escape = 0

    def prompt(self):
        self.board.write(b"... " if self.block else b">>> ")

    def banner(self):
        self.board.write(
            self.board.banner().encode() + b'\r\nType "help()" for more information.\r\n'
        )

    def enter_raw(self):
        self.mode = "raw"
        self.raw = bytearray()
        self.board.write(RAW_BANNER + b">")

    def feed(self, data):
        from .board import BoardReset

        try:
            self._feed(data)
        except BoardReset:
            self.mode = "friendly"
            self.line, self.block, self.raw = bytearray(), [], bytearray()
            self.board.write(b"\r\n")
            self.board.soft_reset(run_main=True)

    def _feed(self, data):
        for byte in data:
            if self.mode == "friendly":
                self._friendly(byte)
            elif self.mode == "raw":
                self._raw(byte)
            elif self.mode == "paste":
                self._paste(byte)
            elif byte == CTRL_D:  # the host's acknowledgement of an abrupt end
                self.mode = "raw"
                self.board.write(b"\x04KeyboardInterrupt: \r\n\x04>")

    # -- friendly -------------------------------------------------------------------------
    def _friendly(self, c):
        if self._escape:  # skip ESC [ X (cursor keys): no history or cursor motion here
            self._escape = self._escape + 1 if self._escape == 1 else 0
            return
        after_cr, self._after_cr = self._after_cr, c == 13
        if c == 27:
            self._escape = 1
        elif c == CTRL_A:
            self.board.write(b"\r\n")
            self.line, self.block = bytearray(), []
            self.enter_raw()
        elif c == CTRL_B:
            self.board.write(b"\r\n")
            self.line, self.block = bytearray(), []
            self.banner()
            self.prompt()
        elif c == CTRL_C:
            self.line, self.block = bytearray(), []
            self.board.write(b"\r\n")
            self.prompt()
        elif c == CTRL_D:
            if not self.line and not self.block:
                self.board.write(b"\r\n")
                self.board.soft_reset(run_main=True)
        elif c in (8, 127):
            if self.line:
                del self.line[-1]
                self.board.write(b"\x08 \x08")
        elif c == 13 or (c == 10 and not after_cr):
            self.board.write(b"\r\n")
            self._line_done(self.line.decode("utf-8", "replace"))
            self.line = bytearray()
        elif c == 10:
            pass
        elif c >= 32 or c == 9:
            self.line.append(c)
            self.board.write(bytes([c]))

    def _line_done(self, text):
        if self.block:
            if text.strip():
                self.block.append(text)
                self.prompt()
                return
            source = "\n".join(self.block) + "\n"
            self.block = []
        elif not text.strip():
            self.prompt()
            return
        elif needs_more([text]):
            self.block = [text]
            self.prompt()
            return
        else:
            source = text
        result = self.board.execute(source, single=True)
        if not result.ok:
            self.board.write(cooked(result.traceback))
        if self.mode == "friendly":
            self.prompt()

    # -- raw --------------------------------------------------------------------------------
    def _raw(self, c):
        if c == CTRL_A:
            if len(self.raw) == 2 and self.raw[0] == CTRL_E:
                self._start_paste(self.raw[1])
                return
            self.raw = bytearray()
            self.board.write(RAW_BANNER + b">")
        elif c == CTRL_B:
            self.mode = "friendly"
            self.raw = bytearray()
            self.board.write(b"\r\n")
            self.banner()
            self.prompt()
        elif c == CTRL_C:
            self.raw = bytearray()
        elif c == CTRL_D:
            self.board.write(b"OK")
            if not self.raw:
                self.board.write(b"\r\n")
                self.board.soft_reset(run_main=False)
                return
            code, self.raw = bytes(self.raw), bytearray()
            self._run_raw(code)
        else:
            self.raw.append(c)

    def _run_raw(self, code):
        result = self.board.execute(code.decode("utf-8", "replace"), single=False)
        self.board.write(b"\x04")
        if not result.ok:
            self.board.write(cooked(result.traceback))
        self.board.write(b"\x04")
        if self.mode == "raw":
            self.board.write(b">")

    # -- raw paste ------------------------------------------------------------------------
    def _start_paste(self, command):
        self.raw = bytearray()
        if command != ord("A"):
            self.board.write(b"R\x00")
            return
        self.mode = "paste"
        self.paste_remain = PASTE_WINDOW
        self.board.write(b"R\x01" + PASTE_WINDOW.to_bytes(2, "little"))

    def _paste(self, c):
        if c == CTRL_D:
            self.board.write(b"\x04")  # end of data acknowledged; now compile and run
            self.mode = "raw"
            code, self.raw = bytes(self.raw), bytearray()
            self._run_raw(code)
            return
        if c == CTRL_C:  # abrupt end: the host acknowledges with \x04, which we then ignore
            self.board.write(b"\x04")
            self.mode = "paste-abort"
            self.raw = bytearray()
            return
        self.raw.append(c)
        self.paste_remain -= 1
        if self.paste_remain == 0:
            self.paste_remain = PASTE_WINDOW
            self.board.write(b"\x01")
