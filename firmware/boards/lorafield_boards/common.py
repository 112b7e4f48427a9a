"""What the ESP32 and RP2040 boards share: machine's clock, buses and pins from the pin map,
a file-backed store device, and TPL5110 power gating."""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import os
import struct
import time

import machine
from lorafield_node import board as contract

_BLOCK = const(4096)
_SPI_HZ = const(5_000_000)  # SX1276 SCK up to 10 MHz (datasheet 2.6.4)


class MachineClock(contract.Clock):
    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_us(self):
        return time.ticks_us()

    def ticks_diff(self, end, start):
        return time.ticks_diff(end, start)

    def ticks_add(self, ticks, delta):
        return time.ticks_add(ticks, delta)

    def sleep_ms(self, ms):
        time.sleep_ms(ms)

    def sleep_us(self, us):
        time.sleep_us(us)


class FileFlash:
    """A NOR-like block device in a file of the board's LittleFS filesystem: erase writes
    0xFF, programming ANDs (only clears bits), as the store expects. LittleFS commits each
    write copy-on-write, so a power cut keeps the old or the new bytes of a block."""

    def __init__(self, path="/lorafield.store", blocks=4):
        self.path = path
        self.blocks = blocks
        try:
            size = os.stat(path)[6]
        except OSError:
            size = -1
        if size != blocks * _BLOCK:
            with open(path, "wb") as f:
                for _ in range(blocks):
                    f.write(b"\xff" * _BLOCK)

    def readblocks(self, block, buf, offset=0):
        with open(self.path, "rb") as f:
            f.seek(block * _BLOCK + offset)
            f.readinto(buf)

    def writeblocks(self, block, buf, offset=0):
        old = bytearray(len(buf))
        self.readblocks(block, old, offset)
        for i in range(len(buf)):
            old[i] &= buf[i]
        with open(self.path, "r+b") as f:
            f.seek(block * _BLOCK + offset)
            f.write(old)

    def ioctl(self, op, arg=0):
        if op == 4:
            return self.blocks
        if op == 5:
            return _BLOCK
        if op == 6:
            with open(self.path, "r+b") as f:
                f.seek(arg * _BLOCK)
                f.write(b"\xff" * _BLOCK)
            return 0
        return None


class Watchdog:
    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self):
        self._wdt.feed()


class MachineBoard(contract.Board):
    """The parts of the interface that are the same on both ports (subclasses: deep sleep,
    reset cause, flash, battery, watchdog limits)."""

    GATED_PATH = "/lorafield.gated"
    STORE_PATH = "/lorafield.store"

    def __init__(self, key, options=None):
        from lorafield_node.pinmaps import PINS  # not kept: make_board unloads the table

        self.name = key
        self.pins = PINS[key]
        self.options = options or {}
        self._clock = MachineClock()
        self._radio = None
        self._i2c = self._uart = self._onewire = None
        self._named = {}
        self._store = None
        tpl = self.options.get("tpl5110")
        self._done = None
        self.tpl_period_ms = 0
        self._rtc_init(0, True)  # a port restores its base after a deep-sleep or gated wake
        if tpl:
            # TPL5110 DONE: low while running; a rising edge makes the timer cut the power
            # until its next period (TI TPL5110 datasheet, 7.3.3).
            self._done = machine.Pin(tpl["done"], machine.Pin.OUT, value=0)
            self.tpl_period_ms = tpl["period_s"] * 1000

    # -- radio -----------------------------------------------------------------------------
    def radio(self):
        if self._radio is None:
            s = self.pins["spi"]
            lora = self.pins["lora"]
            spi = machine.SPI(
                s["id"],
                baudrate=_SPI_HZ,
                polarity=0,
                phase=0,
                sck=machine.Pin(s["sck"]),
                mosi=machine.Pin(s["mosi"]),
                miso=machine.Pin(s["miso"]),
            )
            cs = machine.Pin(lora["cs"], machine.Pin.OUT, value=1)
            reset = machine.Pin(lora["reset"], machine.Pin.OUT, value=1)
            dio0 = machine.Pin(lora["dio0"], machine.Pin.IN)
            self._radio = (spi, cs, reset, dio0)
        return self._radio

    def radio_dio1(self):  # pyright: ignore[reportIncompatibleMethodOverride] (base: None)
        pin = self.pins["lora"].get("dio1")
        return machine.Pin(pin, machine.Pin.IN) if pin is not None else None

    # -- sensor buses ----------------------------------------------------------------------
    def i2c(self):
        if self._i2c is None:
            p = self.pins["i2c"]
            self._i2c = machine.I2C(
                p["id"], scl=machine.Pin(p["scl"]), sda=machine.Pin(p["sda"]), freq=100_000
            )
        return self._i2c

    def uart(self):
        if self._uart is None:
            p = self.pins["uart"]
            self._uart = machine.UART(
                p["id"], baudrate=9600, tx=machine.Pin(p["tx"]), rx=machine.Pin(p["rx"]), timeout=0
            )
        return self._uart

    def onewire(self):
        if self._onewire is None:
            import onewire

            self._onewire = onewire.OneWire(machine.Pin(self.pins["onewire"]))
        return self._onewire

    def pin(self, name):
        if name not in self._named:
            number = self.pins.get(name)
            if not isinstance(number, int):
                raise ValueError("%s wires no pin %r" % (self.name, name))
            mode = machine.Pin.IN if name == "echo" else machine.Pin.OUT
            self._named[name] = machine.Pin(number, mode)
        return self._named[name]

    def time_pulse_us(self, pin, pulse_level, timeout_us=1000000):
        return machine.time_pulse_us(pin, pulse_level, timeout_us)

    def sensor_power(self, on):
        vext = self.pins.get("vext")
        if vext:
            level = (0 if on else 1) if vext["active_low"] else (1 if on else 0)
            machine.Pin(vext["pin"], machine.Pin.OUT, value=level)

    # -- time and power --------------------------------------------------------------------
    def clock(self):
        return self._clock

    def lightsleep(self, ms):
        if ms > 0:
            machine.lightsleep(int(ms))
            self.rtc_ms()  # ticks run through light sleep; fold them in well before a wrap

    # -- sleep-surviving clock (lorafield_node.board.Board.rtc_ms) -------------------------
    # This boot's ticks counted onto a base the port restores at a deep-sleep wake (esp32:
    # RTC memory; rp2: watchdog scratch registers) or a TPL5110 wake (the marker file); 0
    # after a power-on. Boot time is not counted, so it lags real time, never leads it.
    def _rtc_init(self, base, power_on):
        self._rtc = base
        self._rtc_ticks = time.ticks_ms()
        self._rtc_origin = base if power_on else -1  # rtc at this power-on: the TPL's phase

    def rtc_ms(self):
        now = time.ticks_ms()
        self._rtc += time.ticks_diff(now, self._rtc_ticks)
        self._rtc_ticks = now
        return self._rtc

    def _rtc_after_gate(self):
        """A lower bound of rtc_ms() at the TPL5110's next power-on. Its timer repeats every
        period from this boot's power-on (TI TPL5110 datasheet 7.3.3; period within 1 %, 2 %
        assumed, and 1 s for boot-time jitter); after an MCU deep-sleep wake that phase is
        unknown and the time off counts as nothing."""
        now = self.rtc_ms()
        p = self.tpl_period_ms
        if self._rtc_origin < 0 or p <= 0:
            return now
        k = (now - self._rtc_origin) * 50 // (51 * p) + 1  # periods started, at 1.02 x P
        bound = self._rtc_origin + k * p * 49 // 50 - 1000  # ... each at least 0.98 x P
        return bound if bound > now else now

    def planned_sleep_ms(self, ms):
        """How long deepsleep(ms) will really last: when the TPL5110 gates, until its next
        period starts (it counts from its own power-on, not from this sleep)."""
        p = self.tpl_period_ms
        if self._done is None or ms < p:
            return ms
        if self._rtc_origin < 0:
            return p  # after an MCU deep-sleep wake the timer's phase is unknown
        return p - (self.rtc_ms() - self._rtc_origin) % p

    def _gate_off(self, ms):
        """Ask the TPL5110 to cut the power (never returns if it does) for sleeps of at
        least its period. A shorter one (alarm sampling) is the MCU's own deep sleep, but
        the marker is left all the same: a period that ends without DONE power-cycles the
        board (the timer's watchdog), and that power-on is then this sleep's wake."""
        if self._done is None:
            return
        self._mark_gated()
        if ms < self.tpl_period_ms:
            return
        self._done.value(1)
        time.sleep_ms(100)  # still running: no TPL5110 fitted, or powered over USB
        self._done.value(0)

    def _mark_gated(self):
        """Remember that the next power-on is the TPL5110's timed wake (a file, since
        nothing else survives the power cut), with rtc_ms() to resume from."""
        with open(self.GATED_PATH, "wb") as f:
            f.write(struct.pack("<Q", self._rtc_after_gate()))

    def _gate_wake(self, cause):
        """The reset cause, a power-on that finds the marker read as the TPL5110's timed
        wake (DEEPSLEEP_RESET). Every boot removes the marker: after any other boot it is
        stale (the MCU woke from its own deep sleep before the timer's period ended)."""
        try:
            with open(self.GATED_PATH, "rb") as f:
                raw = f.read()
            os.remove(self.GATED_PATH)
        except OSError:
            return cause
        if cause != contract.PWRON_RESET:
            return cause
        if len(raw) == 8:
            self._rtc_init(struct.unpack("<Q", raw)[0], True)
        return contract.DEEPSLEEP_RESET

    # -- storage and identity --------------------------------------------------------------
    def flash(self):
        return FileFlash(self.STORE_PATH)

    def store(self):
        if self._store is None:
            from lorafield_node.store import Store

            self._store = Store(self.flash(), prog_size=self.flash_prog_size())
        return self._store

    def unique_id(self):
        return machine.unique_id()

    def random_bytes(self, n):
        return os.urandom(n)
