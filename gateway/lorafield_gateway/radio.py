"""The single-channel radio: an RFM95 (SX1276) through the real `adafruit_rfm9x` driver.

The driver configures frequency, SF, bandwidth, coding rate, preamble, CRC and power. Its
packet API assumes RadioHead (a 4-byte header added on send, checked and stripped on
receive), which LoRaWAN frames do not have, so frames go in and out of the FIFO through
the driver's own register access (`_read_u8`, `_write_u8`, `_read_into`, `_write_from`),
and the LoRaWAN settings it lacks are written the same way: sync word 0x34 (RegSyncWord,
LoRaWAN public network), IQ polarity (RegInvertIQ 0x33 / RegInvertIQ2 0x3B: normal for
uplinks, inverted for downlinks, LoRaWAN 1.0.4 section 4 / Semtech AN1200.23), LowDataRate-
Optimize when a symbol exceeds 16 ms (datasheet 4.1.1.6).

On a Pi the SPI bus and pins come from Blinka (`board`, `busio`, `digitalio`, imported
only there); in tests the same class runs on the emulated SX1276 via
`lorafield_hw.radio_bus.rfm9x_wiring`. `ReplayRadio` feeds frames from a JSON-lines file
(tests, demos) through the same loop.
"""

import contextlib
import json
import os
from dataclasses import dataclass, field

# Register addresses and bits (SX1276 datasheet rev. 7, Table 41 / section 6.4).
REG_FIFO = 0x00
REG_OP_MODE = 0x01
REG_FIFO_ADDR_PTR = 0x0D
REG_FIFO_TX_BASE_ADDR = 0x0E
REG_FIFO_RX_CURRENT_ADDR = 0x10
REG_IRQ_FLAGS = 0x12
REG_RX_NB_BYTES = 0x13
REG_PKT_SNR_VALUE = 0x19
REG_PKT_RSSI_VALUE = 0x1A
REG_HOP_CHANNEL = 0x1C
REG_MODEM_CONFIG2 = 0x1E
REG_PA_CONFIG = 0x09
REG_OCP = 0x0B
REG_PAYLOAD_LENGTH = 0x22
REG_INVERT_IQ = 0x33
REG_SYNC_WORD = 0x39
REG_INVERT_IQ2 = 0x3B
REG_DIO_MAPPING1 = 0x40
REG_PA_DAC = 0x4D

PA_SELECT_BOOST = 0x80  # RFM95 modules wire only the PA_BOOST pin
PA_DAC_DEFAULT = 0x84
PA_DAC_20DBM = 0x87
# RegOcp (5.4.4): OcpOn | OcpTrim; Imax = 45 + 5 * trim (trim <= 15), -30 + 10 * trim above.
OCP_DEFAULT = 0x2B  # 100 mA (reset value)
OCP_150MA = 0x32  # trim 18
MIN_POWER_DBM = 2
MAX_POWER_DBM = 20

MODE_STDBY = 0x01
MODE_TX = 0x03
MODE_RX_CONTINUOUS = 0x05
LONG_RANGE_MODE = 0x80

IRQ_RX_DONE = 0x40
IRQ_PAYLOAD_CRC_ERROR = 0x20
IRQ_TX_DONE = 0x08
CRC_ON_PAYLOAD = 0x40  # RegHopChannel: the received header announced a payload CRC
RX_PAYLOAD_CRC_ON = 0x04  # RegModemConfig2

LORAWAN_SYNC_WORD = 0x34
# RegInvertIQ: bit 6 inverts RX, bit 0 *clear* inverts TX; the other bits keep the reset
# value 0x27. RegInvertIQ2 must be 0x19 with inverted IQ and 0x1D otherwise.
INVERT_IQ_NORMAL = 0x27
INVERT_IQ_TX_INVERTED = 0x26
INVERT_IQ2_ON = 0x19
INVERT_IQ2_OFF = 0x1D

MAX_INTERPOLATION_US = 2_000  # longer gaps between polls: stamp at the poll that saw RxDone
RSSI_OFFSET_HF = -157  # datasheet 5.5.5, RF_HF port (> 525 MHz)


class RadioError(RuntimeError):
    """The radio could not be opened (one line; the service exits and systemd retries)."""


@dataclass(frozen=True)
class RxFrame:
    """A frame as the radio received it; `tmst_us` is the low 32 bits of `monotonic_us`,
    taken when RxDone was seen ("RX finished", as the Semtech `tmst`)."""

    payload: bytes
    monotonic_us: int
    wall_us: int
    frequency_hz: int
    sf: int
    bw_hz: int
    coding_rate: int
    rssi_dbm: int
    snr_db: float
    crc: str  # "ok", "bad" or "none" (the header announced no CRC)
    source_meta: dict = field(default_factory=dict)  # committed with the frame (replay offset)

    @property
    def tmst_us(self):
        return self.monotonic_us & 0xFFFFFFFF


@dataclass
class TxRequest:
    """One downlink to transmit: at `tmst` on the gateway counter, or `immediate`."""

    phy: bytes
    frequency_hz: int
    sf: int
    bw_hz: int = 125_000
    coding_rate: int = 5
    power_dbm: int = 14
    tmst: int | None = None
    immediate: bool = False
    ipol: bool = True
    crc: bool = False
    preamble: int = 8
    tag: object = None  # who asked (for logs and acks)
    # Filled in by the scheduler.
    target_us: int = 0
    airtime_us: int = 0
    started_us: int | None = None
    result: str | None = None


def symbol_us(sf, bw_hz):
    return (1 << sf) * 1_000_000 / bw_hz


def time_on_air_us(length, sf, bw_hz, coding_rate=5, preamble=8, crc=True, header=True):
    """Semtech LoRa time on air (SX1276 datasheet 4.1.1.7), explicit header by default."""
    ts = symbol_us(sf, bw_hz)
    ldro = 1 if ts > 16_000 else 0
    numerator = 8 * length - 4 * sf + 28 + (16 if crc else 0) - (0 if header else 20)
    symbols = 8 + max(-(-numerator // (4 * (sf - 2 * ldro))) * coding_rate, 0)
    return round((preamble + 4.25 + symbols) * ts)


class Rfm95:
    """LoRaWAN receive/transmit on an `adafruit_rfm9x.RFM9x` instance."""

    def __init__(self, rfm, *, frequency_hz, sf, bw_hz, coding_rate=5, preamble=8, clock):
        self.rfm = rfm
        self.clock = clock
        self.rx_settings = (frequency_hz, sf, bw_hz, coding_rate, preamble)
        self._last_poll_us = None
        self.configure_rx()

    @classmethod
    def open_blinka(cls, config, clock):
        """On the Pi: SPI0 with the chip select and reset pins named in the config. Any
        failure (no Blinka, not a Pi, SPI disabled, no chip answering) is one RadioError."""
        try:
            import adafruit_rfm9x
            import board
            import busio
            import digitalio

            spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
            cs = digitalio.DigitalInOut(getattr(board, config.spi_cs_pin))
            reset = digitalio.DigitalInOut(getattr(board, config.spi_reset_pin))
            rfm = adafruit_rfm9x.RFM9x(spi, cs, reset, config.frequency_hz / 1e6)
        except (
            ImportError,
            AttributeError,
            NotImplementedError,
            RuntimeError,
            OSError,
            ValueError,
        ) as exc:
            raise RadioError(
                f"no RFM95 through Blinka ({type(exc).__name__}: {exc}); on a Pi enable SPI, "
                "install lorafield[gateway] and check radio.spi_cs_pin / radio.spi_reset_pin"
            ) from None
        return cls.from_config(rfm, config, clock)

    @classmethod
    def open_emulated(cls, chip, config, clock, time_module):
        """On an emulated SX1276: the driver's constructor sleeps (reset, mode change), so
        its `time` is the emulation's clock while it runs."""
        import adafruit_rfm9x
        from lorafield_hw.radio_bus import rfm9x_wiring

        with _driver_time(adafruit_rfm9x, time_module):
            rfm = adafruit_rfm9x.RFM9x(*rfm9x_wiring(chip), config.frequency_hz / 1e6)
        return cls.from_config(rfm, config, clock)

    @classmethod
    def from_config(cls, rfm, config, clock):
        return cls(
            rfm,
            frequency_hz=config.frequency_hz,
            sf=config.sf,
            bw_hz=config.bw_hz,
            coding_rate=config.coding_rate,
            preamble=config.preamble,
            clock=clock,
        )

    # -- settings --------------------------------------------------------------------------
    def _modem(self, frequency_hz, sf, bw_hz, coding_rate, preamble, crc, tx_inverted):
        rfm = self.rfm
        rfm.idle()
        rfm.frequency_mhz = frequency_hz / 1e6
        rfm.signal_bandwidth = bw_hz
        rfm.spreading_factor = sf
        rfm.coding_rate = coding_rate
        rfm.preamble_length = preamble
        rfm.enable_crc = crc
        rfm.low_datarate_optimize = 1 if symbol_us(sf, bw_hz) > 16_000 else 0
        rfm.auto_agc = True
        rfm._write_u8(REG_SYNC_WORD, LORAWAN_SYNC_WORD)
        rfm._write_u8(REG_INVERT_IQ, INVERT_IQ_TX_INVERTED if tx_inverted else INVERT_IQ_NORMAL)
        rfm._write_u8(REG_INVERT_IQ2, INVERT_IQ2_ON if tx_inverted else INVERT_IQ2_OFF)

    def configure_rx(self):
        """Uplink settings (normal IQ, CRC on) and RX continuous, DIO0 = RxDone."""
        frequency_hz, sf, bw_hz, coding_rate, preamble = self.rx_settings
        self._modem(frequency_hz, sf, bw_hz, coding_rate, preamble, True, False)
        self.rfm._write_u8(REG_IRQ_FLAGS, 0xFF)
        self.rfm.listen()
        self._last_poll_us = self.clock.now_us()  # no RxDone can predate listening

    # -- receive ---------------------------------------------------------------------------
    def poll_rx(self):
        """The frame waiting in the FIFO, if RxDone is set; None otherwise.

        RxDone is polled, so it rose somewhere between the previous poll and this one: when
        that interval is short (the loop was only polling) the timestamp is its midpoint,
        which halves the worst-case `tmst` error to half a poll period."""
        rfm = self.rfm
        now = self.clock.now_us()
        previous, self._last_poll_us = self._last_poll_us, now
        flags = rfm._read_u8(REG_IRQ_FLAGS)
        if not flags & IRQ_RX_DONE:
            return None
        if previous is not None and now - previous <= MAX_INTERPOLATION_US:
            now -= (now - previous) // 2
        wall = self.clock.wall_us() - (self.clock.now_us() - now)
        length = rfm._read_u8(REG_RX_NB_BYTES)
        rfm._write_u8(REG_FIFO_ADDR_PTR, rfm._read_u8(REG_FIFO_RX_CURRENT_ADDR))
        payload = bytearray(length)
        if length:
            rfm._read_into(REG_FIFO, payload)
        snr_raw = rfm._read_u8(REG_PKT_SNR_VALUE)
        snr = (snr_raw - 256 if snr_raw > 127 else snr_raw) / 4
        rssi = RSSI_OFFSET_HF + rfm._read_u8(REG_PKT_RSSI_VALUE)
        if snr < 0:
            rssi += snr  # 5.5.5: below the noise floor the register holds signal + noise
        crc_present = rfm._read_u8(REG_HOP_CHANNEL) & CRC_ON_PAYLOAD
        crc = ("bad" if flags & IRQ_PAYLOAD_CRC_ERROR else "ok") if crc_present else "none"
        rfm._write_u8(REG_IRQ_FLAGS, 0xFF)
        frequency_hz, sf, bw_hz, coding_rate, _ = self.rx_settings
        return RxFrame(
            bytes(payload),
            now,
            wall,
            frequency_hz,
            sf,
            bw_hz,
            coding_rate,
            round(rssi),
            snr,
            crc,
        )

    # -- transmit --------------------------------------------------------------------------
    def prepare_tx(self, request):
        """Leave RX, set the downlink's radio settings and load the FIFO (no RadioHead
        header); `start_tx()` then only flips the mode at the exact instant."""
        self._modem(
            request.frequency_hz,
            request.sf,
            request.bw_hz,
            request.coding_rate,
            request.preamble,
            request.crc,
            request.ipol,
        )
        rfm = self.rfm
        self._set_power(request.power_dbm)
        rfm._write_u8(REG_FIFO_TX_BASE_ADDR, 0)
        rfm._write_u8(REG_FIFO_ADDR_PTR, 0)
        rfm._write_from(REG_FIFO, bytes(request.phy))
        rfm._write_u8(REG_PAYLOAD_LENGTH, len(request.phy))
        rfm._write_u8(REG_IRQ_FLAGS, 0xFF)

    def _set_power(self, dbm):
        """PA_BOOST output power per datasheet 5.4.3: Pout = 2 + OutputPower (2..17 dBm), or
        5 + OutputPower with RegPaDac = 0x87 (up to 20 dBm). Written directly because the
        driver's `tx_power` follows RadioHead, whose OutputPower = power - 5 transmits 3 dB
        below the requested value."""
        dbm = max(MIN_POWER_DBM, min(MAX_POWER_DBM, int(dbm)))
        if dbm > 17:
            self.rfm._write_u8(REG_PA_DAC, PA_DAC_20DBM)
            self.rfm._write_u8(REG_OCP, OCP_150MA)  # 5.4.4: +20 dBm draws up to 120 mA
            output_power = dbm - 5
        else:
            self.rfm._write_u8(REG_PA_DAC, PA_DAC_DEFAULT)
            self.rfm._write_u8(REG_OCP, OCP_DEFAULT)
            output_power = dbm - 2
        self.rfm._write_u8(REG_PA_CONFIG, PA_SELECT_BOOST | 0x70 | output_power)

    def start_tx(self):
        self.rfm.transmit()

    def tx_done(self):
        return bool(self.rfm._read_u8(REG_IRQ_FLAGS) & IRQ_TX_DONE)

    def finish_tx(self):
        self.configure_rx()


@contextlib.contextmanager
def _driver_time(module, time_module):
    original = module.time
    module.time = time_module
    try:
        yield
    finally:
        module.time = original


class ReplayRadio:
    """Frames from a JSON-lines file, one object per line:
    ``{"phy": "<hex>", "frequency_hz": .., "sf": .., "rssi": .., "snr": .., "crc": "ok"}``.
    The file is followed as it grows; the byte offset after each frame is committed with
    the frame (`source_meta`), so a restart resumes exactly after the last stored frame.
    Downlinks are "transmitted" by waiting their time on air (and logged to `tx_log`)."""

    META_KEY = "replay_offset"

    def __init__(self, path, config, clock, offset=0, tx_log=None):
        self.path = path
        self.config = config
        self.clock = clock
        self.offset = int(offset)
        self.tx_log = tx_log
        self._handle = None
        self._tx_end = None
        self._pending = b""
        self.transmitted = []

    def configure_rx(self):
        pass

    def _open(self):
        if self._handle is None and os.path.exists(self.path):
            self._handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
            self._handle.seek(self.offset)
        return self._handle

    def poll_rx(self):
        handle = self._open()
        if handle is None:
            return None
        line = handle.readline()
        if not line:
            return None
        if not line.endswith(b"\n"):  # a line still being written: retry later
            handle.seek(self.offset)
            return None
        self.offset += len(line)
        meta = {self.META_KEY: self.offset}
        cfg = self.config
        try:
            obj = json.loads(line)
            payload = bytes.fromhex(obj["phy"])
            frequency_hz = int(obj.get("frequency_hz", cfg.frequency_hz))
            sf = int(obj.get("sf", cfg.sf))
            rssi, snr = int(obj.get("rssi", -60)), float(obj.get("snr", 7.0))
            crc = obj.get("crc", "ok")
        except (ValueError, KeyError, TypeError, AttributeError):
            payload, frequency_hz, sf, rssi, snr, crc = (
                line.strip(),
                cfg.frequency_hz,
                0,
                0,
                0,
                "bad",
            )
        return RxFrame(
            payload,
            self.clock.now_us(),
            self.clock.wall_us(),
            frequency_hz,
            sf,
            cfg.bw_hz,
            cfg.coding_rate,
            rssi,
            snr,
            crc,
            meta,
        )

    def prepare_tx(self, request):
        self._request = request

    def start_tx(self):
        request = self._request
        self._tx_end = self.clock.now_us() + time_on_air_us(
            len(request.phy),
            request.sf,
            request.bw_hz,
            request.coding_rate,
            request.preamble,
            request.crc,
        )
        self.transmitted.append(request)
        if self.tx_log:
            with open(self.tx_log, "a") as log:
                log.write(
                    json.dumps({"phy": request.phy.hex(), "at_us": request.started_us}) + "\n"
                )

    def tx_done(self):
        return self._tx_end is not None and self.clock.now_us() >= self._tx_end

    def finish_tx(self):
        self._tx_end = None
