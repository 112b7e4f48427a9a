"""Register-level model of the Semtech SX1276 LoRa transceiver (LoRa modem only).

The chip sits behind an SPI transaction interface, as on a board: chip select low starts a
transaction, the first byte is the register address with bit 7 set for a write, the bytes
after it are a burst that auto-increments the address -- except at RegFifo (0x00), where
each byte goes to or comes from the FIFO at RegFifoAddrPtr, which then increments
(datasheet 4.3, 4.1.2.3). A RESET line (active low, 5 ms until ready: 7.2.2) and the DIO0
and DIO1 outputs (Table 18) complete the pins. `select()`/`transfer()`/`deselect()` are the
transaction primitives; `lorafield_hw.radio_bus` adapts them to busio/machine SPI objects.

What is modelled (the rest of the register file reads back what was written):

* RegOpMode: sleep, standby, FSTX/FSRX, TX, RX continuous, RX single; LongRangeMode only
  changes in sleep (6.4). Sleep clears the FIFO, which is not accessible in sleep (4.1.2.3).
  Reset restores the Table 41 defaults.
* TX: PayloadLength bytes from FifoTxBaseAddr go on the air for the Semtech time on air of
  the configured SF/BW/CR/preamble/header/CRC/LDRO, then TxDone and back to standby (4.1.6).
* RX: entering RX starts listening; RX single gives up with RxTimeout after RegSymbTimeout
  symbols unless a preamble was detected by then (4.1.6.2). A frame that started before the
  receiver listened is not received. ValidHeader after the header, then RxDone at the end of
  the frame with the payload at FifoRxCurrentAddr, RxNbBytes, RegPktSnrValue and
  RegPktRssiValue (5.5.5); PayloadCrcError when the frame was corrupted (collision, LDRO
  mismatch, truncated) and its header announces a CRC. RX single then returns to standby.
  RegModemStat shows detection, sync, RX on-going and header validity while a frame is
  demodulated, the header's coding rate, and "modem clear" otherwise.
* IRQ flags are cleared by writing 1; masked IRQs never set their flag (6.4). DIO0/DIO1
  follow the flags selected by RegDioMapping1; a rising edge calls the pin's IRQ handler.
* IQ polarity: TX is inverted when RegInvertIQ bit 0 is clear, RX when bit 6 is set; RX
  with inverted IQ only works with RegInvertIQ2 = 0x19 (and normal IQ with 0x1D), as in
  Semtech's reference driver.
* Every SPI transaction costs virtual time: an overhead plus 8 bits per byte at the SPI
  clock, so drivers that busy-poll registers see time pass.
"""

import random

from . import sx1276_registers as r
from .air import Counters, same_channel
from .airtime import BANDWIDTHS_HZ, symbol_time_us, time_on_air_us

RESET_READY_US = 5_000  # datasheet 7.2.2: wait 5 ms after releasing NRESET
# Registers the supply current depends on besides the op mode (energy.sx1276_state): the
# PA selection and power (RegPaConfig, RegPaDac), the LNA boost, the band (RegFrf).
_POWER_REGISTERS = frozenset(
    (r.REG_PA_CONFIG, r.REG_PA_DAC, r.REG_LNA, r.REG_FRF_MSB, r.REG_FRF_MID, r.REG_FRF_LSB)
)
SPI_OVERHEAD_US = 2.0  # chip-select setup/hold and the bus driver's own cost per transaction
# Registers whose SPI access does more than read or store regs[address]: _read and _write
# handle them; every other address is a plain register (what both methods do for it).
_SPECIAL_READS = tuple(
    address in (r.REG_FIFO, r.REG_RSSI_VALUE, r.REG_MODEM_STAT) for address in range(128)
)
_SPECIAL_WRITES = tuple(
    address in (r.REG_FIFO, r.REG_OP_MODE, r.REG_IRQ_FLAGS, r.REG_DIO_MAPPING1)
    or address in r.READ_ONLY
    or address in _POWER_REGISTERS
    for address in range(128)
)
_TABLE = 260  # transfer lengths with precomputed MISO zeros and SPI time (FIFO bursts fit)
_ZEROS = tuple(bytes(n) for n in range(_TABLE))  # MISO of a transfer the chip does not answer
_TRANSFER_US = {}  # SPI clock (Hz) -> SPI time (us) of a transfer by its length
_BYTE = tuple(bytes((value,)) for value in range(256))  # MISO of a one-byte register read
# The register file after a reset (Table 41 defaults; the others 0x00).
_RESET_REGS = bytes(r.RESET_VALUES.get(address, 0) for address in range(128))


class Dio:
    """An output line of the chip, read by the MCU (machine.Pin-like)."""

    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, name):
        self.name = name
        self._level = 0
        self._handler = None
        self._trigger = 0

    def value(self):
        return self._level

    __call__ = value

    def irq(self, handler=None, trigger=IRQ_RISING):
        """Register `handler(pin)` for edges in `trigger` (None removes it)."""
        self._handler = handler
        self._trigger = trigger if handler is not None else 0

    def _drive(self, level):
        level = 1 if level else 0
        if level == self._level:
            return
        self._level = level
        edge = self.IRQ_RISING if level else self.IRQ_FALLING
        if self._trigger & edge:
            self._handler(self)

    def __repr__(self):
        return f"Dio({self.name}={self._level})"


class SX1276:
    def __init__(
        self,
        scheduler,
        air=None,
        *,
        name="sx1276",
        position=(0.0, 0.0),
        spi_hz=5_000_000,
        spi_overhead_us=SPI_OVERHEAD_US,
        seed=None,
    ):
        self.scheduler = scheduler
        self.air = air
        self.name = name
        self.position = tuple(position)
        self.spi_hz = spi_hz
        self.spi_overhead_us = spi_overhead_us
        self.demodulators = 1
        self.tx = Counters()  # the fate of the frames this endpoint sent
        self.rx = Counters()  # frames that reached this endpoint as a receiver
        self.dio0 = Dio(f"{name}.DIO0")
        self.dio1 = Dio(f"{name}.DIO1")
        seed = scheduler.seed if seed is None else seed
        self._corruption_state = random.Random(f"{seed}/{name}").getrandbits(32) | 1
        self._time_debt_us = 0.0
        self._reset_low = False
        # Bumped whenever what the supply current depends on may change (op mode, PA, LNA,
        # frequency, reset): the board's energy meter re-reads the state only then.
        self.power_version = 0
        self._ready_at_us = 0
        self._selected = False
        self._address = None
        self._writing = False
        # Called as listener(chip, mode, now_us) whenever the operating mode changes (energy
        # accounting, tests); `mode_changed_us` is the time of the last change.
        self.mode_listeners = []
        self.mode_changed_us = scheduler.now_us
        if air is not None:
            air.attach(self)
        self._power_on_reset()

    # -- reset ------------------------------------------------------------------------------
    def _power_on_reset(self):
        self._abort_activity()
        self.regs = bytearray(_RESET_REGS)
        self.fifo = bytearray(r.FIFO_SIZE)
        self._tx_frame = None
        self._tx_event = None
        self._rx_timeout_event = None
        self._header_event = None
        self._locked = None
        self._rx_start_us = None
        self._rx_write_ptr = 0
        self._update_dio()
        self._mode_changed(self.mode)

    def _abort_activity(self):
        if getattr(self, "_tx_event", None) is not None:
            self._tx_event.cancel()
            if self._tx_frame is not None and self.air is not None:
                self.air.abort(self._tx_frame)
        self._tx_event = self._tx_frame = None
        self._stop_rx()

    def set_reset(self, level):
        """Drive the NRESET line: low holds the chip in reset; rising edge restarts it."""
        level = bool(level)
        self.power_version += 1
        if not level and not self._reset_low:
            self._reset_low = True
            self._power_on_reset()
        elif level and self._reset_low:
            self._reset_low = False
            self._ready_at_us = self.scheduler.now_us + RESET_READY_US

    @property
    def ready(self):
        return not self._reset_low and self.scheduler.now_us >= self._ready_at_us

    # -- SPI --------------------------------------------------------------------------------
    def set_chip_select(self, level):
        """Drive NSS: low starts a transaction, high ends it."""
        if level:
            self.deselect()
        else:
            self.select()

    def select(self):
        if self._selected:
            return
        self._selected = True
        self._address = None
        self._consume(self.spi_overhead_us)

    def deselect(self):
        self._selected = False
        self._address = None

    @property
    def spi_hz(self):
        return self._spi_hz

    @spi_hz.setter
    def spi_hz(self, hz):
        self._spi_hz = hz
        # The SPI time of an n-byte transfer, n * 8 bits / clock, for the usual lengths: the
        # same expression as for any other length, evaluated once per clock rate (every
        # boot's SPI init sets the rate).
        table = _TRANSFER_US.get(hz)
        if table is None:
            table = _TRANSFER_US[hz] = tuple(n * 8_000_000 / hz for n in range(_TABLE))
        self._transfer_us = table

    def transfer(self, data):
        """Clock `data` out to the chip (MOSI); returns the bytes it clocked back (MISO)."""
        n = len(data)
        out = _ZEROS[n] if n < _TABLE else bytes(n)
        ready = not self._reset_low and self.scheduler.now_us >= self._ready_at_us  # .ready
        if n and self._selected and ready:
            address = self._address
            if address is None:  # the address byte starts the transaction (4.3)
                first = data[0]
                self._address = first & 0x7F
                self._writing = bool(first & 0x80)
                if n > 1:
                    out = self._burst(data, 1, n)
            elif n > 1:
                out = self._burst(data, 0, n)
            else:  # one data byte (a register access): _burst's loop body, inlined
                if not self._writing:
                    value = self._read(address) if _SPECIAL_READS[address] else self.regs[address]
                    out = _BYTE[value]
                elif _SPECIAL_WRITES[address]:
                    self._write(address, data[0])
                else:
                    self.regs[address] = data[0]
                if self._address != r.REG_FIFO:
                    self._address = (self._address + 1) & 0x7F
        # _consume(us), inlined: the same steps on the debt, one call fewer per transfer.
        self._time_debt_us += self._transfer_us[n] if n < _TABLE else n * 8_000_000 / self._spi_hz
        whole = int(self._time_debt_us)
        if whole > 0:
            scheduler = self.scheduler
            if not scheduler.skip_to(scheduler.now_us + whole):
                try:
                    scheduler.advance(whole)
                except RuntimeError:
                    pass
            self._time_debt_us -= whole
        return out

    def _burst(self, data, start, n):
        """Bytes start..n-1 of a transfer after the address byte: writes or reads at the
        auto-incremented address (RegFifo does not increment: 4.3). Plain registers are a
        direct bytearray access; the registers with behaviour (_SPECIAL_READS /
        _SPECIAL_WRITES) go through _read/_write: one table lookup per byte, no if-chain."""
        regs = self.regs
        if self._address == r.REG_FIFO and self.mode != r.MODE_SLEEP:
            # A FIFO burst (a payload): what the per-byte loop does -- each byte at
            # RegFifoAddrPtr, which then increments -- as one slice while it does not wrap.
            count = n - start
            pointer = regs[r.REG_FIFO_ADDR_PTR]
            if pointer + count <= r.FIFO_SIZE:
                regs[r.REG_FIFO_ADDR_PTR] = (pointer + count) & 0xFF
                if self._writing:
                    self.fifo[pointer : pointer + count] = data[start:n]
                    return _ZEROS[n] if n < _TABLE else bytes(n)
                return bytes(start) + self.fifo[pointer : pointer + count]
        if self._writing:
            special = _SPECIAL_WRITES
            for index in range(start, n):
                address = self._address
                if special[address]:
                    self._write(address, data[index])
                else:
                    regs[address] = data[index]
                if self._address != r.REG_FIFO:
                    self._address = (self._address + 1) & 0x7F
            return _ZEROS[n] if n < _TABLE else bytes(n)
        special = _SPECIAL_READS
        received = bytearray(n)
        for index in range(start, n):
            address = self._address
            received[index] = self._read(address) if special[address] else regs[address]
            if self._address != r.REG_FIFO:
                self._address = (self._address + 1) & 0x7F
        return bytes(received)

    def transaction(self, data):
        """A whole transaction: select, transfer `data`, deselect."""
        self.select()
        try:
            return self.transfer(data)
        finally:
            self.deselect()

    def read_register(self, address):
        return self.transaction(bytes((address & 0x7F, 0)))[1]

    def write_register(self, address, value):
        self.transaction(bytes((address | 0x80, value)))

    def _consume(self, microseconds):
        """Charge SPI time to the caller. Inside a scheduler callback (an IRQ handler that
        touches SPI) time cannot pass; the access is then instantaneous."""
        self._time_debt_us += microseconds
        whole = int(self._time_debt_us)
        if whole <= 0:
            return
        scheduler = self.scheduler
        if not scheduler.skip_to(scheduler.now_us + whole):
            try:
                scheduler.advance(whole)
            except RuntimeError:
                pass
        self._time_debt_us -= whole

    # -- register file ----------------------------------------------------------------------
    def _read(self, address):
        regs = self.regs
        if address == r.REG_FIFO:
            if self.mode == r.MODE_SLEEP:
                return 0  # 4.1.2.3: no FIFO access in sleep mode
            pointer = regs[r.REG_FIFO_ADDR_PTR]
            regs[r.REG_FIFO_ADDR_PTR] = (pointer + 1) & 0xFF
            return self.fifo[pointer]
        if address == r.REG_RSSI_VALUE:
            return self._rssi_register(self._current_rssi_dbm())
        if address == r.REG_MODEM_STAT:
            return self._modem_status()
        return regs[address]

    def _modem_status(self):
        """RegModemStat (6.4): RxCodingRate of the last header in bits 7-5, then modem clear,
        header info valid, RX on-going, signal synchronised, signal detected."""
        status = self.regs[r.REG_MODEM_STAT] & 0xE0
        locked = self._locked
        if locked is None:
            return status | r.MODEM_CLEAR
        status |= r.SIGNAL_DETECTED | r.SIGNAL_SYNCHRONIZED | r.RX_ONGOING
        if self._header_event is None and not locked.frame.implicit_header:
            status |= r.HEADER_INFO_VALID
        return status

    def _write(self, address, value):
        regs = self.regs
        if address == r.REG_FIFO:
            if self.mode == r.MODE_SLEEP:
                return  # 4.1.2.3: no FIFO access in sleep mode
            pointer = regs[r.REG_FIFO_ADDR_PTR]
            self.fifo[pointer] = value
            regs[r.REG_FIFO_ADDR_PTR] = (pointer + 1) & 0xFF
        elif address == r.REG_OP_MODE:
            self._write_op_mode(value)
        elif address == r.REG_IRQ_FLAGS:
            regs[address] &= ~value & 0xFF
            self._update_dio()
        elif address in r.READ_ONLY:
            pass
        else:
            regs[address] = value
            if address == r.REG_DIO_MAPPING1:
                self._update_dio()
            elif address in _POWER_REGISTERS:
                self.power_version += 1

    def _write_op_mode(self, value):
        old = self.regs[r.REG_OP_MODE]
        if (old ^ value) & r.LONG_RANGE_MODE and old & r.MODE_MASK != r.MODE_SLEEP:
            value = (value & ~r.LONG_RANGE_MODE) | (old & r.LONG_RANGE_MODE)
        self.regs[r.REG_OP_MODE] = value
        old_mode, new_mode = old & r.MODE_MASK, value & r.MODE_MASK
        if new_mode == old_mode:
            return
        self._mode_changed(new_mode)
        if old_mode == r.MODE_TX:
            self._abort_activity()
        if old_mode in (r.MODE_RX_CONTINUOUS, r.MODE_RX_SINGLE):
            self._stop_rx()
        if new_mode == r.MODE_SLEEP:
            self.fifo[:] = bytes(r.FIFO_SIZE)
        if not value & r.LONG_RANGE_MODE:
            return  # FSK/OOK modem: not modelled
        if new_mode == r.MODE_TX:
            self._start_tx()
        elif new_mode in (r.MODE_RX_CONTINUOUS, r.MODE_RX_SINGLE):
            self._start_rx(single=new_mode == r.MODE_RX_SINGLE)

    def _set_mode(self, mode):
        self.regs[r.REG_OP_MODE] = (self.regs[r.REG_OP_MODE] & ~r.MODE_MASK) | mode
        self._mode_changed(mode)

    def _mode_changed(self, mode):
        self.power_version += 1
        self.mode_changed_us = self.scheduler.now_us
        for listener in self.mode_listeners:
            listener(self, mode, self.mode_changed_us)

    @property
    def mode(self):
        return self.regs[r.REG_OP_MODE] & r.MODE_MASK

    # -- IRQs and DIO pins ------------------------------------------------------------------
    def _raise_irq(self, bits):
        bits &= ~self.regs[r.REG_IRQ_FLAGS_MASK] & 0xFF
        self.regs[r.REG_IRQ_FLAGS] |= bits
        self._update_dio()

    def _update_dio(self):
        flags = self.regs[r.REG_IRQ_FLAGS]
        mapping = self.regs[r.REG_DIO_MAPPING1]
        self.dio0._drive(flags & r.DIO0_SOURCES[mapping >> 6])
        self.dio1._drive(flags & r.DIO1_SOURCES[(mapping >> 4) & 0x03])

    # -- decoded configuration --------------------------------------------------------------
    @property
    def frequency_hz(self):
        regs = self.regs
        frf = (regs[r.REG_FRF_MSB] << 16) | (regs[r.REG_FRF_MID] << 8) | regs[r.REG_FRF_LSB]
        return frf * r.FXOSC_HZ / r.FSTEP_DIVISOR

    @property
    def bandwidth_hz(self):
        code = self.regs[r.REG_MODEM_CONFIG1] >> 4
        return int(BANDWIDTHS_HZ[min(code, 9)])  # codes above 9 are reserved

    @property
    def coding_rate(self):
        """Denominator 5..8 of the coding rate 4/x (codes outside 1..4 are reserved)."""
        return min(max((self.regs[r.REG_MODEM_CONFIG1] >> 1) & 0x07, 1), 4) + 4

    @property
    def implicit_header(self):
        return bool(self.regs[r.REG_MODEM_CONFIG1] & 0x01)

    @property
    def spreading_factor(self):
        return min(max(self.regs[r.REG_MODEM_CONFIG2] >> 4, 6), 12)  # 6..12 (4.1.1.2)

    @property
    def crc_on(self):
        return bool(self.regs[r.REG_MODEM_CONFIG2] & r.RX_PAYLOAD_CRC_ON)

    @property
    def ldro(self):
        return bool(self.regs[r.REG_MODEM_CONFIG3] & r.LOW_DATA_RATE_OPTIMIZE)

    @property
    def preamble_length(self):
        return (self.regs[r.REG_PREAMBLE_MSB] << 8) | self.regs[r.REG_PREAMBLE_LSB]

    @property
    def symbol_timeout(self):
        """RegSymbTimeout: ModemConfig2 bits 1-0 are bits 9-8, RegSymbTimeoutLsb bits 7-0."""
        return ((self.regs[r.REG_MODEM_CONFIG2] & 0x03) << 8) | self.regs[r.REG_SYMB_TIMEOUT_LSB]

    @property
    def sync_word(self):
        return self.regs[r.REG_SYNC_WORD]

    @property
    def tx_iq_inverted(self):
        return not self.regs[r.REG_INVERT_IQ] & r.INVERT_IQ_TX_OFF

    @property
    def rx_iq_inverted(self):
        return bool(self.regs[r.REG_INVERT_IQ] & r.INVERT_IQ_RX)

    @property
    def tx_power_dbm(self):
        """Output power from RegPaConfig/RegPaDac (datasheet 5.4.3)."""
        pa = self.regs[r.REG_PA_CONFIG]
        output_power = pa & 0x0F
        if pa & 0x80:  # PA_BOOST
            power = 17 - (15 - output_power)
            if self.regs[r.REG_PA_DAC] & 0x07 == 0x07:
                power += 3  # +20 dBm option
            return power
        max_power = 10.8 + 0.6 * ((pa >> 4) & 0x07)
        return max_power - (15 - output_power)

    @property
    def _rssi_offset(self):
        return r.RSSI_OFFSET_LF if self.frequency_hz < r.LF_HF_BOUNDARY_HZ else r.RSSI_OFFSET_HF

    def _rssi_register(self, dbm):
        return min(max(round(dbm - self._rssi_offset), 0), 255)

    def _current_rssi_dbm(self):
        if self.air is None:
            from .air import noise_floor_dbm

            return noise_floor_dbm(self.bandwidth_hz)
        return self.air.channel_power_dbm(self, self.frequency_hz, self.bandwidth_hz)

    # -- TX ---------------------------------------------------------------------------------
    def _start_tx(self):
        length = self.regs[r.REG_PAYLOAD_LENGTH]
        base = self.regs[r.REG_FIFO_TX_BASE_ADDR]
        if base + length <= r.FIFO_SIZE:
            payload = bytes(self.fifo[base : base + length])
        else:  # the FIFO pointer wraps at 256
            payload = bytes(self.fifo[(base + i) & 0xFF] for i in range(length))
        settings = dict(
            coding_rate=self.coding_rate,
            preamble=self.preamble_length,
            crc=self.crc_on,
            implicit_header=self.implicit_header,
            ldro=self.ldro,
        )
        sf, bw = self.spreading_factor, self.bandwidth_hz
        airtime_us = time_on_air_us(length, sf, bw, **settings)
        if self.air is not None:
            self._tx_frame = self.air.transmit(
                self,
                payload,
                frequency_hz=self.frequency_hz,
                sf=sf,
                bw_hz=bw,
                power_dbm=self.tx_power_dbm,
                sync_word=self.sync_word,
                iq_inverted=self.tx_iq_inverted,
                **settings,
            )
        self._tx_event = self.scheduler.after(round(airtime_us), self._tx_done)

    def _tx_done(self):
        self._tx_event = self._tx_frame = None
        self._set_mode(r.MODE_STDBY)
        self._raise_irq(r.IRQ_TX_DONE)

    # -- RX ---------------------------------------------------------------------------------
    def _start_rx(self, single):
        self._rx_start_us = self.scheduler.now_us
        self._rx_write_ptr = self.regs[r.REG_FIFO_RX_BASE_ADDR]
        if self.air is not None:
            self.air.listen(self)
        if single:
            timeout_us = self.symbol_timeout * symbol_time_us(
                self.spreading_factor, self.bandwidth_hz
            )
            self._rx_timeout_event = self.scheduler.after(round(timeout_us), self._rx_timeout)

    def _stop_rx(self):
        for name in ("_rx_timeout_event", "_header_event"):
            event = getattr(self, name, None)
            if event is not None:
                event.cancel()
            setattr(self, name, None)
        self._locked = None
        self._rx_start_us = None
        if self.air is not None:
            self.air.stop_listening(self)

    def _rx_timeout(self):
        self._rx_timeout_event = None
        locked = self._locked
        if locked is not None and locked.frame.lock_us <= self.scheduler.now_us:
            return  # preamble detected in time: keep receiving
        self._stop_rx()
        self._set_mode(r.MODE_STDBY)
        self._raise_irq(r.IRQ_RX_TIMEOUT)

    # Receiver interface used by lorafield_hw.air.
    def air_channel_match(self, frame):
        return (
            self.regs[r.REG_OP_MODE] & r.LONG_RANGE_MODE
            and frame.sf == self.spreading_factor
            and frame.bw_hz == self.bandwidth_hz
            and same_channel(frame.frequency_hz, self.frequency_hz, frame.bw_hz)
        )

    def air_decodable(self, frame):
        expected_iq2 = r.INVERT_IQ2_ON if self.rx_iq_inverted else r.INVERT_IQ2_OFF
        # Frames already in flight when RX started reach us only as interferers (Air.listen).
        return (
            frame.sync_word == self.sync_word
            and frame.iq_inverted == self.rx_iq_inverted
            and self.regs[r.REG_INVERT_IQ2] == expected_iq2
            and frame.implicit_header == self.implicit_header
        )

    def air_lock(self, reception):
        self._locked = reception
        if self._header_event is not None:
            self._header_event.cancel()
        self._header_event = None
        if not reception.frame.implicit_header:
            self._header_event = self.scheduler.at(
                round(reception.frame.header_end_us()), self._valid_header, reception
            )

    def _valid_header(self, reception):
        self._header_event = None
        if self._locked is not reception:
            return
        coding_rate_code = reception.frame.coding_rate - 4
        self.regs[r.REG_MODEM_STAT] = coding_rate_code << 5
        hop = self.regs[r.REG_HOP_CHANNEL] & ~r.CRC_ON_PAYLOAD
        self.regs[r.REG_HOP_CHANNEL] = hop | (r.CRC_ON_PAYLOAD if reception.frame.crc else 0)
        self._increment(r.REG_RX_HEADER_CNT_MSB)
        self._raise_irq(r.IRQ_VALID_HEADER)

    def air_rx_end(self, reception):
        if self._locked is not reception:
            return
        self._locked = None
        frame = reception.frame
        payload = frame.payload
        corrupted = reception.collided or frame.ldro != self.ldro
        if frame.implicit_header:
            crc_present = self.crc_on
            length = self.regs[r.REG_PAYLOAD_LENGTH]
            if length != len(payload) or frame.crc != crc_present:
                corrupted = True
            payload = (payload + bytes(length))[:length]
        else:
            crc_present = frame.crc
        if corrupted:
            payload = self._corrupt(payload)
        start = self._rx_write_ptr
        for index, byte in enumerate(payload):
            self.fifo[(start + index) & 0xFF] = byte
        self._rx_write_ptr = (start + len(payload)) & 0xFF
        regs = self.regs
        regs[r.REG_FIFO_RX_CURRENT_ADDR] = start
        regs[r.REG_RX_NB_BYTES] = len(payload)
        regs[r.REG_FIFO_RX_BYTE_ADDR] = self._rx_write_ptr
        snr = max(-32.0, min(31.75, reception.snr_db))
        regs[r.REG_PKT_SNR_VALUE] = round(snr * 4) & 0xFF
        # 5.5.5: with a negative SNR the register holds total power, signal plus noise.
        regs[r.REG_PKT_RSSI_VALUE] = self._rssi_register(reception.rssi_dbm - min(snr, 0))
        self._increment(r.REG_RX_PACKET_CNT_MSB)
        irq = r.IRQ_RX_DONE
        if corrupted and crc_present:
            irq |= r.IRQ_PAYLOAD_CRC_ERROR
        if self.mode == r.MODE_RX_SINGLE:
            self._stop_rx()
            self._set_mode(r.MODE_STDBY)
        self._raise_irq(irq)

    def _increment(self, msb_address):
        value = ((self.regs[msb_address] << 8) | self.regs[msb_address + 1]) + 1
        self.regs[msb_address] = (value >> 8) & 0xFF
        self.regs[msb_address + 1] = value & 0xFF

    def _corrupt(self, payload):
        """Flip bits deterministically (xorshift): what a collided frame leaves in the FIFO."""
        data = bytearray(payload)
        state = self._corruption_state & 0xFFFFFFFF or 1
        for index in range(len(data)):
            state ^= (state << 13) & 0xFFFFFFFF
            state ^= state >> 17
            state ^= (state << 5) & 0xFFFFFFFF
            data[index] ^= (state & 0xFF) or 0x01
        self._corruption_state = state
        return bytes(data)

    def __repr__(self):
        return f"SX1276({self.name!r}, mode={self.mode})"
