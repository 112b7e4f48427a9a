"""Programs that run unchanged on MicroPython (in the VM) and CPython: each app's full wake
cycle (Node + app + drivers + codec + store) on a fake board with tiny fake buses and a fake
MAC. `setup()` builds the world (kept between VM calls), `cycle(...)` runs one wake and
prints what went on the air and how long the node sleeps."""

from lorafield_tools.bench.mac_programs import CLOCK, RAM_FLASH
from lorafield_tools.mpcheck import heap


def deployed(vm):
    """The device packages as `lorafield deploy` compiles them (.mpy), ahead of the sources
    on the VM's path: what a device loads, and loads again after an unload."""
    vm.write_files({"/mpy" + path: data for path, data in heap.mpy_files().items()})
    vm.run("import sys\nsys.path.insert(0, '/mpy/lib')\n")


HEAD = (
    """
import struct

from lorafield_node.store import Store
from lorafield_node.apps import app_class
from lorafield_node.apps.framework import Node, run


"""
    + RAM_FLASH
    + CLOCK
    + """
class Slept(Exception):
    pass


class Wdt:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


"""
)

I2C = """
def sht_crc(b):
    # Sensirion CRC-8 kept here (not the driver's): parking carries this fake but not the
    # SHT31 driver, which would otherwise be compiled into its measured heap.
    crc = 0xFF
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class FakeI2C:
    # QMC5883L at 0x0D (registers; DRDY always set), SHT31 at 0x44 (6-byte result).
    def __init__(self):
        self.field = (18000, 2000, -44000)  # nT
        self.temp_c = 21.5
        self.present = True
        self.ctrl = 0

    def _check(self):
        if not self.present:
            raise OSError(19)

    def writeto_mem(self, addr, reg, buf):
        self._check()
        if reg == 0x09:
            self.ctrl = buf[0]

    def readfrom_mem_into(self, addr, reg, buf):
        self._check()
        if reg == 0x0D:
            buf[0] = 0xFF
        elif reg == 0x06:
            buf[0] = 1
        else:
            for i in range(3):
                v = self.field[i] * 3 // 25 & 0xFFFF
                buf[2 * i] = v & 0xFF
                buf[2 * i + 1] = v >> 8

    def writeto(self, addr, buf):
        self._check()
        return 1

    def readfrom_into(self, addr, buf):
        self._check()
        st = int((self.temp_c + 45) * 65535 / 175)
        t = bytes([st >> 8, st & 0xFF])
        h = bytes([0x80, 0x00])
        buf[:] = t + bytes([sht_crc(t)]) + h + bytes([sht_crc(h)])


"""

UART = """
class FakeUART:
    # A02YYUW frames at the given distance, a corrupt frame first.
    def __init__(self):
        self.mm = 2000
        self.present = True

    def any(self):
        return 0

    def read(self, n=None):
        if not self.present:
            return None
        h, l = self.mm >> 8, self.mm & 0xFF
        good = bytes([0xFF, h, l, (0xFF + h + l) & 0xFF])
        return bytes([0xFF, h, l ^ 4, 0]) + good * 2


"""

ONEWIRE = """
from lorafield_node.drivers.ds18b20 import crc8 as ow_crc


class FakeOneWire:
    # One DS18B20: conversion done at once, scratchpad with its CRC.
    def __init__(self):
        self.raw = 0x0191  # 25.0625 degC
        self.present = True

    def reset(self, required=False):
        return self.present

    def writebyte(self, b):
        pass

    def write(self, buf):
        pass

    def readbit(self):
        return 1

    def readinto(self, buf):
        s = bytes([self.raw & 0xFF, self.raw >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10])
        buf[:] = s + bytes([ow_crc(s)])


"""

TAIL = """
class NoBus:
    present = True


class Board:
    name = "fake"

    def __init__(self, flash, cause):
        self._clock = Clock()
        self._flash = flash
        self.cause = cause
        self.wdt = Wdt()
        g = globals()  # each program carries only the bus fakes its app needs
        self.i2c_bus = g.get("FakeI2C", NoBus)()
        self.uart_bus = g.get("FakeUART", NoBus)()
        self.ow_bus = g.get("FakeOneWire", NoBus)()

    def clock(self):
        return self._clock

    def watchdog(self, ms):
        return self.wdt

    def store(self):
        return Store(self._flash)

    def reset_cause(self):
        return self.cause

    def battery_mv(self):
        return 2950

    def i2c(self):
        return self.i2c_bus

    def uart(self):
        return self.uart_bus

    def onewire(self):
        return self.ow_bus

    def sensor_power(self, on):
        pass

    def lightsleep(self, ms):
        self._clock.sleep_ms(ms)

    def deepsleep(self, ms):
        raise Slept(ms)


class Radio:
    def sleep(self):
        pass


class Downlink:
    def __init__(self, fport, payload):
        self.fport = fport
        self.payload = payload


class FakeMac:
    def __init__(self, downlinks):
        self.joined = True
        self.radio = Radio()
        self.on_downlink = None
        self.downlinks = downlinks
        self.sent = []
        self.codec_resident = []  # at each send: was the codec in sys.modules (not printed)

    def join(self):
        return True

    def send(self, fport, payload, confirmed=False):
        import sys

        self.codec_resident.append("lorafield_codec" in sys.modules)
        self.sent.append((fport, bytes(payload)))
        if self.downlinks:
            self.on_downlink(self.downlinks.pop(0))
        return True


W = {}


def setup():
    W["flash"] = RamFlash(4096, 2)


def cycle(settings, cause=4, field=None, temp_c=None, mm=None, raw=None, gone=False, dl=None):
    # A continuous app (parking) keeps its boot between wakes (light sleep); the others
    # boot afresh for every wake (deep sleep), as on the device.
    live = W.get("live")
    if cause == 4 and live is not None and live[2].CONTINUOUS:
        board, node, app, mac = live
    else:
        board = Board(W["flash"], cause)
        mac = FakeMac([])
        cls = app_class(settings["app"])
        node = Node(board, settings, cls.DEFAULTS, mac)
        app = cls(node, settings)
        W["live"] = (board, node, app, mac)
    if field is not None:
        board.i2c_bus.field = field
    if temp_c is not None:
        board.i2c_bus.temp_c = temp_c
    if mm is not None:
        board.uart_bus.mm = mm
    if raw is not None:
        board.ow_bus.raw = raw
    board.i2c_bus.present = board.uart_bus.present = board.ow_bus.present = not gone
    mac.sent = []
    mac.downlinks = [Downlink(30, bytes(dl))] if dl else []
    board.wdt.feeds = 0
    try:
        run(node, app, 1)
        slept = "light %d" % app.sleep_ms()
        board._clock.sleep_ms(app.sleep_ms())
    except Slept as e:
        slept = "deep %d" % e.args[0]
    up = " ".join("%d:%s" % (p, b.hex()) for p, b in mac.sent)
    print(slept, "feeds", board.wdt.feeds > 0, "up", up)
"""

BUSES = {"parking": (I2C,), "water_level": (UART,), "temperature": (I2C, ONEWIRE)}


def fakes(kind):
    """The program for one app: the shared fakes and its buses only."""
    return HEAD + "".join(BUSES[kind]) + TAIL


# One scenario per app: the same calls on both runtimes.
_WL = "cycle({'app': 'water_level', 'mount_height_mm': 3000}, "
_HIGH_1300 = "dl=bytes.fromhex('83f6f6a100190514')"  # config {"thresholds": {"high_mm": 1300}}
SCENARIOS = {
    "temperature": [
        "cycle({'app': 'temperature'}, cause=1)",
        "cycle({'app': 'temperature'})",
        "cycle({'app': 'temperature'}, dl=bytes.fromhex('831901f4f6a10319076c'))",
        "cycle({'app': 'temperature'}, raw=0x0140)",
        "cycle({'app': 'temperature'}, gone=True)",
        "cycle({'app': 'temperature', 'sensor': 'sht31'}, temp_c=-3.25)",
    ],
    "water_level": [
        _WL + "cause=1)",
        _WL + "mm=1990)",
        _WL + "mm=1995)",
        _WL + "mm=2000, " + _HIGH_1300 + ")",
        _WL + "mm=1980)",
        _WL + "mm=1500)",
        _WL + "gone=True)",
    ],
    "parking": [
        "cycle({'app': 'parking'}, cause=1)",
    ]
    + ["cycle({'app': 'parking'})"] * 8
    + ["cycle({'app': 'parking'}, field=(40000, 12000, -90000))"] * 3
    + ["cycle({'app': 'parking'}, field=(18000, 2000, -44000))"] * 3
    + ["cycle({'app': 'parking'}, gone=True)"],
}
