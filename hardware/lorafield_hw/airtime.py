"""LoRa time on air: the one implementation the whole project uses.

Semtech AN1200.13 "LoRa Modem Designer's Guide" and SX1276 datasheet section 4.1.1.7:

    T_sym      = 2^SF / BW
    T_preamble = (n_preamble + 4.25) * T_sym
    n_payload  = 8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) * (CR + 4), 0)
    T_packet   = T_preamble + n_payload * T_sym

PL is the whole PHYPayload in bytes, CR = 1..4 for coding rates 4/5..4/8 (this API takes the
denominator 5..8, as drivers do), IH = 1 for implicit header, DE = 1 with low data rate
optimisation. Values are exact (fractions), so the three-decimal milliseconds match published
tables digit for digit.
"""

from fractions import Fraction
from functools import lru_cache

# Exact LoRa bandwidths of the SX1276 (datasheet 4.1.1.4, RegModemConfig1 Bw field codes 0..9):
# they derive from the 32 MHz crystal, so 7.8 kHz is really 7812.5 Hz and 10.4 kHz 10416 2/3 Hz.
BANDWIDTHS_HZ = (
    Fraction(15625, 2),
    Fraction(31250, 3),
    Fraction(15625),
    Fraction(62500, 3),
    Fraction(31250),
    Fraction(125000, 3),
    Fraction(62500),
    Fraction(125000),
    Fraction(250000),
    Fraction(500000),
)
# What people type (kHz) -> exact bandwidth in Hz.
BANDWIDTH_BY_KHZ = {
    "7.8": BANDWIDTHS_HZ[0],
    "10.4": BANDWIDTHS_HZ[1],
    "15.6": BANDWIDTHS_HZ[2],
    "20.8": BANDWIDTHS_HZ[3],
    "31.25": BANDWIDTHS_HZ[4],
    "41.7": BANDWIDTHS_HZ[5],
    "62.5": BANDWIDTHS_HZ[6],
    "125": BANDWIDTHS_HZ[7],
    "250": BANDWIDTHS_HZ[8],
    "500": BANDWIDTHS_HZ[9],
}

SPREADING_FACTORS = range(6, 13)
CODING_RATES = range(5, 9)  # denominators of 4/5 .. 4/8
# Datasheet 4.1.1.6: low data rate optimisation is mandated when the symbol lasts more than
# 16 ms. At 125 kHz that is exactly LoRaWAN's rule (SF11 and SF12).
LDRO_SYMBOL_THRESHOLD_S = Fraction(16, 1000)


def _bandwidth(bw_hz):
    bw = Fraction(bw_hz)
    if bw <= 0:
        raise ValueError(f"bandwidth must be positive, got {bw_hz!r}")
    return bw


def symbol_time_s(sf, bw_hz):
    """Exact symbol duration in seconds (a Fraction)."""
    return Fraction(2**sf) / _bandwidth(bw_hz)


@lru_cache(maxsize=256)
def symbol_time_us(sf, bw_hz):
    return float(symbol_time_s(sf, bw_hz) * 1_000_000)


def ldro_required(sf, bw_hz):
    """Whether low data rate optimisation must be on (symbol longer than 16 ms)."""
    return symbol_time_s(sf, bw_hz) > LDRO_SYMBOL_THRESHOLD_S


def _check(payload_bytes, sf, coding_rate, preamble):
    if sf not in SPREADING_FACTORS:
        raise ValueError(f"spreading factor must be 6..12, got {sf!r}")
    if coding_rate not in CODING_RATES:
        raise ValueError(f"coding rate denominator must be 5..8, got {coding_rate!r}")
    if not 0 <= payload_bytes <= 255:
        raise ValueError(f"payload length must be 0..255 bytes, got {payload_bytes!r}")
    if not 0 <= preamble <= 0xFFFF:
        raise ValueError(f"preamble length must be 0..65535 symbols, got {preamble!r}")


def payload_symbols(payload_bytes, sf, *, coding_rate=5, crc=True, implicit_header=False, ldro):
    """Number of symbols after the preamble (header included), datasheet 4.1.1.7."""
    de = 1 if ldro else 0
    numerator = 8 * payload_bytes - 4 * sf + 28 + 16 * int(bool(crc)) - 20 * int(implicit_header)
    denominator = 4 * (sf - 2 * de)
    blocks = -(-numerator // denominator)  # ceil for integers of any sign
    return 8 + max(blocks * coding_rate, 0)


@lru_cache(maxsize=4096)
def time_on_air_s(
    payload_bytes,
    sf,
    bw_hz,
    *,
    coding_rate=5,
    preamble=8,
    crc=True,
    implicit_header=False,
    ldro=None,
):
    """Exact time on air in seconds (Fraction). `ldro=None` applies the datasheet rule."""
    _check(payload_bytes, sf, coding_rate, preamble)
    bw = _bandwidth(bw_hz)
    if ldro is None:
        ldro = ldro_required(sf, bw)
    t_sym = Fraction(2**sf) / bw
    n_payload = payload_symbols(
        payload_bytes,
        sf,
        coding_rate=coding_rate,
        crc=crc,
        implicit_header=implicit_header,
        ldro=ldro,
    )
    return (Fraction(preamble) + Fraction(17, 4) + n_payload) * t_sym


@lru_cache(maxsize=4096)
def time_on_air_us(payload_bytes, sf, bw_hz, **settings):
    """Time on air in microseconds (float; exact for the standard bandwidths)."""
    return float(time_on_air_s(payload_bytes, sf, bw_hz, **settings) * 1_000_000)


def format_ms(seconds):
    """Milliseconds with three decimals, rounded half up from the exact value."""
    thousandths = (Fraction(seconds) * 1_000_000 + Fraction(1, 2)) // 1
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"
