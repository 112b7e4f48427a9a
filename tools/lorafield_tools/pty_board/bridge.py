"""Host side of the VM's hardware calls (rom/lib/lorafield_emulated.py): object 0 is the
boot's BootView (hardware/lorafield_hw/board.py); objects it hands out get ids; buffers the VM
passed are copied back; pin interrupts are queued and delivered with the next answer.

A boot that ends on the host (deep sleep, watchdog, power cut: BaseExceptions raised in the
firmware's process) answers {"exit": ...}: the VM unwinds with SystemExit and the exception
is raised again here once the VM run is over (`pending_exit`).
"""

from __future__ import annotations

_ERRORS = ("OSError", "ValueError", "TypeError", "AttributeError")


class HardwareBridge:
    def __init__(self, view):
        self.objects = {0: view}
        self.ids = {id(view): 0}
        self.irq = []
        self.pending_exit: BaseException | None = None
        self.calls = 0

    def handle(self, req):
        if req.get("op") == "root":
            return {"r": self._enc(self.objects[0])}
        if req.get("op") != "call":
            return None
        self.calls += 1
        target = self.objects.get(req["o"])
        if target is None:
            return {"err": "ValueError", "args": ["unknown hardware object"]}
        name = req["m"]
        if name.startswith("_"):
            return {"err": "TypeError", "args": [f"no method {name}"]}
        args = [self._dec(a) for a in req["a"]]
        kwargs = {k: self._dec(v) for k, v in req.get("k", {}).items()}
        if name == "irq":
            args, kwargs = self._irq_args(req["o"], args, kwargs)
        try:
            result = getattr(target, name)(*args, **kwargs)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            kind = type(exc).__name__
            if kind not in _ERRORS:  # a subclass: the VM raises its nearest builtin
                kind = "OSError" if isinstance(exc, OSError) else "ValueError"
            return {"err": kind, "args": [a for a in exc.args if isinstance(a, int | str)]}
        except BaseException as exc:  # DeepSleep, ProcessKilled: this boot is over
            if isinstance(exc, Exception):
                raise
            self.pending_exit = exc
            return {"exit": type(exc).__name__}
        reply = {"r": self._enc(result)}
        written = [bytes(a).hex() if isinstance(a, bytearray) else None for a in args]
        if any(w is not None for w in written):
            reply["m"] = written
        if self.irq:
            reply["irq"], self.irq = self.irq, []
        return reply

    def _irq_args(self, oid, args, kwargs):
        wanted = args[0] if args else None
        rest = args[1:]

        def handler(_pin, oid=oid):
            self.irq.append(oid)

        return [handler if wanted is not None else None, *rest], kwargs

    def _dec(self, value):
        if isinstance(value, dict):
            if "b" in value:
                return bytes.fromhex(value["b"])
            if "m" in value:
                return bytearray.fromhex(value["m"])
            if "o" in value:
                return self.objects[value["o"]]
            return {k: self._dec(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._dec(v) for v in value]
        return value

    def _enc(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return {"b": bytes(value).hex()}
        if isinstance(value, list | tuple):
            return [self._enc(v) for v in value]
        key = id(value)
        if key not in self.ids:
            oid = len(self.objects)
            self.objects[oid] = value
            self.ids[key] = oid
        target = getattr(value, "_target", value)
        attrs = {}  # plain data attributes (Pin.IRQ_RISING, wdt.timeout_ms): a snapshot
        methods = []  # so that getattr(obj, "missing", None) is None in the VM too
        for name in dir(target):
            if name.startswith("_"):
                continue
            attribute = getattr(target, name, None)
            if isinstance(attribute, bool | int | float | str):
                attrs[name] = attribute
            elif callable(attribute):
                methods.append(name)
        return {"o": self.ids[key], "attrs": attrs, "methods": methods}
