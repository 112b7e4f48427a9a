# Run once in every fresh interpreter of the emulated board (what a port's C start-up does).
# The WebAssembly port's VFS raises Emscripten's errno numbers (ENOENT is 44) while its errno
# module, and every real board, uses MicroPython's (ENOENT is 2): translate them, so device
# code and mpremote see the numbers a real board reports. The native (unix) port needs none of
# that (Linux's numbers are MicroPython's, its root is the board's own folder) and its built-in
# modules take no new attributes: there only sys.path and the working folder are set.
import builtins
import os
import sys

if sys.platform == "webassembly":
    _EMSCRIPTEN_ERRNO = {
        63: 1, 44: 2, 29: 5, 8: 9, 6: 11, 48: 12, 2: 13, 10: 16, 20: 17, 75: 18, 43: 19,
        54: 20, 31: 21, 28: 22, 41: 23, 33: 24, 59: 25, 22: 27, 51: 28, 70: 29, 69: 30,
        37: 36, 55: 39, 73: 110,
    }  # fmt: skip

    def _translating(fn):
        def call(*args):
            try:
                return fn(*args)
            except OSError as e:
                code = e.args[0] if e.args else None
                if code in _EMSCRIPTEN_ERRNO:
                    raise OSError(_EMSCRIPTEN_ERRNO[code]) from None
                raise

        return call

    for _name in ("stat", "listdir", "ilistdir", "mkdir", "rmdir", "remove", "unlink", "rename",
                  "chdir", "statvfs"):  # fmt: skip
        if hasattr(os, _name):
            setattr(os, _name, _translating(getattr(os, _name)))
    builtins.open = _translating(builtins.open)

    # The Emscripten runtime's own folders are no part of the board's flash: hide them at the
    # root.
    _HIDDEN = ("dev", "proc", "tmp", "home")

    def _at_root(path):
        return path in ("/", "") and os.getcwd() == "/" or path == "/"

    def _listdir(path="", _fn=os.listdir):
        names = _fn(path) if path else _fn()
        return [n for n in names if not (_at_root(path) and n in _HIDDEN)]

    def _ilistdir(path="", _fn=os.ilistdir):
        for entry in _fn(path) if path else _fn():
            if not (_at_root(path) and entry[0] in _HIDDEN):
                yield entry

    os.listdir = _listdir
    os.ilistdir = _ilistdir
    del _name

if "/rom/lib" not in sys.path:
    sys.path.insert(sys.path.index("/lib") if "/lib" in sys.path else len(sys.path), "/rom/lib")
os.chdir("/")
