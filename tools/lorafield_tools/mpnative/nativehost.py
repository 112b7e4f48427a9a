# Host of the emulated board's native MicroPython (the unix port), run by that interpreter:
#   micropython -X heapsize=N nativehost.py <fd in> <fd out> <fs dir> <rom dir>
# (MicroPython code, not CPython: vfs, sys.print_exception, no signal module.)
#
# The board's filesystem is <fs dir> mounted as "/", the ROM <rom dir> as "/rom" (read-only).
# Code's output goes to fd 1 as it is printed; the control channel is a pipe pair:
#   host -> here   b"R<id> <n>\n" + n bytes (a JSON string of code, then "\n"): run it
#                  b"A<seq> <n>\n" + n bytes (JSON, then "\n"): the answer to hardware call seq
#   here -> host   {"ready": true, ...} once; {"started": id} when code starts running;
#                  {"seq": k, "hw": <request>} a hardware call (js.lorafieldHw);
#                  {"done": id, "ok": bool, "type": str, "traceback": str} at the end of a run
# The host delivers Ctrl-C as SIGINT (KeyboardInterrupt), only after "started". It can still land
# in this file's own code (a run ending as it arrives), so every reader here resynchronises:
# headers are single lines and bodies one JSON line each, so a reader skips what it does not
# expect, answers carry the sequence number of their call, and "done" is sent again after an
# interrupt (the host ignores a second "done" for a run).
import gc
import io
import json
import sys

import vfs

# Opened before "/" is remounted, kept for the process's life; no flush() on _out: a pipe
# rejects it (EINVAL), and writes go straight to the fd anyway.
_in = open("/dev/fd/" + sys.argv[1], "rb")  # noqa: SIM115
_out = open("/dev/fd/" + sys.argv[2], "wb")  # noqa: SIM115
_HERE = '  File "' + __file__ + '"'
_seq = [0]


def _send(obj):
    _out.write((json.dumps(obj) + "\n").encode())


def _read(tag):
    """The body of the next message with this tag: (number, bytes), or None at EOF."""
    while True:
        head = _in.readline()
        if not head:
            return None
        if head[:1] != tag:
            continue  # the body of a message whose reader was interrupted
        sp = head.index(b" ")
        number = int(head[1:sp])
        return number, _in.read(int(head[sp + 1 :]))


class _Js:
    """What the ROM's lorafield_emulated.py calls in the WebAssembly port's `js` module."""

    @staticmethod
    def lorafieldHw(text):
        _seq[0] += 1
        seq = _seq[0]
        _out.write(('{"seq": ' + str(seq) + ', "hw": ' + text + "}\n").encode())
        while True:
            msg = _read(b"A")
            if msg is None:
                raise SystemExit("host gone")
            if msg[0] == seq:  # older ones: answers to calls a Ctrl-C abandoned
                return msg[1].decode()


def _failure(rid, exc):
    kind = type(exc).__name__
    gc.collect()  # a MemoryError's garbage is free now
    try:
        buf = io.StringIO()
        sys.print_exception(exc, buf)
        lines = buf.getvalue().split("\n")
        text = "\n".join(line for line in lines if not line.startswith(_HERE))
    except MemoryError:
        text = kind + ":\n"
    return {"done": rid, "ok": False, "type": kind, "traceback": text}


def _run(rid, code, env):
    _send({"started": rid})
    try:
        exec(compile(code, "<stdin>", "exec"), env)
    except BaseException as exc:  # noqa: B036 (SystemExit and KeyboardInterrupt are results too)
        return _failure(rid, exc)
    return {"done": rid, "ok": True}


def main(fs_dir, rom_dir):
    vfs.umount("/")
    vfs.mount(vfs.VfsPosix(fs_dir), "/")
    vfs.mount(vfs.VfsPosix(rom_dir), "/rom", readonly=True)
    sys.path[:] = ["", ".frozen", "/lib"]  # a board's; _board_boot.py adds /rom/lib
    sys.argv[:] = []
    sys.modules["js"] = _Js()
    env = {"__name__": "__main__"}  # the REPL's globals, kept from run to run
    reply = {"ready": True, "version": sys.version, "heap": gc.mem_free() + gc.mem_alloc()}
    rid = None
    while True:
        try:
            if reply is not None:
                _send(reply)
                reply = rid = None
            msg = _read(b"R")
            if msg is None:
                return  # the host closed the pipe
            rid = msg[0]
            reply = _run(rid, json.loads(msg[1]), env)
        except KeyboardInterrupt:  # Ctrl-C that landed here rather than in the code
            if rid is not None and reply is None:
                reply = {"done": rid, "ok": False, "type": "KeyboardInterrupt",
                         "traceback": "KeyboardInterrupt: \n"}  # fmt: skip
        except MemoryError:  # the request itself did not fit the heap (rid None: unread)
            gc.collect()
            reply = {"done": rid, "ok": False, "type": "MemoryError",
                     "traceback": "MemoryError: memory allocation failed\n"}  # fmt: skip
        except OSError:  # the host's end of a pipe is gone
            return


main(sys.argv[3], sys.argv[4])
