"""Shared set-up for the radio tests: chips on an air, configured through SPI registers."""

from lorafield_hw import sx1276_registers as r
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sx1276 import SX1276


def world(seed=1, **path_loss):
    scheduler = Scheduler(seed)
    return scheduler, Air(scheduler, PathLoss(seed=seed, **path_loss))


def configure(
    chip,
    *,
    frequency_hz=868_100_000,
    sf=7,
    bw_code=7,
    cr_code=1,
    crc=True,
    sync_word=0x34,
    preamble=8,
    pa_config=0x8F,
    ldro=None,
    iq_rx_inverted=False,
    iq_tx_inverted=False,
):
    """Sleep, LoRa mode, radio settings, standby -- as a LoRa driver does it."""
    write = chip.write_register
    write(r.REG_OP_MODE, r.MODE_SLEEP)
    write(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_SLEEP)
    frf = round(frequency_hz * r.FSTEP_DIVISOR / r.FXOSC_HZ)
    write(r.REG_FRF_MSB, frf >> 16)
    write(r.REG_FRF_MID, (frf >> 8) & 0xFF)
    write(r.REG_FRF_LSB, frf & 0xFF)
    write(r.REG_FIFO_TX_BASE_ADDR, 0)
    write(r.REG_FIFO_RX_BASE_ADDR, 0)
    write(r.REG_MODEM_CONFIG1, (bw_code << 4) | (cr_code << 1))
    write(r.REG_MODEM_CONFIG2, (sf << 4) | (r.RX_PAYLOAD_CRC_ON if crc else 0))
    if ldro is None:
        ldro = sf >= 11 and bw_code == 7
    write(r.REG_MODEM_CONFIG3, r.LOW_DATA_RATE_OPTIMIZE if ldro else 0)
    write(r.REG_PREAMBLE_MSB, preamble >> 8)
    write(r.REG_PREAMBLE_LSB, preamble & 0xFF)
    write(r.REG_SYNC_WORD, sync_word)
    write(r.REG_PA_CONFIG, pa_config)
    invert = 0x27 & ~(r.INVERT_IQ_RX | r.INVERT_IQ_TX_OFF)
    invert |= r.INVERT_IQ_RX if iq_rx_inverted else 0
    invert |= 0 if iq_tx_inverted else r.INVERT_IQ_TX_OFF
    write(r.REG_INVERT_IQ, invert)
    inverted = iq_rx_inverted or iq_tx_inverted
    write(r.REG_INVERT_IQ2, r.INVERT_IQ2_ON if inverted else r.INVERT_IQ2_OFF)
    write(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_STDBY)


def load_fifo(chip, payload):
    chip.write_register(r.REG_FIFO_ADDR_PTR, chip.read_register(r.REG_FIFO_TX_BASE_ADDR))
    chip.transaction(bytes((r.REG_FIFO | 0x80,)) + bytes(payload))
    chip.write_register(r.REG_PAYLOAD_LENGTH, len(payload))


def start_tx(chip, payload):
    load_fifo(chip, payload)
    chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | r.MODE_TX)


def set_mode(chip, mode):
    chip.write_register(r.REG_OP_MODE, r.LONG_RANGE_MODE | mode)


def read_packet(chip):
    length = chip.read_register(r.REG_RX_NB_BYTES)
    chip.write_register(r.REG_FIFO_ADDR_PTR, chip.read_register(r.REG_FIFO_RX_CURRENT_ADDR))
    return chip.transaction(bytes((r.REG_FIFO,)) + bytes(length))[1:]


def pair(seed=1, distance_m=20.0, **path_loss):
    scheduler, air = world(seed, **path_loss)
    a = SX1276(scheduler, air, name="a", position=(0.0, 0.0))
    b = SX1276(scheduler, air, name="b", position=(distance_m, 0.0))
    return scheduler, air, a, b
