"""BOARD INTERFACE: everything the firmware may touch of the hardware.

Firmware never imports `machine` or `time` outside `firmware/boards/`. It is handed one
board object per boot and builds all of its own objects from it. Real boards (ESP32,
RP2040) implement this class from `machine`; the emulated board in `lorafield_hw.board`
implements it on a virtual world. Both subclass `Board` and `Clock` below; the methods
here document the contract and raise NotImplementedError.

Duck types handed out (the subset of MicroPython's API the firmware may use):

* SPI (machine.SPI): `write(buf)`, `readinto(buf, write=0)`, `write_readinto(wbuf, rbuf)`,
  `read(n, write=0)`. Chip select is a separate Pin driven by the caller (low = selected).
* Pin (machine.Pin): `value()` -> 0/1, `value(v)`, `on()`, `off()`,
  `irq(handler=None, trigger=Pin.IRQ_RISING)`; handler(pin) runs soon after the edge, in the
  firmware's thread (like micropython.schedule), never in the middle of a Python statement.
* I2C (machine.I2C): `scan()`, `writeto(addr, buf, stop=True)` -> acks,
  `readfrom_into(addr, buf, stop=True)`, `readfrom(addr, n)`,
  `writeto_mem(addr, memaddr, buf, addrsize=8)`, `readfrom_mem_into(addr, memaddr, buf,
  addrsize=8)`, `readfrom_mem(addr, memaddr, n)`. A missing device raises
  OSError(ENODEV=19); a NACK after the address raises OSError(EIO=5).
* UART (machine.UART): `any()`, `read(n=None)` -> bytes or None, `readinto(buf)` -> count
  or None, `write(buf)`. Reads do not wait (timeout 0).
* OneWire (onewire.OneWire): `reset(required=False)` -> presence, `readbit()`,
  `readbyte()`, `readinto(buf)`, `writebit(v)`, `writebyte(v)`, `write(buf)`,
  `select_rom(rom)`, `scan()` -> list of 8-byte ROMs, `crc8(data)`; constants
  SEARCH_ROM, MATCH_ROM, SKIP_ROM.
* Block device (esp32.Partition / rp2.Flash): `readblocks(block, buf, offset)`,
  `writeblocks(block, buf, offset)` (programs only, never erases), `ioctl(op, arg)` with
  op 4 = block count, 5 = block size, 6 = erase block `arg`. NOR flash: erase sets 0xFF,
  programming only clears bits. `Board.flash_prog_size()` gives the program granularity.
* Watchdog (machine.WDT): `feed()`; once started it cannot be stopped, and a timeout
  resets the device (reset cause WDT_RESET).
"""

# Reset causes: the numbers of MicroPython's esp32 port (machine.PWRON_RESET ...); real
# boards translate their port's values to these.
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

# MicroPython's ticks wrap at a power of two (TICKS_PERIOD = 2**30 on every port), and
# ticks_diff/ticks_add are the only correct way to compare or offset them.
TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALFPERIOD = TICKS_PERIOD >> 1


class Clock:
    """Monotonic ticks and busy sleeps (the `time` module's ticks API).

    Ticks start at an arbitrary value at boot and wrap at TICKS_PERIOD; never compare two
    ticks with `<`, use ticks_diff(). Sleeping here keeps the CPU active (full current);
    use Board.lightsleep() to wait cheaply.
    """

    def ticks_ms(self):
        raise NotImplementedError

    def ticks_us(self):
        raise NotImplementedError

    def ticks_diff(self, end, start):
        """Signed end - start, correct across one wrap (|difference| < TICKS_PERIOD/2)."""
        return ((end - start + TICKS_HALFPERIOD) & TICKS_MAX) - TICKS_HALFPERIOD

    def ticks_add(self, ticks, delta):
        """ticks + delta (delta may be negative), wrapped into the ticks range."""
        return (ticks + delta) & TICKS_MAX

    def sleep_ms(self, ms):
        raise NotImplementedError

    def sleep_us(self, us):
        raise NotImplementedError


class Board:
    """One boot's view of the hardware. Subclasses fill in every method.

    A board object lives for one boot: after deepsleep() or a reset the firmware's entry
    function is called again with a fresh board, and everything not in the persistent
    store is gone.
    """

    name = "board"

    # -- radio (SX1276/RFM95 on SPI) -------------------------------------------------------
    def radio(self):
        """(spi, cs, reset, dio0): the radio's SPI bus and its chip-select, reset and DIO0
        pins. cs idles high; reset is active low (hold low >= 100 us, then wait 5 ms, SX1276
        datasheet 7.2.2); dio0 is an input whose irq() reports TxDone/RxDone/RxTimeout."""
        raise NotImplementedError

    def radio_dio1(self):
        """The radio's DIO1 pin (RxTimeout in LoRa mode, Table 18), or None where the
        board does not wire it; poll RegIrqFlags then."""
        return None

    # -- sensor buses ----------------------------------------------------------------------
    def i2c(self):
        """The sensor I2C bus (machine.I2C duck type)."""
        raise NotImplementedError

    def uart(self):
        """The sensor UART (machine.UART duck type), 9600 8N1."""
        raise NotImplementedError

    def onewire(self):
        """The one-wire bus (onewire.OneWire duck type)."""
        raise NotImplementedError

    def pin(self, name):
        """A named GPIO of the board's sensor wiring ("trigger", "echo", "led"), a Pin duck
        type; ValueError for a name this board does not wire."""
        raise NotImplementedError

    def time_pulse_us(self, pin, pulse_level, timeout_us=1000000):
        """machine.time_pulse_us: wait until `pin` reads `pulse_level`, then return how many
        us it stays there; -2 on a timeout waiting for the start, -1 during the pulse."""
        raise NotImplementedError

    def sensor_power(self, on):
        """Switch the sensor supply rail (Heltec's Vext). Boards without a switched rail
        keep sensors powered and ignore this. Sensors do not answer while unpowered."""
        raise NotImplementedError

    # -- time and power --------------------------------------------------------------------
    def clock(self):
        """The Clock of this boot (same object on every call)."""
        raise NotImplementedError

    def lightsleep(self, ms):
        """Sleep at light-sleep current for up to `ms`; RAM is kept. Returns early when a
        pin interrupt (the radio's DIO0) fires, after its handler ran."""
        raise NotImplementedError

    def deepsleep(self, ms):
        """Deep sleep for `ms`, then boot again with reset_cause() == DEEPSLEEP_RESET.
        Never returns: RAM is lost, only the persistent store survives."""
        raise NotImplementedError

    def rtc_ms(self):
        """Milliseconds of a clock that keeps counting through lightsleep() and deepsleep()
        (the RTC domain), or None where the board has none. For limits that outlive a boot
        (the duty cycle). The contract, which makes `rtc_ms() - earlier` a safe lower bound
        of the time passed when it is >= 0:

        * it never runs ahead of real time (lagging is allowed) and never backwards within
          a boot or across a deep-sleep wake;
        * after a power loss or any other reset it restarts at 0 (or keeps counting);
        * values exceed 2**30 (a long int on MicroPython): use them for differences only,
          never as ticks. The firmware never sets it.
        """
        return None

    def watchdog(self, timeout_ms):
        """Start the watchdog; returns an object with feed(). If it is not fed within
        `timeout_ms` the board resets (reset cause WDT_RESET)."""
        raise NotImplementedError

    def reset_cause(self):
        """Why this boot happened: PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET."""
        raise NotImplementedError

    # -- persistent storage ----------------------------------------------------------------
    def flash(self):
        """The block device reserved for the persistent store (>= 2 erase blocks)."""
        raise NotImplementedError

    def flash_prog_size(self):
        """Smallest aligned program unit of flash(): 1 where any byte range may be
        programmed (esp32.Partition), 256 on rp2.Flash (a flash page)."""
        return 1

    def store(self):
        """The persistent key-value store over flash(), mounted (one per boot)."""
        from lorafield_node.store import Store

        return Store(self.flash(), prog_size=self.flash_prog_size())

    # -- identity and health ---------------------------------------------------------------
    def battery_mv(self):
        """Battery voltage in millivolts (under the present load)."""
        raise NotImplementedError

    def unique_id(self):
        """bytes unique to this board (machine.unique_id(): 6 on ESP32, 8 on RP2040)."""
        raise NotImplementedError

    def random_bytes(self, n):
        """n bytes from the hardware random source (os.urandom)."""
        raise NotImplementedError
