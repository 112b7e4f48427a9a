"""Duck-typed SPI buses and pins that wire drivers to an emulated `SX1276`.

* CircuitPython style (`busio.SPI`, `digitalio.DigitalInOut`), as `adafruit_rfm9x` and
  `adafruit_bus_device.spi_device.SPIDevice` use them: `CircuitPythonSPI`, `CircuitPythonPin`.
  `rfm9x_wiring(chip)` returns the (spi, cs, reset) triple the RFM9x constructor takes.
* MicroPython style (`machine.SPI`, `machine.Pin`): `MachineSPI`, `InputLine`, for the
  emulated boards. The chip's outputs (DIO0, DIO1) are `lorafield_hw.sx1276.Dio` pins.
"""

_FILLS = {}  # (write byte, length) -> the bytes clocked out by a read of that length


def _fill(write, nbytes):
    data = _FILLS.get((write, nbytes))
    if data is None:
        data = bytes((write,)) * nbytes
        if nbytes <= 256:  # a bounded cache: register reads and FIFO bursts
            _FILLS[(write, nbytes)] = data
    return data


class CircuitPythonSPI:
    """busio.SPI: lock, configure, write/readinto/write_readinto with start/end slices."""

    def __init__(self, chip):
        self.chip = chip
        self._locked = False
        self.baudrate = chip.spi_hz

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def configure(self, *, baudrate=100_000, polarity=0, phase=0, bits=8):
        if bits != 8:
            raise ValueError("the SX1276 SPI uses 8-bit words")
        self.baudrate = baudrate
        self.chip.spi_hz = baudrate

    def write(self, buffer, *, start=0, end=None):
        self.chip.transfer(bytes(buffer[start:end]))

    def readinto(self, buffer, *, start=0, end=None, write_value=0):
        end = len(buffer) if end is None else end
        buffer[start:end] = self.chip.transfer(bytes((write_value,)) * (end - start))

    def write_readinto(
        self, out_buffer, in_buffer, *, out_start=0, out_end=None, in_start=0, in_end=None
    ):
        out_end = len(out_buffer) if out_end is None else out_end
        in_end = len(in_buffer) if in_end is None else in_end
        if out_end - out_start != in_end - in_start:
            raise ValueError("buffer slices must be of equal length")
        in_buffer[in_start:in_end] = self.chip.transfer(bytes(out_buffer[out_start:out_end]))

    def deinit(self):
        pass


class CircuitPythonPin:
    """digitalio.DigitalInOut driving a chip input (NSS or NRESET) through `on_change`."""

    def __init__(self, on_change, value=True):
        self._on_change = on_change
        self._value = bool(value)
        self.direction = None

    def switch_to_output(self, value=False, drive_mode=None):
        self.direction = "output"
        self.value = value

    def switch_to_input(self, pull=None):
        self.direction = "input"

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, level):
        self._value = bool(level)
        self._on_change(self._value)

    def deinit(self):
        pass


def rfm9x_wiring(chip):
    """(spi, cs, reset) for `adafruit_rfm9x.RFM9x(spi, cs, reset, frequency)`."""
    return (
        CircuitPythonSPI(chip),
        CircuitPythonPin(chip.set_chip_select),
        CircuitPythonPin(chip.set_reset),
    )


class InputLine:
    """machine.Pin driving a chip input: `value(v)`, `on()`, `off()`, calling `on_change`."""

    OUT = 1
    IN = 0

    def __init__(self, on_change, value=1):
        self._on_change = on_change
        self._value = 1 if value else 0

    def init(self, mode=None, pull=None, *, value=None):
        if value is not None:
            self.value(value)

    def value(self, level=None):
        if level is None:
            return self._value
        if level:
            self._value = 1
            self._on_change(True)
        else:
            self._value = 0
            self._on_change(False)
        return None

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class MachineSPI:
    """machine.SPI over the chip; chip select is a separate pin (`chip_select_line`)."""

    def __init__(self, chip, baudrate=5_000_000):
        self.chip = chip
        chip.spi_hz = baudrate

    def init(self, baudrate=None, **_settings):
        if baudrate is not None:
            self.chip.spi_hz = baudrate

    # The chip only reads `buffer` during the call (it keeps no reference), so it gets the
    # caller's buffer rather than a copy; the fill bytes of a read are built once.
    def write(self, buffer):
        self.chip.transfer(buffer)

    def read(self, nbytes, write=0x00):
        return self.chip.transfer(_fill(write, nbytes))

    def readinto(self, buffer, write=0x00):
        buffer[:] = self.chip.transfer(_fill(write, len(buffer)))

    def write_readinto(self, write_buffer, read_buffer):
        read_buffer[:] = self.chip.transfer(write_buffer)

    def deinit(self):
        pass


class _ChipSelectLine(InputLine):
    """NSS: low selects the chip, high ends the transaction (chip.set_chip_select's two
    branches, called directly: the line toggles twice per register access)."""

    def __init__(self, chip):
        super().__init__(chip.set_chip_select)
        self._select = chip.select
        self._deselect = chip.deselect

    def value(self, level=None):
        if level is None:
            return self._value
        if level:
            self._value = 1
            self._deselect()
        else:
            self._value = 0
            self._select()
        return None

    __call__ = value


def chip_select_line(chip):
    return _ChipSelectLine(chip)


def reset_line(chip):
    return InputLine(chip.set_reset)
