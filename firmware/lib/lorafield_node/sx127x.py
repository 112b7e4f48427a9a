# SX1276/77/78/79 (HopeRF RFM95W) LoRa modem driver, written against the Semtech SX1276
# datasheet rev. 7 (section numbers below). The chip layer (registers, modes, FIFO) lives here;
# LoRaWAN timing and channel choice belong to the MAC, which calls transmit()/receive_single().
#
# Hardware comes from the board: an SPI bus (machine.SPI-like), chip-select, reset and DIO0
# pins (machine.Pin-like) and a clock (ticks_us/ticks_diff/sleep_ms). DIO0 signals TxDone in
# TX and RxDone in RX (RegDioMapping1 = 0b01 / 0b00, table 18); its IRQ handler only records
# the instant and sets a flag.

from lorafield_node.airtime import airtime_us, low_data_rate_optimize, symbol_us

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


# Register map (datasheet 6.4, LoRa mode).
_REG_FIFO = const(0x00)
_REG_OP_MODE = const(0x01)
_REG_FRF_MSB = const(0x06)
_REG_PA_CONFIG = const(0x09)
_REG_OCP = const(0x0B)
_REG_LNA = const(0x0C)
_REG_FIFO_ADDR_PTR = const(0x0D)
_REG_FIFO_TX_BASE = const(0x0E)
_REG_FIFO_RX_BASE = const(0x0F)
_REG_FIFO_RX_CURRENT = const(0x10)
_REG_IRQ_FLAGS_MASK = const(0x11)
_REG_IRQ_FLAGS = const(0x12)
_REG_RX_NB_BYTES = const(0x13)
_REG_PKT_SNR = const(0x19)
_REG_PKT_RSSI = const(0x1A)
_REG_MODEM_CONFIG1 = const(0x1D)
_REG_MODEM_CONFIG2 = const(0x1E)
_REG_SYMB_TIMEOUT_LSB = const(0x1F)
_REG_PREAMBLE_MSB = const(0x20)
_REG_PAYLOAD_LENGTH = const(0x22)
_REG_MAX_PAYLOAD_LENGTH = const(0x23)
_REG_MODEM_CONFIG3 = const(0x26)
_REG_DETECT_OPTIMIZE = const(0x31)
_REG_INVERT_IQ = const(0x33)
_REG_DETECTION_THRESHOLD = const(0x37)
_REG_SYNC_WORD = const(0x39)
_REG_INVERT_IQ2 = const(0x3B)
_REG_DIO_MAPPING1 = const(0x40)
_REG_VERSION = const(0x42)
_REG_PA_DAC = const(0x4D)

# RegOpMode (6.4 table 41): LongRangeMode bit, then the mode in bits 2..0.
_LONG_RANGE = const(0x80)
_MODE_SLEEP = const(0x00)
_MODE_STANDBY = const(0x01)
_MODE_TX = const(0x03)
_MODE_RX_CONTINUOUS = const(0x05)
_MODE_RX_SINGLE = const(0x06)
_MODE_MASK = const(0x07)

# RegIrqFlags bits (6.4).
IRQ_RX_TIMEOUT = const(0x80)
IRQ_RX_DONE = const(0x40)
IRQ_CRC_ERROR = const(0x20)
IRQ_VALID_HEADER = const(0x10)
IRQ_TX_DONE = const(0x08)

# RegDioMapping1 DIO0 field (table 18).
_DIO0_RX_DONE = const(0x00)
_DIO0_TX_DONE = const(0x40)

# RegInvertIQ / RegInvertIQ2 values for normal and inverted I/Q (Semtech AN1200.23 and the
# reference LoRaMac-node driver): bit 6 inverts the receiver, bit 0 *clear* inverts the
# transmitter. Uplinks use normal IQ; downlinks are sent and received inverted.
_IQ_NORMAL = const(0x27)
_IQ_RX_INVERTED = const(0x67)
_IQ_TX_INVERTED = const(0x26)
_IQ2_NORMAL = const(0x1D)
_IQ2_INVERTED = const(0x19)

CHIP_VERSION = const(0x12)
SYNC_WORD_PUBLIC = const(0x34)  # LoRaWAN public networks; 0x12 is private

# RegModemConfig1 bandwidth codes (table 38): only the LoRaWAN ones.
_BANDWIDTHS = ((125000, 0x70), (250000, 0x80), (500000, 0x90))

_FXOSC = const(32000000)
_RSSI_OFFSET_HF = const(157)  # 5.5.5, HF port (862-1020 MHz)
_POLL_MS = const(1)
_SHADOWED = const(0x4E)  # registers 0x00..0x4D may be shadowed (configuration ones only)
_TX_POLL_US = const(50)  # last stretch of a TX: the TxDone instant times the RX windows
_TX_MARGIN_US = const(250)  # the TX sleep ends this much (+100 ppm) before the airtime


class RadioError(Exception):
    """The radio did not answer as an SX127x should (wiring, reset, a stuck mode)."""


class SX127x:
    def __init__(self, spi, cs, reset, dio0, clock, sleep_ms=None):
        self._spi = spi
        self._cs = cs
        self._reset = reset
        self._dio0 = dio0
        self._clock = clock
        # Board.lightsleep-like: sleeps up to ms, may return early on a pin interrupt. While
        # a received frame is on air the MCU sleeps through it instead of polling every ms.
        self._sleep_ms = sleep_ms
        self._cmd = bytearray(1)
        self._pair_out = bytearray(2)
        self._pair_in = bytearray(2)
        self._three = bytearray(3)
        # What the driver last wrote to each configuration register (RegFrf .. RegPaDac):
        # the MAC reconfigures for every TX and RX window, mostly to the same values, and a
        # register keeps its value until a reset (init() forgets them all).
        self._shadow = bytearray(_SHADOWED)
        self._known = bytearray(_SHADOWED)
        self.rx_buffer = bytearray(256)
        self._irq_pending = False
        self.irq_ticks_us = 0  # ticks_us() at the last DIO0 edge (TxDone / RxDone instant)
        self.rssi = 0
        self.snr = 0.0
        self.crc_error = False
        self._sf = 7
        self._bw_hz = 125000
        self._cr = 5
        self._crc = True
        self._preamble = 8
        cs.value(1)
        if dio0 is not None:
            dio0.irq(handler=self._on_dio0, trigger=dio0.IRQ_RISING)

    # -- interrupt: keep it tiny (no allocation, no SPI) ----------------------------------------
    def _on_dio0(self, pin):
        self.irq_ticks_us = self._clock.ticks_us()
        self._irq_pending = True

    # -- SPI register access (datasheet 4.3: address byte, bit 7 = write; burst auto-increment) --
    # A single register is one 2-byte SPI transfer (address, then data): one bus call.
    def read_register(self, address):
        out = self._pair_out
        out[0] = address & 0x7F
        out[1] = 0
        self._cs.value(0)
        self._spi.write_readinto(out, self._pair_in)
        self._cs.value(1)
        return self._pair_in[1]

    def write_register(self, address, value):
        out = self._pair_out
        out[0] = address | 0x80
        out[1] = value
        self._cs.value(0)
        self._spi.write(out)
        self._cs.value(1)

    def _configure(self, address, value):
        """Write a configuration register unless it already holds `value` (written by us
        since the last reset). Never for registers the chip changes (mode, IRQ, FIFO)."""
        if self._known[address] and self._shadow[address] == value:
            return
        self.write_register(address, value)
        self._shadow[address] = value
        self._known[address] = 1

    def _configured(self, address):
        """The value of a configuration register: from the shadow, else read."""
        if self._known[address]:
            return self._shadow[address]
        return self.read_register(address)

    def _write_burst(self, address, data):
        self._cmd[0] = address | 0x80
        self._cs.value(0)
        self._spi.write(self._cmd)
        self._spi.write(data)
        self._cs.value(1)

    def _read_burst(self, address, buf):
        self._cmd[0] = address & 0x7F
        self._cs.value(0)
        self._spi.write(self._cmd)
        self._spi.readinto(buf)
        self._cs.value(1)

    # -- life cycle -------------------------------------------------------------------------
    def init(self):
        """Reset (7.2.2: >100 us low, then 5 ms), check RegVersion, enter LoRa standby."""
        for i in range(_SHADOWED):
            self._known[i] = 0
        self._reset.value(0)
        self._clock.sleep_us(200)
        self._reset.value(1)
        self._clock.sleep_ms(6)
        version = self.read_register(_REG_VERSION)
        if version != CHIP_VERSION:
            raise RadioError("SX127x not found: RegVersion 0x%02x, expected 0x12" % version)
        # LongRangeMode can only be changed in sleep mode (table 41).
        self.write_register(_REG_OP_MODE, _MODE_SLEEP)
        self.write_register(_REG_OP_MODE, _LONG_RANGE | _MODE_SLEEP)
        if self.read_register(_REG_OP_MODE) & _LONG_RANGE == 0:
            raise RadioError("SX127x did not enter LoRa mode")
        self.write_register(_REG_FIFO_TX_BASE, 0x00)
        self.write_register(_REG_FIFO_RX_BASE, 0x00)
        self.write_register(_REG_LNA, self.read_register(_REG_LNA) | 0x03)  # LNA boost HF
        self._configure(_REG_SYNC_WORD, SYNC_WORD_PUBLIC)
        self.write_register(_REG_IRQ_FLAGS_MASK, 0x00)
        self.write_register(_REG_MAX_PAYLOAD_LENGTH, 0xFF)
        self.standby()

    def _set_mode(self, mode):
        self.write_register(_REG_OP_MODE, _LONG_RANGE | mode)

    def sleep(self):
        self._set_mode(_MODE_SLEEP)

    def standby(self):
        self._set_mode(_MODE_STANDBY)

    def mode(self):
        return self.read_register(_REG_OP_MODE) & _MODE_MASK

    # -- configuration ----------------------------------------------------------------------
    def set_frequency(self, freq_hz):
        # Frf = f * 2^19 / Fxosc (6.4 RegFrf) = f * 256 / 15625, kept within small ints.
        frf = (freq_hz // 15625) * 256 + ((freq_hz % 15625) * 256) // 15625
        self._three[0] = (frf >> 16) & 0xFF
        self._three[1] = (frf >> 8) & 0xFF
        self._three[2] = frf & 0xFF
        # Skipped when unchanged, else written whole: the chip takes a new frequency only when
        # RegFrfLsb is written (6.4).
        known, shadow, three = self._known, self._shadow, self._three
        if known[_REG_FRF_MSB] and all(shadow[_REG_FRF_MSB + i] == three[i] for i in range(3)):
            return
        self._write_burst(_REG_FRF_MSB, three)
        for i in range(3):
            shadow[_REG_FRF_MSB + i] = three[i]
            known[_REG_FRF_MSB + i] = 1

    def frequency(self):
        self._read_burst(_REG_FRF_MSB, self._three)
        frf = (self._three[0] << 16) | (self._three[1] << 8) | self._three[2]
        return (frf // 256) * 15625 + ((frf % 256) * 15625) // 256

    def set_modulation(self, sf, bw_hz, cr=5, crc=True, preamble=8):
        """Spreading factor 7..12, bandwidth in Hz, CR 4/cr, explicit header (6.4)."""
        code = -1
        for hz, value in _BANDWIDTHS:
            if hz == bw_hz:
                code = value
        if code < 0 or not 6 <= sf <= 12 or not 5 <= cr <= 8:
            raise ValueError("unsupported LoRa modulation")
        self._sf = sf
        self._bw_hz = bw_hz
        self._cr = cr
        self._crc = crc
        self._preamble = preamble
        self._configure(_REG_MODEM_CONFIG1, code | ((cr - 4) << 1))  # explicit header
        config2 = self._configured(_REG_MODEM_CONFIG2) & 0x03  # keep SymbTimeout(9:8)
        self._configure(_REG_MODEM_CONFIG2, (sf << 4) | (0x04 if crc else 0) | config2)
        ldro = 0x08 if low_data_rate_optimize(sf, bw_hz) else 0
        self._configure(_REG_MODEM_CONFIG3, ldro | 0x04)  # AGC auto on
        # SF6 needs special detection settings; LoRaWAN never uses it (4.1.1.2).
        self._configure(_REG_DETECT_OPTIMIZE, 0xC3)
        self._configure(_REG_DETECTION_THRESHOLD, 0x0A)
        self._configure(_REG_PREAMBLE_MSB, (preamble >> 8) & 0xFF)
        self._configure(_REG_PREAMBLE_MSB + 1, preamble & 0xFF)

    def set_tx_power(self, dbm):
        """PA_BOOST output (RFM95 wires only PA_BOOST): 2..17 dBm, or 20 dBm with PaDac (5.4.3)."""
        if dbm > 17:
            self._configure(_REG_PA_DAC, 0x87)
            self._configure(_REG_OCP, 0x20 | 0x1B)  # OCP 240 mA for +20 dBm
            self._configure(_REG_PA_CONFIG, 0x80 | 0x70 | 15)
            return
        dbm = max(2, dbm)
        self._configure(_REG_PA_DAC, 0x84)
        self._configure(_REG_OCP, 0x20 | 0x0B)  # OCP 100 mA, the reset default
        self._configure(_REG_PA_CONFIG, 0x80 | 0x70 | (dbm - 2))

    def set_sync_word(self, value):
        self._configure(_REG_SYNC_WORD, value)

    def _set_iq(self, invert_rx, invert_tx):
        if invert_rx:
            self._configure(_REG_INVERT_IQ, _IQ_RX_INVERTED)
        elif invert_tx:
            self._configure(_REG_INVERT_IQ, _IQ_TX_INVERTED)
        else:
            self._configure(_REG_INVERT_IQ, _IQ_NORMAL)
        inverted = invert_rx or invert_tx
        self._configure(_REG_INVERT_IQ2, _IQ2_INVERTED if inverted else _IQ2_NORMAL)

    def airtime_us(self, length):
        return airtime_us(length, self._sf, self._bw_hz, self._cr, self._crc, self._preamble)

    # -- transmit ---------------------------------------------------------------------------
    def transmit(self, payload, invert_iq=False):
        """Send `payload` and block until TxDone; returns ticks_us() of the end of TX.

        Uplinks use normal IQ; a gateway sending a downlink passes invert_iq=True.
        """
        length = len(payload)
        if not 0 < length <= 255:
            raise ValueError("payload must be 1..255 bytes")
        self.standby()
        self._set_iq(False, invert_iq)
        self.write_register(_REG_FIFO_ADDR_PTR, 0x00)
        self._write_burst(_REG_FIFO, payload)
        self.write_register(_REG_PAYLOAD_LENGTH, length)
        self._configure(_REG_DIO_MAPPING1, _DIO0_TX_DONE)
        self.write_register(_REG_IRQ_FLAGS, 0xFF)
        self._irq_pending = False
        expected_us = self.airtime_us(length)
        self._set_mode(_MODE_TX)
        start = self._clock.ticks_us()
        # Sleep through the known time on air, then poll finely: where the DIO0 handler only
        # runs when the sleep returns (micropython.schedule semantics), or without DIO0, the
        # TxDone instant (which the MAC times RX1/RX2 from) is then exact to one poll step.
        # The sleep ends early by 250 us plus 100 ppm (the MCU's clock against the chip's;
        # the chip's ramp-up only makes TxDone later), leaving a few polls, not dozens.
        early_us = expected_us - _TX_MARGIN_US - expected_us // 10000
        if early_us > 0:
            self._clock.sleep_us(early_us)
        if not self._wait(IRQ_TX_DONE, start, expected_us + 200000, _TX_POLL_US):
            self.standby()
            raise RadioError("TxDone did not arrive")
        self.write_register(_REG_IRQ_FLAGS, 0xFF)
        return self.irq_ticks_us

    def _wait(self, flag, start, limit_us, poll_us=0):
        """Wait for `flag` in RegIrqFlags (DIO0 shortcut when wired); False on time-out.
        Polls every `poll_us`; with 0, light-sleeps until DIO0 where a sleeper was given,
        else polls every _POLL_MS ms."""
        clock = self._clock
        # Sleep (not poll) in steps of 8 symbols; the flags are read after every step, so a
        # port whose light sleep neither ends at DIO0 nor runs its handler still sees them.
        sleeper = self._sleep_ms if not poll_us and self._dio0 is not None else None
        step_ms = symbol_us(self._sf, self._bw_hz) // 125 or 1
        while clock.ticks_diff(clock.ticks_us(), start) < limit_us:
            if self._irq_pending or self._dio0 is None or sleeper is not None:
                flags = self.read_register(_REG_IRQ_FLAGS)
                if flags & flag:
                    if self._dio0 is None:
                        self.irq_ticks_us = clock.ticks_us()
                    return True
                self._irq_pending = False
            if poll_us:
                clock.sleep_us(poll_us)
            elif sleeper is not None:
                sleeper(step_ms)
            else:
                clock.sleep_ms(_POLL_MS)
        return False

    # -- receive ----------------------------------------------------------------------------
    def receive_single(self, symbol_timeout, invert_iq=True, max_frame_len=255):
        """Open one RX window now (RX single, 4.1.6.2); returns the frame length or 0.

        The window closes after `symbol_timeout` symbols unless a preamble is detected, in
        which case the frame is received to its end. The frame is in `rx_buffer[:length]`;
        `rssi`, `snr` and `crc_error` describe it. Downlinks are received with IQ inverted.
        """
        if not 4 <= symbol_timeout <= 1023:
            raise ValueError("symbol timeout must be 4..1023")
        self.standby()
        self._set_iq(invert_iq, False)
        config2 = self._configured(_REG_MODEM_CONFIG2) & 0xFC
        self._configure(_REG_MODEM_CONFIG2, config2 | (symbol_timeout >> 8))
        self._configure(_REG_SYMB_TIMEOUT_LSB, symbol_timeout & 0xFF)
        self._configure(_REG_DIO_MAPPING1, _DIO0_RX_DONE)
        self.write_register(_REG_IRQ_FLAGS, 0xFF)
        self._irq_pending = False
        self._set_mode(_MODE_RX_SINGLE)
        start = self._clock.ticks_us()
        window_us = symbol_timeout * symbol_us(self._sf, self._bw_hz)
        self._clock.sleep_us(window_us)
        flags = self.read_register(_REG_IRQ_FLAGS)
        if flags & IRQ_RX_TIMEOUT:
            self.write_register(_REG_IRQ_FLAGS, 0xFF)
            return 0
        if not flags & IRQ_RX_DONE and not self._irq_pending:
            # A preamble was detected: the chip stays in RX until the frame ends.
            limit = window_us + airtime_us(max_frame_len, self._sf, self._bw_hz, self._cr)
            if not self._wait(IRQ_RX_DONE | IRQ_RX_TIMEOUT, start, limit):
                self.standby()
                return 0
            flags = self.read_register(_REG_IRQ_FLAGS)
        self.write_register(_REG_IRQ_FLAGS, 0xFF)
        if not flags & IRQ_RX_DONE:
            return 0
        return self._read_packet(flags)

    def _read_packet(self, flags):
        self.crc_error = bool(flags & IRQ_CRC_ERROR)
        length = self.read_register(_REG_RX_NB_BYTES)
        self.write_register(_REG_FIFO_ADDR_PTR, self.read_register(_REG_FIFO_RX_CURRENT))
        view = memoryview(self.rx_buffer)[:length]
        self._read_burst(_REG_FIFO, view)
        raw_snr = self.read_register(_REG_PKT_SNR)
        if raw_snr > 127:
            raw_snr -= 256
        self.snr = raw_snr / 4
        rssi = self.read_register(_REG_PKT_RSSI) - _RSSI_OFFSET_HF
        if raw_snr < 0:
            rssi += raw_snr // 4  # 5.5.5: below the noise floor add the SNR
        self.rssi = rssi
        if self.crc_error:
            return 0
        return length
