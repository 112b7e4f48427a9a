"""`Rfm95.open_blinka` -- the Raspberry Pi path -- with stand-in `board`, `busio` and
`digitalio` modules wired to an emulated SX1276: the lazy imports, the pin names from the
config and the driver's reset all happen as on the Pi."""

import sys
import types

import adafruit_rfm9x
from lorafield_gateway.clock import VirtualClock
from lorafield_gateway.config import RadioSection
from lorafield_gateway.radio import Rfm95
from lorafield_hw import sx1276_registers as r
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.radio_bus import CircuitPythonPin, CircuitPythonSPI
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sx1276 import SX1276


def test_open_blinka_uses_the_configured_pins(monkeypatch):
    scheduler = Scheduler(1)
    chip = SX1276(scheduler, Air(scheduler, PathLoss(seed=1)), name="gateway")
    opened = []
    board = types.SimpleNamespace(
        SCK="SCK", MOSI="MOSI", MISO="MISO", CE0="CE0", CE1="CE1", D25="D25", D17="D17"
    )

    def spi(clock, MOSI=None, MISO=None):  # noqa: N803 - busio.SPI's keyword names
        opened.append(("spi", clock, MOSI, MISO))
        return CircuitPythonSPI(chip)

    def pin(name):
        opened.append(("pin", name))
        wires = {"CE0": chip.set_chip_select, "D17": chip.set_reset}
        return CircuitPythonPin(wires.get(name, lambda level: None))

    monkeypatch.setitem(sys.modules, "board", board)
    monkeypatch.setitem(sys.modules, "busio", types.SimpleNamespace(SPI=spi))
    monkeypatch.setitem(sys.modules, "digitalio", types.SimpleNamespace(DigitalInOut=pin))
    monkeypatch.setattr(adafruit_rfm9x, "time", scheduler.time_module())
    cfg = RadioSection(spi_cs_pin="CE0", spi_reset_pin="D17", sf=8, frequency_hz=868_300_000)
    radio = Rfm95.open_blinka(cfg, VirtualClock(scheduler))
    assert opened == [("spi", "SCK", "MOSI", "MISO"), ("pin", "CE0"), ("pin", "D17")]
    assert chip.spreading_factor == 8 and chip.sync_word == 0x34
    assert abs(chip.frequency_hz - 868_300_000) < 62
    assert chip.mode == r.MODE_RX_CONTINUOUS and radio.poll_rx() is None
