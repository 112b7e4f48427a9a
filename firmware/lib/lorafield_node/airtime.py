# LoRa time on air (Semtech AN1200.13; SX1276 datasheet 4.1.1.6-4.1.1.7), in integer maths.
#
# The node needs it to wait for TxDone without polling, to enforce duty-cycle limits and to
# size RX windows; the emulation and the gateway use the same function so every part of the
# project agrees on the physics.


def low_data_rate_optimize(sf, bw_hz):
    # Datasheet 4.1.1.6: mandated when a symbol lasts more than 16 ms (at 125 kHz that is
    # SF11 and SF12, LoRaWAN's rule). Exact integer comparison of 2^SF / BW > 16 ms.
    return (1 << sf) * 1000 > 16 * bw_hz


def payload_symbols(payload_len, sf, bw_hz, cr=5, crc=True, implicit_header=False, ldro=None):
    """Symbols after the preamble: 8 + max(ceil(...) * CR, 0) (datasheet 4.1.1.7)."""
    if ldro is None:
        ldro = low_data_rate_optimize(sf, bw_hz)
    de = 1 if ldro else 0
    numerator = 8 * payload_len - 4 * sf + 28 + (16 if crc else 0) - (20 if implicit_header else 0)
    denominator = 4 * (sf - 2 * de)
    blocks = -(-numerator // denominator) if numerator > 0 else 0  # ceil for positives
    return 8 + blocks * cr


def airtime_us(
    payload_len, sf, bw_hz, cr=5, crc=True, preamble=8, implicit_header=False, ldro=None
):
    """Time on air of a whole frame in microseconds, rounded to the nearest microsecond.

    `cr` is the coding-rate denominator (5 for 4/5 ... 8 for 4/8); `payload_len` the
    PHYPayload length in bytes; `preamble` the programmed preamble length in symbols.
    """
    if not 6 <= sf <= 12:
        raise ValueError("sf must be 6..12")
    if bw_hz <= 0:
        raise ValueError("bandwidth must be positive")
    if not 5 <= cr <= 8:
        raise ValueError("cr must be 5..8 (4/5..4/8)")
    if not 0 <= payload_len <= 255:
        raise ValueError("payload length must be 0..255")
    symbols = payload_symbols(payload_len, sf, bw_hz, cr, crc, implicit_header, ldro)
    # Preamble lasts n + 4.25 symbols: count in quarter symbols to stay in integers.
    quarter_symbols = 4 * (preamble + symbols) + 17
    return (quarter_symbols * (1 << sf) * 1000000 + 2 * bw_hz) // (4 * bw_hz)


def symbol_us(sf, bw_hz):
    return ((1 << sf) * 1000000) // bw_hz
