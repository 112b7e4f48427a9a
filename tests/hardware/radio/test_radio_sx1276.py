"""Register-level behaviour of the emulated SX1276 (datasheet rev. 7 sections in comments)."""

import pytest
from lorafield_hw import sx1276_registers as r
from lorafield_hw.airtime import symbol_time_us, time_on_air_us
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sx1276 import RESET_READY_US, SX1276
from radio_helpers import configure, pair, read_packet, set_mode, start_tx


@pytest.fixture
def chip():
    return SX1276(Scheduler(0))


def test_version_and_reset_defaults(chip):
    assert chip.read_register(r.REG_VERSION) == 0x12
    for address, value in r.RESET_VALUES.items():
        assert chip.read_register(address) == value, hex(address)


def test_unmodelled_registers_read_back_and_read_only_ignore_writes(chip):
    chip.write_register(0x2F, 0x44)  # an errata register the model does not interpret
    chip.write_register(0x70, 0xA5)
    assert chip.read_register(0x2F) == 0x44 and chip.read_register(0x70) == 0xA5
    chip.write_register(r.REG_VERSION, 0x00)
    chip.write_register(r.REG_RX_NB_BYTES, 0x33)
    assert chip.read_register(r.REG_VERSION) == 0x12
    assert chip.read_register(r.REG_RX_NB_BYTES) == 0


def test_long_range_mode_changes_only_in_sleep(chip):
    # Reset state is FSK standby: setting LongRangeMode there is ignored (6.4 RegOpMode).
    chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_STDBY)
    assert chip.read_register(r.REG_OP_MODE) & r.LONG_RANGE_MODE == 0
    assert chip.mode == r.MODE_STDBY
    chip.write_register(r.REG_OP_MODE, r.MODE_SLEEP)
    chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_SLEEP)
    assert chip.read_register(r.REG_OP_MODE) == r.LONG_RANGE_MODE
    chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_STDBY)
    chip.write_register(r.REG_OP_MODE, r.MODE_STDBY)  # leaving LoRa outside sleep: ignored
    assert chip.read_register(r.REG_OP_MODE) == r.LONG_RANGE_MODE | r.MODE_STDBY


def test_burst_access_auto_increments_the_address(chip):
    chip.transaction(bytes((r.REG_FRF_MSB | 0x80, 0xD9, 0x06, 0x66)))
    assert chip.transaction(bytes((r.REG_FRF_MSB, 0, 0, 0)))[1:] == bytes((0xD9, 0x06, 0x66))
    assert chip.frequency_hz == pytest.approx(868.1e6, abs=61.1)  # Fstep = 61.035 Hz


def test_fifo_bursts_use_and_advance_the_fifo_pointer(chip):
    chip.write_register(r.REG_FIFO_ADDR_PTR, 0x10)
    chip.transaction(bytes((r.REG_FIFO | 0x80, 1, 2, 3, 4)))
    assert chip.read_register(r.REG_FIFO_ADDR_PTR) == 0x14
    chip.write_register(r.REG_FIFO_ADDR_PTR, 0x11)
    assert chip.transaction(bytes((r.REG_FIFO, 0, 0)))[1:] == bytes((2, 3))
    chip.write_register(r.REG_FIFO_ADDR_PTR, 0xFF)  # the pointer wraps within 256 bytes
    chip.transaction(bytes((r.REG_FIFO | 0x80, 7, 8)))
    assert chip.fifo[0xFF] == 7 and chip.fifo[0] == 8


def test_sleep_clears_the_fifo(chip):
    configure(chip)
    chip.transaction(bytes((r.REG_FIFO | 0x80, 9, 9, 9)))
    set_mode(chip, r.MODE_SLEEP)
    assert not any(chip.fifo)


def test_spi_transactions_cost_virtual_time():
    scheduler = Scheduler(0)
    chip = SX1276(scheduler, spi_hz=1_000_000, spi_overhead_us=2)
    before = scheduler.now_us
    for _ in range(100):
        chip.read_register(r.REG_VERSION)  # 2 bytes = 16 us at 1 MHz, + 2 us overhead
    assert scheduler.now_us - before == 1800
    chip.spi_hz = 8_000_000
    before = scheduler.now_us
    chip.transaction(bytes(257))  # 257 bytes at 8 MHz = 257 us
    assert scheduler.now_us - before == 257 + 2


def test_reset_line_restores_defaults_and_needs_5_ms(chip):
    configure(chip, sf=9)
    chip.write_register(0x2F, 0x44)
    chip.set_reset(False)
    assert chip.read_register(r.REG_VERSION) == 0  # held in reset: no answer
    chip.set_reset(True)
    assert chip.read_register(r.REG_VERSION) == 0  # not ready yet (7.2.2)
    chip.scheduler.advance(RESET_READY_US)
    assert chip.read_register(r.REG_VERSION) == 0x12
    assert chip.read_register(r.REG_MODEM_CONFIG2) == 0x70
    assert chip.read_register(0x2F) == 0
    assert chip.read_register(r.REG_OP_MODE) == 0x09


def test_irq_flags_clear_by_writing_one_and_mask_suppresses(chip):
    configure(chip)
    start_tx(chip, b"x")
    chip.scheduler.run()
    assert chip.read_register(r.REG_IRQ_FLAGS) == r.IRQ_TX_DONE
    chip.write_register(r.REG_IRQ_FLAGS, r.IRQ_RX_DONE)  # other bits: no effect
    assert chip.read_register(r.REG_IRQ_FLAGS) == r.IRQ_TX_DONE
    chip.write_register(r.REG_IRQ_FLAGS, 0xFF)
    assert chip.read_register(r.REG_IRQ_FLAGS) == 0
    chip.write_register(r.REG_IRQ_FLAGS_MASK, r.IRQ_TX_DONE)
    start_tx(chip, b"x")
    chip.scheduler.run()
    assert chip.read_register(r.REG_IRQ_FLAGS) == 0
    assert chip.mode == r.MODE_STDBY


def test_tx_takes_time_on_air_then_txdone_dio0_and_standby():
    scheduler = Scheduler(0)
    chip = SX1276(scheduler)
    configure(chip, sf=9, cr_code=2)
    edges = []
    chip.dio0.irq(handler=lambda pin: edges.append((scheduler.now_us, pin.value())))
    chip.write_register(r.REG_DIO_MAPPING1, 0x40)  # DIO0 = TxDone (Table 18)
    start_tx(chip, bytes(20))
    started = chip.mode_changed_us
    expected = round(time_on_air_us(20, 9, 125_000, coding_rate=6))
    scheduler.run_until(started + expected - 1)
    assert chip.mode == r.MODE_TX and chip.dio0.value() == 0
    scheduler.run()
    assert edges == [(started + expected, 1)]
    assert chip.mode == r.MODE_STDBY
    chip.write_register(r.REG_IRQ_FLAGS, r.IRQ_TX_DONE)
    assert chip.dio0.value() == 0


def test_dio0_follows_mapping(chip):
    configure(chip)
    start_tx(chip, b"abc")
    chip.scheduler.run()
    chip.write_register(r.REG_DIO_MAPPING1, 0x00)  # RxDone: TxDone no longer shows
    assert chip.dio0.value() == 0
    chip.write_register(r.REG_DIO_MAPPING1, 0x40)
    assert chip.dio0.value() == 1


def test_rx_single_times_out_after_symb_timeout_symbols():
    scheduler = Scheduler(0)
    chip = SX1276(scheduler)
    configure(chip, sf=8)
    # 10-bit timeout: 0x2 in ModemConfig2 bits 1-0, 0x05 in SymbTimeoutLsb -> 517 symbols.
    chip.write_register(r.REG_MODEM_CONFIG2, (8 << 4) | r.RX_PAYLOAD_CRC_ON | 0x02)
    chip.write_register(r.REG_SYMB_TIMEOUT_LSB, 0x05)
    chip.write_register(r.REG_DIO_MAPPING1, 0x00)  # DIO1 = RxTimeout
    set_mode(chip, r.MODE_RX_SINGLE)
    started = chip.mode_changed_us
    timeout = round(517 * symbol_time_us(8, 125_000))
    scheduler.run_until(started + timeout - 1)
    assert chip.mode == r.MODE_RX_SINGLE and chip.dio1.value() == 0
    scheduler.run_until(started + timeout)
    assert chip.read_register(r.REG_IRQ_FLAGS) == r.IRQ_RX_TIMEOUT
    assert chip.dio1.value() == 1
    assert chip.mode == r.MODE_STDBY


def test_rx_single_receives_and_returns_to_standby():
    scheduler, _, a, b = pair()
    configure(a)
    configure(b)
    b.write_register(r.REG_SYMB_TIMEOUT_LSB, 8)
    set_mode(b, r.MODE_RX_SINGLE)
    start_tx(a, b"uplink")
    scheduler.run()
    flags = b.read_register(r.REG_IRQ_FLAGS)
    assert flags == r.IRQ_RX_DONE | r.IRQ_VALID_HEADER
    assert b.mode == r.MODE_STDBY
    assert read_packet(b) == b"uplink"
    assert b.read_register(r.REG_HOP_CHANNEL) & r.CRC_ON_PAYLOAD  # CRC announced
    assert b.read_register(r.REG_RX_PACKET_CNT_LSB) == 1


def test_rx_single_times_out_when_frame_starts_too_late_to_detect():
    scheduler, _, a, b = pair()
    configure(a)
    configure(b)
    b.write_register(r.REG_SYMB_TIMEOUT_LSB, 5)  # 5 ms window at SF7
    set_mode(b, r.MODE_RX_SINGLE)
    scheduler.advance(4_000)  # preamble lock needs 3 more symbols: past the window
    start_tx(a, b"late")
    scheduler.run()
    assert b.read_register(r.REG_IRQ_FLAGS) == r.IRQ_RX_TIMEOUT
    assert b.rx.received == 0


def test_frame_started_before_listening_is_not_received():
    scheduler, _, a, b = pair()
    configure(a)
    configure(b)
    start_tx(a, b"early")
    scheduler.advance(100)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    scheduler.run()
    assert b.read_register(r.REG_IRQ_FLAGS) == 0
    start_tx(a, b"second")  # the next one is heard
    scheduler.run()
    assert b.read_register(r.REG_IRQ_FLAGS) & r.IRQ_RX_DONE
    assert read_packet(b) == b"second"


def test_rx_continuous_keeps_listening_and_queues_packets():
    scheduler, _, a, b = pair()
    configure(a)
    configure(b)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    for text in (b"one", b"two"):
        start_tx(a, text)
        scheduler.run()
    assert b.mode == r.MODE_RX_CONTINUOUS
    assert read_packet(b) == b"two"
    assert b.read_register(r.REG_FIFO_RX_CURRENT_ADDR) == 3  # after "one" in the FIFO
    assert b.read_register(r.REG_FIFO_RX_BYTE_ADDR) == 6


def test_packet_rssi_and_snr_registers():
    scheduler, air, a, b = pair(distance_m=30)
    configure(a, pa_config=0x8F)  # PA_BOOST, OutputPower 15 -> 17 dBm (5.4.3)
    configure(b)
    assert a.tx_power_dbm == 17
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"rssi")
    scheduler.run()
    expected_rssi = 17 - air.path_loss.mean_loss_db(30)
    expected_snr = expected_rssi - air.noise_floor_dbm(125_000)
    assert expected_snr > 0
    snr_raw = b.read_register(r.REG_PKT_SNR_VALUE)
    assert (snr_raw - 256 if snr_raw > 127 else snr_raw) / 4 == pytest.approx(
        expected_snr, abs=0.125
    )
    assert -157 + b.read_register(r.REG_PKT_RSSI_VALUE) == round(expected_rssi)


def test_negative_snr_is_twos_complement_and_rssi_includes_noise():
    scheduler, air, a, b = pair(distance_m=200)
    configure(a, sf=12, pa_config=0x8F)
    configure(b, sf=12)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"far")
    scheduler.run()
    rssi = 17 - air.path_loss.mean_loss_db(200)
    snr = rssi - air.noise_floor_dbm(125_000)
    assert snr < 0
    raw = b.read_register(r.REG_PKT_SNR_VALUE)
    assert raw > 127 and (raw - 256) / 4 == pytest.approx(snr, abs=0.125)
    # 5.5.5: for SNR < 0, packet strength = -157 + PktRssi + SNR/4.
    assert -157 + b.read_register(r.REG_PKT_RSSI_VALUE) + (raw - 256) / 4 == pytest.approx(
        rssi, abs=0.75
    )


def test_rssi_value_shows_noise_floor_and_a_frame_in_flight():
    scheduler, air, a, b = pair()
    configure(a)
    configure(b)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    quiet = -157 + b.read_register(r.REG_RSSI_VALUE)
    assert quiet == round(air.noise_floor_dbm(125_000))
    start_tx(a, bytes(30))
    scheduler.advance(5_000)
    busy = -157 + b.read_register(r.REG_RSSI_VALUE)
    assert busy == pytest.approx(17 - air.path_loss.mean_loss_db(20), abs=1)


def test_corrupted_frame_sets_crc_error_only_when_header_announces_crc():
    # Two equally strong senders collide at the receiver.
    scheduler, air, a, b = pair()
    c = type(a)(scheduler, air, name="c", position=(40.0, 0.0))
    for chip, crc in ((a, True), (b, True), (c, True)):
        configure(chip, crc=crc)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"first frame")
    scheduler.advance(2_000)
    start_tx(c, b"second frame")
    scheduler.run()
    flags = b.read_register(r.REG_IRQ_FLAGS)
    assert flags & r.IRQ_RX_DONE and flags & r.IRQ_PAYLOAD_CRC_ERROR
    assert read_packet(b) != b"first frame"
    assert b.rx.lost_collision >= 1 and b.rx.received == 0
    # Downlink-style frames carry no CRC: the corrupted payload arrives without an error flag.
    b.write_register(r.REG_IRQ_FLAGS, 0xFF)
    configure(a, crc=False)
    configure(c, crc=False)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"first frame")
    scheduler.advance(2_000)
    start_tx(c, b"second frame")
    scheduler.run()
    flags = b.read_register(r.REG_IRQ_FLAGS)
    assert flags & r.IRQ_RX_DONE and not flags & r.IRQ_PAYLOAD_CRC_ERROR
    assert not b.read_register(r.REG_HOP_CHANNEL) & r.CRC_ON_PAYLOAD
    assert read_packet(b) != b"first frame"


def test_ldro_mismatch_corrupts_payload():
    scheduler, _, a, b = pair()
    configure(a, sf=11, ldro=True)
    configure(b, sf=11, ldro=False)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"payload")
    scheduler.run()
    assert b.read_register(r.REG_IRQ_FLAGS) & r.IRQ_PAYLOAD_CRC_ERROR


@pytest.mark.parametrize(
    ("tx", "rx", "received"),
    [
        ({"iq_tx_inverted": True}, {"iq_rx_inverted": True}, True),  # a LoRaWAN downlink
        ({"iq_tx_inverted": True}, {}, False),  # node forgot to invert IQ for RX
        ({}, {"iq_rx_inverted": True}, False),
        ({}, {}, True),
    ],
)
def test_iq_polarity_must_match(tx, rx, received):
    scheduler, _, a, b = pair()
    configure(a, **tx)
    configure(b, **rx)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"downlink")
    scheduler.run()
    assert bool(b.read_register(r.REG_IRQ_FLAGS) & r.IRQ_RX_DONE) == received


def test_inverted_rx_needs_invert_iq2():
    scheduler, _, a, b = pair()
    configure(a, iq_tx_inverted=True)
    configure(b, iq_rx_inverted=True)
    b.write_register(r.REG_INVERT_IQ2, r.INVERT_IQ2_OFF)  # half-configured inversion
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"downlink")
    scheduler.run()
    assert b.read_register(r.REG_IRQ_FLAGS) == 0


def test_standby_during_tx_truncates_the_frame():
    scheduler, _, a, b = pair()
    configure(a)
    configure(b)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, bytes(40))
    scheduler.advance(10_000)
    set_mode(a, r.MODE_STDBY)
    scheduler.run()
    assert a.read_register(r.REG_IRQ_FLAGS) == 0  # no TxDone
    assert not b.read_register(r.REG_IRQ_FLAGS) & r.IRQ_RX_DONE or (
        b.read_register(r.REG_IRQ_FLAGS) & r.IRQ_PAYLOAD_CRC_ERROR
    )
    assert b.rx.received == 0


def test_irq_handler_may_read_registers_from_the_event():
    scheduler, _, a, b = pair()
    configure(a)
    configure(b)
    seen = []

    def on_dio0(pin):
        # Runs inside the scheduler's event: SPI here is instantaneous, not an error.
        seen.append((scheduler.now_us, b.read_register(r.REG_IRQ_FLAGS), read_packet(b)))

    b.dio0.irq(handler=on_dio0, trigger=b.dio0.IRQ_RISING)
    b.write_register(r.REG_DIO_MAPPING1, 0x00)  # DIO0 = RxDone
    set_mode(b, r.MODE_RX_CONTINUOUS)
    start_tx(a, b"irq")
    scheduler.run()
    assert len(seen) == 1
    when, flags, packet = seen[0]
    assert flags & r.IRQ_RX_DONE and packet == b"irq"
    assert when == a.mode_changed_us  # RxDone and TxDone at the frame's end


def test_machine_style_bus_and_pins():
    from lorafield_hw.radio_bus import MachineSPI, chip_select_line, reset_line

    scheduler = Scheduler(0)
    chip = SX1276(scheduler)
    spi, cs, reset = MachineSPI(chip, baudrate=1_000_000), chip_select_line(chip), reset_line(chip)
    cs.value(0)
    spi.write(bytes((r.REG_SYNC_WORD | 0x80, 0x34)))
    cs.value(1)
    cs.off()
    spi.write(bytes((r.REG_SYNC_WORD,)))
    assert spi.read(1) == b"\x34"
    cs.on()
    buffer = bytearray(2)
    cs(0)
    spi.write_readinto(bytes((r.REG_VERSION, 0)), buffer)
    cs(1)
    assert buffer[1] == 0x12
    spi.readinto(buffer)  # chip not selected: nothing answers
    assert buffer == bytearray(2)
    reset.off()
    reset.on()
    scheduler.advance(RESET_READY_US)
    assert chip.read_register(r.REG_SYNC_WORD) == 0x12  # back to the reset value


def test_fifo_is_not_accessible_in_sleep(chip):
    configure(chip)
    set_mode(chip, r.MODE_SLEEP)
    chip.write_register(r.REG_FIFO_ADDR_PTR, 0)
    chip.transaction(bytes((r.REG_FIFO | 0x80, 1, 2, 3)))
    set_mode(chip, r.MODE_STDBY)
    assert chip.read_register(r.REG_FIFO_ADDR_PTR) == 0
    assert chip.transaction(bytes((r.REG_FIFO, 0, 0, 0)))[1:] == bytes(3)


def test_modem_status_while_receiving():
    scheduler, _, a, b = pair()
    configure(a, cr_code=3)  # 4/7
    configure(b)
    set_mode(b, r.MODE_RX_CONTINUOUS)
    assert b.read_register(r.REG_MODEM_STAT) == r.MODEM_CLEAR
    start_tx(a, bytes(30))
    scheduler.advance(2_000)  # in the preamble
    status = b.read_register(r.REG_MODEM_STAT)
    assert status & r.RX_ONGOING and not status & (r.HEADER_INFO_VALID | r.MODEM_CLEAR)
    scheduler.advance(20_000)  # past the header
    status = b.read_register(r.REG_MODEM_STAT)
    assert status & r.HEADER_INFO_VALID and status >> 5 == 3
    scheduler.run()
    assert b.read_register(r.REG_MODEM_STAT) & r.MODEM_CLEAR
