"""Field encodings shared by rxpk and txpk (PROTOCOL.TXT 4 and 6): data rate strings such as
"SF7BW125", coding rate strings such as "4/5", frequencies in MHz, base64 payloads, and
strict typed readers that name the offending field."""

import base64
import binascii
import re

from .header import SemtechError

_DATR = re.compile(r"^SF(\d{1,2})BW(\d{2,3})$")
BANDWIDTHS_KHZ = (125, 250, 500)


def datr(sf, bw_hz):
    return f"SF{int(sf)}BW{int(bw_hz) // 1000}"


def parse_datr(value, where):
    if not isinstance(value, str):
        raise SemtechError(f"{where}.datr must be a string like 'SF7BW125'")
    match = _DATR.match(value)
    if not match:
        raise SemtechError(f"{where}.datr {value!r} is not like 'SF7BW125'")
    sf, bw_khz = int(match.group(1)), int(match.group(2))
    if not 6 <= sf <= 12 or bw_khz not in BANDWIDTHS_KHZ:
        raise SemtechError(f"{where}.datr {value!r} is not a LoRa data rate")
    return sf, bw_khz * 1000


def codr(coding_rate):
    return f"4/{int(coding_rate)}"


def parse_codr(value, where):
    if value not in ("4/5", "4/6", "4/7", "4/8"):
        raise SemtechError(f"{where}.codr {value!r} is not one of 4/5, 4/6, 4/7, 4/8")
    return int(value[2])


def freq_mhz(frequency_hz):
    return round(frequency_hz / 1e6, 6)


def parse_freq(value, where):
    number = get_number(value, where + ".freq")
    if not 100.0 <= number <= 3000.0:
        raise SemtechError(f"{where}.freq {number} MHz is out of range")
    return round(number * 1e6)


def b64(payload):
    return base64.b64encode(bytes(payload)).decode("ascii")


def parse_b64(value, where):
    if not isinstance(value, str):
        raise SemtechError(f"{where}.data must be a base64 string")
    # The reference forwarder's own decoder accepts missing "=" padding (PROTOCOL.TXT's
    # PULL_RESP example has none), so pad before the strict decode.
    text = value.strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SemtechError(f"{where}.data is not valid base64") from None


def get_number(value, name):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SemtechError(f"{name} must be a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise SemtechError(f"{name} must be finite")
    if isinstance(value, int):
        try:
            float(value)  # JSON integers have no bound; callers use them as floats
        except OverflowError:
            raise SemtechError(f"{name} is out of range") from None
    return value


def get_int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise SemtechError(f"{name} must be an integer")
    if not low <= value <= high:
        raise SemtechError(f"{name} {value} is outside {low}..{high}")
    return value


def get_bool(value, name):
    if not isinstance(value, bool):
        raise SemtechError(f"{name} must be true or false")
    return value
