"""The drivers under the real MicroPython VM on tiny fake buses: the same readings and the
same errors as CPython (CRC failures, absent devices, overflow, resynchronisation)."""

import contextlib
import io

import pytest

pytestmark = pytest.mark.micropython

PROGRAM = """
from lorafield_node.drivers import SensorError
from lorafield_node.drivers.qmc5883l import QMC5883L
from lorafield_node.drivers.hmc5883l import HMC5883L
from lorafield_node.drivers.bme280 import BME280, Calibration
import struct
from lorafield_node.drivers.sht31 import SHT31, crc8 as scrc
from lorafield_node.drivers.ds18b20 import DS18B20, crc8 as ocrc
from lorafield_node.drivers.a02yyuw import A02YYUW
from lorafield_node.drivers.jsn_sr04t import JSNSR04T, echo_to_mm


class Clock:
    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        self.ms += 1
        return self.ms

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.ms += ms

    def sleep_us(self, us):
        pass


class I2C:
    def __init__(self, regs=None, result=None, absent=False):
        self.regs = regs
        self.result = list(result or [])
        self.absent = absent

    def writeto_mem(self, a, r, b):
        if self.absent:
            raise OSError(19)

    def readfrom_mem_into(self, a, r, buf):
        if self.absent:
            raise OSError(19)
        buf[:] = self.regs[r : r + len(buf)]

    def readfrom_mem(self, a, r, n):
        if self.absent:
            raise OSError(19)
        return bytes(self.regs[r : r + n])

    def writeto(self, a, b):
        if self.absent:
            raise OSError(19)

    def readfrom_into(self, a, buf):
        buf[:] = self.result.pop(0)


class UART:
    def __init__(self, chunks):
        self.chunks = list(chunks)

    def any(self):
        return 0

    def read(self, n=None):
        return self.chunks.pop(0) if self.chunks else None


class OW:
    def __init__(self, pads, present=True):
        self.pads = list(pads)
        self.present = present

    def reset(self, required=False):
        return self.present

    def writebyte(self, b):
        pass

    def write(self, b):
        pass

    def readbit(self):
        return 1

    def readinto(self, buf):
        buf[:] = self.pads.pop(0) if len(self.pads) > 1 else self.pads[0]


class Pin:
    def value(self, v=None):
        return 0


class Board:
    def __init__(self, widths):
        self.widths = list(widths)
        self.c = Clock()

    def clock(self):
        return self.c

    def time_pulse_us(self, pin, level, timeout):
        return self.widths.pop(0)


def attempt(label, fn):
    try:
        print(label, fn())
    except SensorError as e:
        print(label, "error", e.code, e)


def pad(raw):
    s = bytes([raw & 0xFF, (raw >> 8) & 0xFF, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10])
    return s + bytes([ocrc(s)])


def word(v):
    w = bytes([v >> 8, v & 0xFF])
    return w + bytes([scrc(w)])


def main():
    c = Clock()
    regs = bytearray(14)
    regs[0:6] = bytes([0x30, 0x08, 0xF0, 0x00, 0x60, 0xEB])  # x 2096, y 240, z -5280 LSB
    regs[6] = 0x01
    regs[13] = 0xFF
    q = QMC5883L(I2C(regs), c)
    q.init()
    attempt("qmc", q.read_nt)
    regs[6] = 0x03
    attempt("qmc-ovl", q.read_nt)
    attempt("qmc-absent", QMC5883L(I2C(absent=True), c).init)
    hregs = bytearray(13)
    hregs[3:9] = bytes([0x00, 0xC4, 0xFE, 0x20, 0x00, 0x16])  # X 196, Z -480, Y 22 LSB
    hregs[9] = 0x01
    hregs[10:13] = b"H43"
    h = HMC5883L(I2C(hregs), c)
    h.init()
    attempt("hmc", h.read_nt)
    hregs[5:7] = bytes([0xF0, 0x00])  # Z saturated (-4096)
    attempt("hmc-ovl", h.read_nt)
    hregs[10] = 0x00
    attempt("hmc-id", h.init)
    good = word(0x6666) + word(0x8000)
    bad = bytearray(good)
    bad[1] ^= 1
    attempt("sht", SHT31(I2C(result=[bytes(bad), good]), c).read)
    attempt("sht-crc", SHT31(I2C(result=[bytes(bad)] * 3), c).read)
    attempt("sht-absent", SHT31(I2C(absent=True), c).read)
    attempt("ds", DS18B20(OW([pad(0xFF5E)]), c).read)  # -10.125 degC
    broken = bytearray(pad(0x0191))
    broken[0] ^= 0x10
    attempt("ds-crc-retry", DS18B20(OW([bytes(broken), pad(0x0191)]), c).read)
    attempt("ds-crc", DS18B20(OW([bytes(broken)]), c).read)
    attempt("ds-85", DS18B20(OW([pad(0x0550), pad(0x0191)]), c).read)
    attempt("ds-absent", DS18B20(OW([pad(0)], present=False), c).read)
    frames = [b"\\x12\\xff\\x07", b"\\xd0\\xd6\\xff\\x07\\xd0\\x00\\xff\\x07\\xd1\\xd7"]
    attempt("a02", lambda: A02YYUW(UART(frames), c).read_mm(2))
    attempt("a02-silent", lambda: A02YYUW(UART([]), c).read_mm(3))
    j = JSNSR04T(Board([11662, -2, 50000, 11650]), Pin(), Pin())
    attempt("jsn", lambda: j.read_echo_us(4))
    print("mm", echo_to_mm(11662, 2000), echo_to_mm(11662, -1000), echo_to_mm(0, 0))
    ca = struct.pack(
        "<HhhHhhhhhhhh",
        27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
    )
    cb = bytes([0x6A, 0x01, 0x00, 0x13, 0x2A, 0x03, 0x1E])
    cal = Calibration(ca, 75, cb)
    t, tf = cal.temperature(519888)
    hums = [cal.humidity(h, tf) for h in range(20000, 45000, 5000)]
    print("bme", t, tf, cal.pressure(415148, tf), hums)
    bregs = bytearray(256)
    bregs[0x88:0xA0] = ca
    bregs[0xA1] = 75
    bregs[0xE1:0xE8] = cb
    bregs[0xD0] = 0x60
    bregs[0xF7:0xFF] = bytes([0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x75, 0x30])
    attempt("bme-read", BME280(I2C(bregs), c).read)
"""


def test_drivers_match_cpython(micropython):
    namespace = {}
    exec(PROGRAM, namespace)  # noqa: S102 - our own test program
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["main"]()
    want = out.getvalue()
    got = micropython.run(PROGRAM + "\nmain()\n")
    assert got == want
    lines = dict(line.split(" ", 1) for line in want.splitlines())
    assert lines["qmc"] == "(17466, 2000, -44000)"  # LSB * 25 / 3 nT
    assert lines["qmc-ovl"].startswith("error sensor")
    assert lines["qmc-absent"].startswith("error sensor")
    assert lines["hmc"] == "(17981, 2018, -44037)"  # LSB * 100000 / 1090 nT, order X Z Y
    assert lines["hmc-ovl"].startswith("error sensor HMC5883L: field out of range")
    assert lines["hmc-id"].startswith("error sensor HMC5883L: unexpected")
    assert lines["sht"] == "(2500, 500)"  # 0x6666: 25.00 degC; 0x8000: 50.0 %RH
    assert lines["sht-crc"].startswith("error sensor SHT31: CRC")
    assert lines["ds"] == "-1013"
    assert lines["ds-crc-retry"] == "2506"
    assert lines["ds-crc"].startswith("error sensor")
    assert lines["ds-85"].startswith("error sensor")  # the power-up value is not a reading
    assert lines["ds-absent"].startswith("error sensor DS18B20: no presence")
    assert lines["a02"] == "[2000, 2001]"  # resynchronised after the stray bytes
    assert lines["a02-silent"].startswith("error sensor")
    assert lines["jsn"] == "[11662, 11650]"  # timeout and no-echo left out
    assert lines["mm"] == "2002 1896 0"
    assert lines["bme"].startswith("2508 128422 100653 [")  # Bosch's worked example
    assert lines["bme-read"].startswith("(2508, ") and lines["bme-read"].endswith(", 100653)")
