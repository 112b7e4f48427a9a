"""The real adafruit_rfm9x driver, unchanged, through the emulated SX1276 and air."""

import adafruit_rfm9x
import pytest
from lorafield_hw import sx1276_registers as r
from lorafield_hw.airtime import time_on_air_us
from lorafield_hw.radio_bus import rfm9x_wiring
from lorafield_hw.scheduler import VirtualTime
from lorafield_hw.sx1276 import SX1276
from radio_helpers import configure, pair, start_tx


def radios(rfm9x_time, distance_m=20.0, a_settings=None, b_settings=None, seed=1):
    scheduler, air, a, b = pair(seed=seed, distance_m=distance_m)
    rfm9x_time(scheduler)
    ra = adafruit_rfm9x.RFM9x(*rfm9x_wiring(a), 868.1)
    rb = adafruit_rfm9x.RFM9x(*rfm9x_wiring(b), 868.1)
    for radio, settings in ((ra, a_settings or {}), (rb, b_settings or {})):
        for name, value in settings.items():
            setattr(radio, name, value)
    return scheduler, air, (a, ra), (b, rb)


def test_driver_initialises_and_configures_the_chip(rfm9x_time):
    _, _, (chip, radio), _ = radios(rfm9x_time)
    assert chip.regs[r.REG_OP_MODE] & r.LONG_RANGE_MODE
    assert chip.mode == r.MODE_STDBY
    assert chip.frequency_hz == pytest.approx(868.1e6, abs=61.1)
    assert (chip.spreading_factor, chip.bandwidth_hz, chip.coding_rate) == (7, 125_000, 5)
    assert chip.crc_on and chip.preamble_length == 8
    assert radio.tx_power == 13
    radio.spreading_factor = 10
    radio.signal_bandwidth = 250_000
    radio.coding_rate = 8
    assert (chip.spreading_factor, chip.bandwidth_hz, chip.coding_rate) == (10, 250_000, 8)
    assert radio.spreading_factor == 10 and radio.signal_bandwidth == 250_000


def test_driver_rejects_a_chip_held_in_reset(rfm9x_time):
    scheduler, _, a, _ = pair()
    rfm9x_time(scheduler)
    spi, cs, _ = rfm9x_wiring(a)
    a.set_reset(False)
    stuck_reset = type(cs)(lambda level: None)  # a reset wire that goes nowhere
    with pytest.raises(RuntimeError, match="expected version"):
        adafruit_rfm9x.RFM9x(spi, cs, stuck_reset, 868.1)


def test_two_radios_exchange_packets(rfm9x_time):
    scheduler, _, (a, ra), (b, rb) = radios(rfm9x_time)
    rb.listen()
    start = scheduler.now_us
    assert ra.send(b"hello from a")
    # 4-byte RadioHead header + 12 bytes: the send lasts the time on air plus SPI polling.
    elapsed = scheduler.now_us - start
    airtime = time_on_air_us(16, 7, 125_000)
    assert airtime <= elapsed <= airtime + 2_000
    assert rb.receive(timeout=1.0) == b"hello from a"
    assert rb.last_snr > 0 and -125 < rb.last_rssi < -90
    ra.listen()
    assert rb.send(b"reply", keep_listening=True)
    assert ra.receive(timeout=1.0, with_header=True) == b"\xff\xff\x00\x00reply"
    assert a.tx.sent == 1 and a.tx.received == 1 and a.rx.received == 1
    assert b.tx.sent == 1 and b.tx.received == 1 and b.rx.received == 1


def test_concurrent_processes_send_and_receive(rfm9x_time):
    scheduler, _, (_, ra), (_, rb) = radios(rfm9x_time)
    # Each clock read hands control between threads: poll coarsely to keep the test fast.
    adafruit_rfm9x.time = VirtualTime(scheduler, read_cost_us=500)
    received = []

    def gateway():
        while len(received) < 3:
            packet = rb.receive(timeout=2.0)
            if packet is not None:
                received.append((scheduler.now_us, bytes(packet)))

    def node():
        for index in range(3):
            scheduler.advance(100_000)
            ra.send(b"reading %d" % index)

    scheduler.spawn(gateway)
    scheduler.spawn(node)
    scheduler.run(limit_us=scheduler.now_us + 10_000_000)
    scheduler.shutdown()
    assert [packet for _, packet in received] == [b"reading 0", b"reading 1", b"reading 2"]
    times = [t for t, _ in received]
    assert all(later - earlier > 100_000 for earlier, later in zip(times, times[1:], strict=False))


def test_no_reception_without_listening(rfm9x_time):
    scheduler, _, (_, ra), (_, rb) = radios(rfm9x_time)
    assert ra.send(b"nobody listens")  # rb is in standby
    assert rb.receive(timeout=0.2) is None


def _set_sync_word(radio, value):
    radio._write_u8(r.REG_SYNC_WORD, value)  # the driver's own register access


@pytest.mark.parametrize(
    ("a_settings", "b_settings"),
    [
        ({}, {"spreading_factor": 8}),
        ({}, {"frequency_mhz": 868.3}),
        ({}, {"signal_bandwidth": 250_000}),
    ],
    ids=["different-sf", "different-frequency", "different-bandwidth"],
)
def test_mismatched_settings_are_not_received(rfm9x_time, a_settings, b_settings):
    _, _, (_, ra), (b, rb) = radios(rfm9x_time, a_settings=a_settings, b_settings=b_settings)
    rb.listen()
    assert ra.send(b"mismatch")
    assert rb.receive(timeout=0.5) is None
    assert b.rx.received == 0
    for name, value in b_settings.items():  # the same settings on both ends: received
        setattr(ra, name, value)
    assert ra.send(b"match")
    assert rb.receive(timeout=0.5) == b"match"


def test_small_frequency_offset_is_tolerated(rfm9x_time):
    _, _, (_, ra), (_, rb) = radios(rfm9x_time, b_settings={"frequency_mhz": 868.12})
    rb.listen()
    ra.send(b"20 kHz off")
    assert rb.receive(timeout=0.5) == b"20 kHz off"


def test_wrong_sync_word_is_not_received(rfm9x_time):
    _, _, (_, ra), (b, rb) = radios(rfm9x_time)
    _set_sync_word(ra, 0x34)  # LoRaWAN public; rb keeps the private reset value 0x12
    rb.listen()
    assert ra.send(b"public network")
    assert rb.receive(timeout=0.5) is None
    _set_sync_word(rb, 0x34)
    assert ra.send(b"public network")
    assert rb.receive(timeout=0.5) == b"public network"


def test_mismatched_iq_is_not_received(rfm9x_time):
    _, _, (_, ra), (_, rb) = radios(rfm9x_time)
    # Sender inverts IQ as a LoRaWAN gateway does for downlinks (RegInvertIQ bit 0 cleared).
    ra._write_u8(r.REG_INVERT_IQ, 0x26)
    ra._write_u8(r.REG_INVERT_IQ2, r.INVERT_IQ2_ON)
    rb.listen()
    assert ra.send(b"downlink")
    assert rb.receive(timeout=0.5) is None
    rb.idle()
    rb._write_u8(r.REG_INVERT_IQ, 0x67)  # receive inverted
    rb._write_u8(r.REG_INVERT_IQ2, r.INVERT_IQ2_ON)
    rb.listen()
    assert ra.send(b"downlink")
    assert rb.receive(timeout=0.5) == b"downlink"


def test_frame_below_sensitivity_is_not_received(rfm9x_time):
    # 10 dBm (driver's 13 dBm setting on PA_BOOST) over 150 m loses ~140 dB: below -123 dBm.
    _, _, (_, ra), (b, rb) = radios(rfm9x_time, distance_m=150.0)
    rb.listen()
    assert ra.send(b"too far")
    assert rb.receive(timeout=0.5) is None
    assert b.rx.lost_sensitivity == 1
    # SF12 is 13 dB more sensitive: the same link works.
    for radio in (ra, rb):
        radio.spreading_factor = 12
        radio.low_datarate_optimize = True
    rb.listen()
    assert ra.send(b"too far")
    assert rb.receive(timeout=3.0) == b"too far"


def test_collision_shows_as_crc_error_in_the_driver(rfm9x_time):
    scheduler, air, (_, ra), (b, rb) = radios(rfm9x_time)
    c = SX1276(scheduler, air, name="c", position=(0.0, 20.0))  # as strong as a at b
    configure(c, sync_word=0x12, pa_config=0x88)  # same power as the driver's 13 dBm setting
    rb.listen()

    def interferer():
        scheduler.advance(5_000)
        start_tx(c, b"interfering frame")

    scheduler.spawn(interferer)
    assert ra.send(b"collides")
    assert rb.receive(timeout=0.5) is None
    assert rb.crc_error_count == 1
    assert b.rx.lost_collision == 1
