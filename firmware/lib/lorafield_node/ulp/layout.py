"""RTC slow memory layout of the parking ULP sampler (ulp/parking.py), and the conversions
the main CPU needs: small, so a wake that only talks to the ULP imports nothing else (the
image itself: ulp/parking_image.py)."""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# RTC slow memory layout (32-bit word addresses from 0x50000000)
V_MAGIC = const(0)  # MAGIC once the CPU has set the variables up (power-on: anything)
V_BASE_X = const(1)  # baseline of the empty bay, LSB + 0x8000
V_BASE_Y = const(2)
V_BASE_Z = const(3)
V_ON = const(4)  # squared deviation above which a free bay becomes occupied
V_OFF = const(5)  # squared deviation below which an occupied bay becomes free
V_DEBOUNCE = const(6)  # consecutive samples beyond the threshold for a change
V_HEARTBEAT = const(7)  # samples after the CPU slept at which it is woken anyway
V_STATE = const(8)  # 0 free, 1 occupied
V_PENDING = const(9)  # debounce counter
V_SLEPT = const(10)  # samples since the CPU went to sleep
V_CHANGE_AT = const(11)  # V_SLEPT at the last change
V_WAKE = const(12)  # bit 0: a change, bit 1: the heartbeat
V_X = const(13)  # last sample, LSB + 0x8000
V_Y = const(14)
V_Z = const(15)
V_DEV = const(16)  # last squared deviation, (16 LSB)^2 units
V_T0_S = const(17)  # CPU only: node seconds when the CPU went to sleep (32 bits)
N_VARS = const(18)
ENTRY = const(24)  # first instruction (words); the program ends well below 256 words

MAGIC = const(0x554C)  # "UL"
WAKE_CHANGE = const(1)
WAKE_HEARTBEAT = const(2)
SLAVE = const(0)  # SENS_SAR_SLAVE_ADDR1 field 0 holds the magnetometer's address
LSB_PER_UT = const(120)  # QMC5883L +-2 G: 12000 LSB/G
WAIT_5MS = const(40_000)  # cycles of the 8 MHz RTC_FAST_CLK
TRACK_SHIFT = const(6)  # as the light-sleep detector: 1/64 of each quiet sample
DEV_SHIFT = const(4)  # deviations in units of 16 LSB (0.133 uT): 255 units squared fit


def thresholds(on_ut):
    """(V_ON, V_OFF): squared deviations (units of 2^DEV_SHIFT LSB) for the app's threshold
    in uT (off: 5/8 of on, as the light-sleep detector). Above ~34 uT the square no longer
    fits 16 bits: V_ON saturates at 0xFFFF, which no sample exceeds."""
    on = on_ut * LSB_PER_UT >> DEV_SHIFT
    off = on * 5 // 8
    return (on * on if on < 256 else 0xFFFF), (off * off if off < 256 else 0xFFFF)


def deviation_ut10(dev):
    """V_DEV (a squared deviation) in 0.1 uT."""
    r = 0
    while (r + 1) * (r + 1) <= dev:
        r += 1
    return (r << DEV_SHIFT) * 10 // LSB_PER_UT


def bias(lsb):
    """A signed sample (LSB) as the ULP stores it."""
    return (lsb + 0x8000) & 0xFFFF
