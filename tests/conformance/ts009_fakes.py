"""Fakes of what the TS009 test app (testapp.py) uses of the node (framework.Node) and the
Mac (mac.Mac), in code both CPython and MicroPython run; they import nothing of testapp, so
a test can see whether the framework loads it."""


def hx(b):
    return "".join(f"{x:02x}" for x in b)


class Clock:
    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        return self.ms & ((1 << 30) - 1)

    def ticks_diff(self, a, b):
        half = 1 << 29
        return ((a - b + half) & ((1 << 30) - 1)) - half


class Store:
    def __init__(self):
        self.d = {}

    def get(self, key):
        return self.d.get(key)

    def put(self, key, value):
        self.d[key] = bytes(value)


class Downlink:
    def __init__(self, fport, payload=b"", ack=False):
        self.fport = fport
        self.payload = payload
        self.ack = ack


class Result:
    def __init__(self, downlink):
        self.downlink = downlink


class Wait(Exception):  # mac.DutyCycleWait's shape
    def __init__(self, ms):
        self.wait_ms = ms


class TooLarge(Exception):  # mac.PayloadTooLarge's shape
    def __init__(self, max_len):
        self.max_len = max_len


class Duty:
    def __init__(self):
        self.regional = True


class Region:
    def __init__(self):
        self.table = (51, 51, 51, 115, 222, 222)

    def max_payload(self, dr):
        return self.table[dr]


class Session:
    def __init__(self):
        self.dr = 5


class Mac:
    """Sends are logged as (fport, payload hex, confirmed); ``script`` lists what each send
    brings back: a list of Downlinks (FPort > 0 ones reach on_downlink, as in mac.Mac), and
    ``refuse`` exceptions raised by the next sends first."""

    def __init__(self, clock):
        self.clock = clock
        self.joined = False
        self.join_results = [True]
        self.joins = 0
        self.adr = True
        self.duty = Duty()
        self.region = Region()
        self.session = Session()
        self.owes_uplink = False
        self.sent = []
        self.script = []
        self.refuse = []
        self.requests = []
        self.on_downlink = None

    def join(self):
        self.joins += 1
        self.clock.ms += 6000  # a Join-request and its two join windows
        if self.refuse:
            raise self.refuse.pop(0)
        ok = self.join_results.pop(0) if self.join_results else False
        if ok:
            self.joined = True
        return ok

    def set_adr(self, on):
        self.adr = bool(on)

    def request_link_check(self):
        self.requests.append("link_check")

    def request_device_time(self):
        self.requests.append("device_time")

    def send(self, fport, payload, confirmed=False):
        if not 1 <= fport <= 223:
            raise ValueError("FPort must be 1..223")
        return self._send(fport, payload, confirmed)

    def send_test(self, payload, confirmed=False):
        return self._send(224, payload, confirmed)

    def _send(self, fport, payload, confirmed):
        if self.refuse:
            raise self.refuse.pop(0)
        self.sent.append((fport, hx(payload), confirmed))
        self.clock.ms += 2000  # the frame and its two receive windows
        dls = self.script.pop(0) if self.script else []
        last = None
        for dl in dls:
            last = dl
            if dl.fport and self.on_downlink is not None:
                self.on_downlink(dl)
        return Result(last)


class Node:
    def __init__(self, settings=None):
        self.settings = settings if settings is not None else {"dev_eui": b"\x01" * 8}
        self.clock = Clock()
        self.store = Store()
        self.reboot = False
        self._downlinks = []
        self._mac = Mac(self.clock)
        self.applied = []  # FPorts the framework's apply_downlinks was left
        self.slept = []
        self.deep = []
        self.fed = 0
        self.fixed_dr = 0

    def mac(self):
        self._mac.on_downlink = self._downlinks.append
        return self._mac

    def _fixed_dr(self, mac):  # framework.Node: the deploy-time "dr" after a join
        self.fixed_dr += 1

    def apply_downlinks(self):
        while self._downlinks:
            self.applied.append(self._downlinks.pop(0).fport)

    def lightsleep(self, ms):
        self.slept.append(ms)
        self.clock.ms += ms

    def feed(self):
        self.fed += 1

    def deepsleep(self, ms):
        self.deep.append(ms)
