# The emulated board's link to its hardware: each call goes to the host (the Python side of
# `lorafield emulate board`), which runs it on the emulated chips and answers. Arguments and
# results travel as JSON: bytes as {"b": hex}, writable buffers as {"m": hex} (copied back),
# host objects as {"o": id} (proxies here). Pin interrupts are delivered after the call that
# saw them, in this thread (micropython.schedule semantics).
#
# Heap figures for the host (lorafield_tools.field.vm_runtime), taken when the firmware enters
# this link (a proxy's attribute, its call) and when it leaves it, so that what the firmware
# allocates and what the link allocates (JSON, proxies: an emulation cost no real board has)
# are counted apart. Always, where the build counts every allocation (MICROPY_MEM_STATS:
# micropython.mem_total(), the unix port; O(1)): the exact split. After sample_heap(), also
# gc.mem_alloc() at each crossing (the peak; a sample lower than the one before means a
# collection ran in between, what it freed is not counted): it walks the heap's allocation
# table, ~26 us at 256 KiB natively, more than a bridge round trip, so only on request. At
# the boot's end (an "exit" with "measure"), one collection and mem_info: what the firmware
# still holds when it sleeps, and the largest free block. The counters allocate nothing.
import gc
import json
import sys
from binascii import hexlify, unhexlify

import js
import micropython
from micropython import const

_handlers = {}
_objects = {}
# Slots of _heap (a list updated in place, so that counting allocates nothing).
_PEAK = const(0)  # highest gc.mem_alloc() sampled
_FW = const(1)  # bytes the firmware allocated between crossings
_LINK = const(2)  # bytes the link allocated inside it
_COLLECTIONS = const(3)  # samples lower than the one before: a collection ran
_LAST = const(4)  # the sample when the firmware last left the link
_MEASURED = const(5)  # the boot's end was measured
_DEPTH = const(6)  # nesting of the link's own calls
_ENTRY = const(7)  # the sample when the firmware entered the link
_SAMPLING = const(8)  # sample_heap() was called
_heap = [0, 0, 0, 0, gc.mem_alloc(), 0, 0, 0, 0]
_end = {}
_mem_total = getattr(micropython, "mem_total", None)
# Slots of _total (exact, from mem_total).
_T_FW = const(0)  # bytes the firmware allocated
_T_LINK = const(1)  # bytes the link allocated
_T_LAST = const(2)
_T_ENTRY = const(3)
_total = [0, 0, _mem_total() if _mem_total else 0, 0]


def sample_heap():
    """Sample gc.mem_alloc() at every crossing of the link from now on."""
    _heap[_SAMPLING] = 1
    _heap[_LAST] = gc.mem_alloc()


def _in():
    h = _heap
    h[_DEPTH] += 1
    if h[_DEPTH] > 1:
        return
    if _mem_total:
        t = _total
        t[_T_ENTRY] = _mem_total()
        t[_T_FW] += t[_T_ENTRY] - t[_T_LAST]
    if not h[_SAMPLING]:
        return
    a = gc.mem_alloc()
    if a >= h[_LAST]:
        h[_FW] += a - h[_LAST]
    else:
        h[_COLLECTIONS] += 1
    if a > h[_PEAK]:
        h[_PEAK] = a
    h[_ENTRY] = a


def _out():
    h = _heap
    h[_DEPTH] -= 1
    if h[_DEPTH]:
        return
    if _mem_total:
        t = _total
        t[_T_LAST] = _mem_total()
        t[_T_LINK] += t[_T_LAST] - t[_T_ENTRY]
    if not h[_SAMPLING]:
        return
    b = gc.mem_alloc()
    if b >= h[_ENTRY]:
        h[_LINK] += b - h[_ENTRY]
    else:
        h[_COLLECTIONS] += 1
    if b > h[_PEAK]:
        h[_PEAK] = b
    h[_LAST] = b


class HostExit(SystemExit):
    """The board went to deep sleep, or its watchdog or a power cut ended this boot."""


def _enc(value):
    if isinstance(value, bytes):
        return {"b": hexlify(value).decode()}
    if isinstance(value, (bytearray, memoryview)):
        return {"m": hexlify(value).decode()}
    if isinstance(value, Proxy):
        return {"o": value._oid}
    if isinstance(value, (list, tuple)):
        return [_enc(v) for v in value]
    return value


def _dec(value):
    if isinstance(value, dict):
        if "b" in value:
            return unhexlify(value["b"])
        if "o" in value:
            oid = value["o"]
            proxy = _objects.get(oid)
            if proxy is None:
                proxy = Proxy(oid, value.get("attrs") or {}, value.get("methods"))
                _objects[oid] = proxy
            return proxy
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def request(req):
    _in()
    try:
        reply = json.loads(js.lorafieldHw(json.dumps(req)))
    finally:
        _out()
    if reply.get("interrupt"):
        raise KeyboardInterrupt
    if "exit" in reply:
        h = _heap
        if reply.get("measure") and not h[_MEASURED]:  # asked for by the field's runtime only
            h[_MEASURED] = 1
            _measure_end()
        raise HostExit(reply["exit"])
    if "err" in reply:
        kind = {"OSError": OSError, "ValueError": ValueError, "TypeError": TypeError,
                "AttributeError": AttributeError}  # fmt: skip
        raise kind.get(reply["err"], RuntimeError)(*reply.get("args", ()))
    return reply


def _measure_end():
    gc.collect()
    _end["end_live"] = gc.mem_alloc()
    print("\x1emem_info")
    micropython.mem_info()
    print("\x1eend")


def stats_json():
    """The heap counters of this interpreter (read by the host after main.py)."""
    h = _heap
    out = {}
    if h[_SAMPLING]:
        out = {"peak": h[_PEAK], "fw": h[_FW], "bridge": h[_LINK], "collections": h[_COLLECTIONS]}
    out["block_bytes"] = 16 if sys.maxsize < 1 << 32 else 32  # 4 words: mem_info's blocks
    if _mem_total:
        out["fw_total"], out["link_total"] = _total[_T_FW], _total[_T_LINK]
    out.update(_end)
    return json.dumps(out)


def call(oid, name, args, kwargs=None):
    _in()
    try:
        req = {"op": "call", "o": oid, "m": name, "a": _enc(args), "k": _enc(kwargs or {})}
        reply = request(req)
        for i, data in enumerate(reply.get("m") or ()):
            if data is not None:
                args[i][:] = unhexlify(data)
        result = _dec(reply.get("r"))
        irq = reply.get("irq")
    finally:
        _out()
    for pin_oid in irq or ():  # the firmware's handlers: not the link's
        handler = _handlers.get(pin_oid)
        if handler is not None:
            handler(_objects[pin_oid])
    return result


class Proxy:
    def __init__(self, oid, attrs, methods=None):
        self._oid = oid
        self._attrs = attrs
        self._methods = methods

    def __getattr__(self, name):
        if name in self._attrs:
            return self._attrs[name]
        if self._methods is not None and name not in self._methods:
            raise AttributeError(name)
        _in()  # the closure is the link's
        try:
            oid = self._oid

            def method(*args, **kwargs):
                _in()
                try:
                    if name == "irq":
                        handler = args[0] if args else kwargs.pop("handler", None)
                        _handlers[oid] = handler
                        args = ("handler",) if handler is not None else (None,)
                    args = list(args)
                finally:
                    _out()
                return call(oid, name, args, kwargs)

            return method
        finally:
            _out()


def board():
    """The host's board view of this boot (object 0), as a Proxy."""
    return _dec(request({"op": "root"})["r"])


def identity():
    """(board profile, port) this board emulates."""
    reply = request({"op": "identity"})
    return reply["board"], reply["port"]
