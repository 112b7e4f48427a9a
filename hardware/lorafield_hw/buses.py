"""Emulated buses with MicroPython's API: Pin, SPI (with a CS pin), I2C, UART, OneWire.

Each bus takes `advance(us)`, the board's way to spend virtual time on the wire (a byte at
100 kHz I2C takes 90 us, a one-wire reset ~1 ms); None spends none (unit tests).

Device-side protocols (what the emulated chips implement):

* I2C device: `address`, `present()` (False when unpowered: no ACK), `i2c_write(data)` ->
  True if every byte was ACKed, `i2c_read(n)` -> bytes, or None to NACK the read header.
* UART device: `uart_receive(now_us)` -> bytes the device put on the line since the last
  call, with their arrival times (list of (t_us, byte)); `uart_write(data)`.
* One-wire device: `ow_reset()` -> presence pulse, `ow_write_bit(bit)`, `ow_read_bit()`
  (1 when it is not pulling the line low: the bus is a wired AND); optionally
  `ow_slots_timeless()` -> True when the bus may spend a byte's slot times at once (see
  OneWire._timeless).
* SPI device: `spi_select()`, `spi_exchange(data)` -> bytes clocked out while `data` is
  clocked in, `spi_deselect()`.
"""

import errno

# onewire.crc8 (Dallas/Maxim CRC-8, x^8 + x^5 + x^4 + 1 reflected; 0 over a block that ends in
# its own CRC, Maxim AN27): the firmware's one implementation, pinned to AN27's vectors by
# tests/drivers/test_drivers_emulated.py, so the emulated bus and sensors cannot drift from it.
from lorafield_node.drivers.ds18b20 import crc8

ENODEV = errno.ENODEV
EIO = errno.EIO


def _spend(advance, us):
    if advance is not None and us > 0:
        advance(us)


class Pin:
    """machine.Pin duck type. Outputs report changes to `on_change(level)`; inputs are
    driven from the hardware side with `drive(level)`, which runs the IRQ handler through
    `dispatch(handler, pin)` (the board defers it into the firmware's thread)."""

    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4  # values of the rp2 port; firmware uses the names
    IRQ_RISING = 8

    def __init__(self, name, mode=IN, value=0, on_change=None, dispatch=None):
        self.name = name
        self.mode = mode
        self._level = 1 if value else 0
        self._on_change = on_change
        self._dispatch = dispatch
        self._handler = None
        self._trigger = 0

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._level
        level = 1 if v else 0
        if self.mode == self.IN:
            return None  # writing an input does nothing on the wire
        changed = level != self._level
        self._level = level
        if changed and self._on_change is not None:
            self._on_change(level)
        return None

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_RISING | IRQ_FALLING, **_ignored):
        self._handler = handler
        self._trigger = trigger if handler is not None else 0

    def drive(self, level):
        """Hardware side: the line goes to `level`; fires the IRQ on a matching edge."""
        level = 1 if level else 0
        if level == self._level:
            return
        self._level = level
        edge = self.IRQ_RISING if level else self.IRQ_FALLING
        if self._handler is not None and self._trigger & edge:
            if self._dispatch is not None:
                self._dispatch(self._handler, self)
            else:
                self._handler(self)

    def __repr__(self):
        return f"Pin({self.name!r})"


class SPI:
    """machine.SPI duck type for one device whose chip select is a separate Pin: the
    device sees a transaction from CS falling to CS rising, as on the wire."""

    def __init__(self, device, cs, baudrate=5_000_000, advance=None):
        self.device = device
        self.baudrate = baudrate
        self._advance = advance
        self._cs_listener = cs
        self._selected = False

    def cs_changed(self, level):
        """Wire this to the CS pin's on_change."""
        if level == 0 and not self._selected:
            self._selected = True
            self.device.spi_select()
        elif level == 1 and self._selected:
            self._selected = False
            self.device.spi_deselect()

    def init(self, baudrate=None, **_ignored):
        if baudrate:
            self.baudrate = baudrate

    def deinit(self):
        pass

    def _exchange(self, data):
        _spend(self._advance, len(data) * 8 * 1_000_000 // self.baudrate)
        if not self._selected:
            return b"\xff" * len(data)  # MISO floats high with CS deasserted
        return self.device.spi_exchange(bytes(data))

    def write(self, buf):
        self._exchange(buf)

    def read(self, nbytes, write=0x00):
        return self._exchange(bytes([write]) * nbytes)

    def readinto(self, buf, write=0x00):
        buf[:] = self._exchange(bytes([write]) * len(buf))

    def write_readinto(self, write_buf, read_buf):
        read_buf[:] = self._exchange(write_buf)


class I2C:
    """machine.I2C duck type (controller) with devices at fixed addresses."""

    def __init__(self, devices=(), freq=100_000, advance=None):
        self.freq = freq
        self._advance = advance
        self.devices = {}
        for device in devices:
            self.attach(device)

    def attach(self, device):
        self.devices[device.address] = device

    def _bytes_time(self, n):
        # start + address byte + n bytes, 9 clocks each (8 data + ACK)
        advance = self._advance
        if advance is not None:
            us = (n + 1) * 9_000_000 // self.freq
            if us > 0:
                advance(us)

    def _device(self, addr):
        device = self.devices.get(addr)
        if device is None or not device.present():
            self._bytes_time(0)
            raise OSError(ENODEV)
        return device

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            device = self.devices.get(addr)
            if device is not None and device.present():
                found.append(addr)
        self._bytes_time(0x70)
        return found

    # The transfers below inline _device and _bytes_time (they run per register access);
    # the order of the address check, the bus time and the device call is unchanged.
    def writeto(self, addr, buf, stop=True):
        device = self.devices.get(addr)
        if device is None or not device.present():
            self._bytes_time(0)
            raise OSError(ENODEV)
        n = len(buf)
        advance = self._advance
        if advance is not None:
            us = (n + 1) * 9_000_000 // self.freq
            if us > 0:
                advance(us)
        if not device.i2c_write(bytes(buf)):
            raise OSError(EIO)
        return n + 1

    def readfrom_into(self, addr, buf, stop=True):
        device = self.devices.get(addr)
        if device is None or not device.present():
            self._bytes_time(0)
            raise OSError(ENODEV)
        advance = self._advance
        stretch = getattr(device, "i2c_stretch_us", None)
        if stretch is not None:
            us = stretch()  # the device holds SCL low
            if advance is not None and us > 0:
                advance(us)
        n = len(buf)
        data = device.i2c_read(n)
        if data is None:
            self._bytes_time(0)
            raise OSError(ENODEV)  # read header NACKed (e.g. SHT31 still measuring)
        if advance is not None:
            us = (n + 1) * 9_000_000 // self.freq
            if us > 0:
                advance(us)
        buf[:] = data

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self.writeto(addr, memaddr.to_bytes(addrsize // 8, "big") + bytes(buf))

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self.writeto(addr, memaddr.to_bytes(addrsize // 8, "big"), False)
        self.readfrom_into(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize)
        return bytes(buf)


class UART:
    """machine.UART duck type, receive side buffered like the port's RX ring buffer:
    bytes arriving while it is full are dropped (counted in `overruns`)."""

    def __init__(self, device=None, baudrate=9600, rxbuf=256, clock=None, advance=None):
        self.device = device
        self.baudrate = baudrate
        self.rxbuf = rxbuf
        self.overruns = 0
        self._clock = clock  # callable -> now_us
        self._advance = advance
        self._buffer = bytearray()

    def init(self, baudrate=None, **_ignored):
        if baudrate:
            self.baudrate = baudrate

    def deinit(self):
        self.device = None

    def _catch_up(self):
        if self.device is None or self._clock is None:
            return
        for _, byte in self.device.uart_receive(self._clock()):
            if len(self._buffer) < self.rxbuf:
                self._buffer.append(byte)
            else:
                self.overruns += 1

    def any(self):
        self._catch_up()
        return len(self._buffer)

    def read(self, nbytes=None):
        self._catch_up()
        if not self._buffer:
            return None
        n = len(self._buffer) if nbytes is None else min(nbytes, len(self._buffer))
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def readinto(self, buf, nbytes=None):
        data = self.read(len(buf) if nbytes is None else nbytes)
        if data is None:
            return None
        buf[: len(data)] = data
        return len(data)

    def write(self, buf):
        _spend(self._advance, len(buf) * 10 * 1_000_000 // self.baudrate)
        if self.device is not None:
            self.device.uart_write(bytes(buf))
        return len(buf)


class OneWireError(Exception):
    """No presence pulse where one was required (onewire.OneWireError)."""


class OneWire:
    """onewire.OneWire duck type on a bit-level wired-AND bus; bytes go LSB first."""

    SEARCH_ROM = 0xF0
    MATCH_ROM = 0x55
    SKIP_ROM = 0xCC

    # Standard-speed slot timings (Maxim AN126): reset 480 us low + 480 us, slot ~70 us.
    RESET_US = 960
    SLOT_US = 70

    def __init__(self, devices=(), advance=None):
        self.devices = list(devices)
        self._advance = advance

    def attach(self, device):
        self.devices.append(device)

    def reset(self, required=False):
        _spend(self._advance, self.RESET_US)
        presence = False
        for device in self.devices:
            if device.ow_reset():
                presence = True
        if required and not presence:
            raise OneWireError("no presence pulse")
        return presence

    def readbit(self):
        _spend(self._advance, self.SLOT_US)
        level = 1
        for device in self.devices:
            level &= device.ow_read_bit()
        return level

    def _timeless(self):
        """True when every device declares (`ow_slots_timeless()`) that neither its answers
        to the coming read slots nor the bits written before a byte completes depend on the
        slots' times. A byte's slots then spend their bus time at once (a board call per
        bit is most of a scratchpad read's cost); what each device sees is unchanged."""
        for device in self.devices:
            timeless = getattr(device, "ow_slots_timeless", None)
            if timeless is None or not timeless():
                return False
        return True

    def _readbits(self, count):
        """`count` read slots, LSB first, one slot of bus time each."""
        advance, slot, devices = self._advance, self.SLOT_US, self.devices
        batch = count > 0 and advance is not None and slot > 0 and self._timeless()
        if batch:
            advance(slot * count)
        value = 0
        for bit in range(count):
            if not batch and advance is not None and slot > 0:
                advance(slot)
            level = 1
            for device in devices:
                level &= device.ow_read_bit()
            value |= level << bit
        return value

    def writebit(self, value):
        _spend(self._advance, self.SLOT_US)
        for device in self.devices:
            device.ow_write_bit(1 if value else 0)

    def readbyte(self):
        return self._readbits(8)

    def writebyte(self, value):
        advance, slot, devices = self._advance, self.SLOT_US, self.devices
        # Batched, the byte still completes (when a device acts on it) after its 8th slot.
        batch = advance is not None and slot > 0 and self._timeless()
        if batch:
            advance(slot * 8)
        for bit in range(8):
            if not batch and advance is not None and slot > 0:
                advance(slot)
            level = (value >> bit) & 1
            for device in devices:
                device.ow_write_bit(level)

    def readinto(self, buf):
        n = len(buf)
        buf[:] = self._readbits(8 * n).to_bytes(n, "little")  # bits LSB first, bytes in order

    def write(self, buf):
        for byte in buf:
            self.writebyte(byte)

    def select_rom(self, rom):
        self.reset()
        self.writebyte(self.MATCH_ROM)
        self.write(rom)

    def crc8(self, data):
        return crc8(data)

    def scan(self):
        """Every ROM on the bus, by the ROM search of Maxim application note 187."""
        roms = []
        last = None
        discrepancy = 65
        for _ in range(0xFF):
            rom, discrepancy = self._search(last, discrepancy)
            if rom:
                roms.append(rom)
                last = rom
            if discrepancy == 0:
                break
        return roms

    def _search(self, last, last_discrepancy):
        if not self.reset():
            return None, 0
        self.writebyte(self.SEARCH_ROM)
        last = last or bytearray(8)
        rom = bytearray(8)
        next_discrepancy = 0
        position = 64
        for byte in range(8):
            value = 0
            for bit in range(8):
                b = self.readbit()
                complement = self.readbit()
                if complement:
                    if b:  # nobody answered
                        return None, 0
                elif not b:  # devices disagree on this bit
                    took_one = last[byte] & (1 << bit)
                    if last_discrepancy > position or (took_one and last_discrepancy != position):
                        b = 1
                        next_discrepancy = position
                self.writebit(b)
                if b:
                    value |= 1 << bit
                position -= 1
            rom[byte] = value
        return rom, next_discrepancy
