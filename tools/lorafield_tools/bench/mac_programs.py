"""Programs that run unchanged on MicroPython (in the VM) and CPython. The MAC tests compare
their output line for line (tests/lorawan/mac/test_mac_micropython.py) and `lorafield bench
firmware` measures heap and CPU time with them. Each defines `main(...)` printing lines.
"""

from .keys import TEST_KEYS_SOURCE

# A RAM NOR block device (erase sets 0xFF, program only clears bits). Its image is filled in place:
# no temporary buffer, as the VM frees nothing during one call. Also used by tests/apps/mp_apps.py.
RAM_FLASH = """
class RamFlash:
    def __init__(self, size=4096, count=3):
        self.size = size
        self.count = count
        self.data = bytearray(size * count)
        for i in range(size * count):
            self.data[i] = 0xFF
        self.writes = 0

    def readblocks(self, block, buf, offset=0):
        a = block * self.size + offset
        for i in range(len(buf)):
            buf[i] = self.data[a + i]

    def writeblocks(self, block, buf, offset=0):
        a = block * self.size + offset
        for i in range(len(buf)):
            self.data[a + i] &= buf[i]
        self.writes += 1

    def ioctl(self, op, arg=0):
        if op == 4:
            return self.count
        if op == 5:
            return self.size
        if op == 6:
            a = arg * self.size
            for i in range(self.size):
                self.data[a + i] = 0xFF
            self.writes += 1
            return 0
        return 0

"""

# A clock with MicroPython's 30-bit wrapping ticks that advances only when slept on.
CLOCK = """
class Clock:
    def __init__(self):
        self.us = 0

    def ticks_us(self):
        return self.us & 0x3FFFFFFF

    def ticks_ms(self):
        return (self.us // 1000) & 0x3FFFFFFF

    def ticks_diff(self, a, b):
        return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000

    def ticks_add(self, t, d):
        return (t + d) & 0x3FFFFFFF

    def sleep_us(self, us):
        self.us += us

    def sleep_ms(self, ms):
        self.us += ms * 1000

"""

# Shared fakes: a RAM NOR block device, a clock, a board and a radio (MicroPython subset).
FAKES = (
    """
from lorafield_node.store import Store
"""
    + TEST_KEYS_SOURCE
    + RAM_FLASH
    + CLOCK
    + """
class Board:
    def __init__(self):
        self._clock = Clock()
        self.n = 0

    def clock(self):
        return self._clock

    def lightsleep(self, ms):
        self._clock.sleep_ms(ms)

    def random_bytes(self, n):
        self.n += 1
        return bytes([(self.n * 37 + i * 11) & 0xFF for i in range(n)])

    def battery_mv(self):
        return 3900


class Radio:
    def __init__(self, clock, replies):
        self._clock = clock
        self.rx_buffer = bytearray(256)
        self.rssi = -70
        self.snr = 6.0
        self.replies = replies  # frames played into the next windows, in order (b"" = none)
        self.sent = []

    def set_frequency(self, hz):
        self.freq = hz

    def set_modulation(self, sf, bw, cr=5, crc=True, preamble=8):
        self.sf = sf

    def set_tx_power(self, dbm):
        pass

    def airtime_us(self, n):
        return 40000 + n * 1000

    def transmit(self, payload, invert_iq=False):
        self.sent.append(bytes(payload))
        self._clock.sleep_us(self.airtime_us(len(payload)))
        return self._clock.ticks_us()

    def receive_single(self, symbols, invert_iq=True):
        self._clock.sleep_us(symbols * 1024)
        if not self.replies:
            return 0
        phy = self.replies.pop(0)
        self.rx_buffer[: len(phy)] = phy
        return len(phy)

    def sleep(self):
        pass
"""
)

# Session, FCnt skip-ahead, ADR backoff and duty-cycle arithmetic.
LOGIC = (
    FAKES
    + """
from lorafield_node import adr
from lorafield_node.dutycycle import DutyCycle
from lorafield_node.region import eu868
from lorafield_node.session import ABP, Session


def main():
    region = eu868()
    flash = RamFlash(1024, 3)
    s = Session(Store(flash), region, 7)
    s.start(ABP, 0x26011234, bytes(16), TEST_NWK_S_KEY)
    out = [s.take_fcnt_up() for _ in range(20)]
    s2 = Session(Store(flash), region, 7)
    out.append(s2.take_fcnt_up())
    out.append(s2.take_dev_nonce())
    out.append(s2.take_dev_nonce())
    s2.downlink_received(41)
    out.append(s2.adr_ack_cnt())
    s2.take_fcnt_up()
    s3 = Session(Store(flash), region, 7)
    out.append((s3.fcnt_down, s3.dev_nonce, s3.adr_ack_cnt(), s3.flash_writes, s2.flash_writes))
    print("session", out)
    steps = []
    for cnt in range(0, 300, 16):
        steps.append((adr.ack_req(cnt, 3, 2, 0, 0), adr.backoff_step(cnt, 3, 2, 0, 0)))
    print("adr", steps)
    clock = Clock()
    d = DutyCycle(clock, region)
    waits = []
    d.record(868100000, 62)
    waits.append(d.wait_ms(868300000))
    waits.append(d.wait_ms(869525000))
    clock.sleep_ms(6000)
    waits.append(d.wait_ms(868500000))
    d.max_dcycle = 3
    d.record(869525000, 1500)
    waits.append((d.wait_ms(869525000), d.wait_ms(868100000), d.wait_ms(870500000)))
    clock.sleep_ms(1 << 29)  # half the tick period later: wrapped ticks read as free
    waits.append(d.wait_ms(869525000))
    print("duty", waits)
"""
)

# A join and one uplink through the whole Mac with a scripted radio.
JOIN_UPLINK = (
    FAKES
    + """
# the MAC loads these on first use (aes_py where there is no cryptolib, as in this VM):
# code, not the MAC's objects
from lorafield_node import aes_py, join, maccmd, macjoin, macrx, phyrx  # noqa: F401
from lorafield_node import region_eu868  # noqa: F401  (Mac() loads the default region)
from lorafield_node.mac import Mac


def alloc():
    import gc

    try:
        return gc.mem_alloc()
    except AttributeError:  # CPython
        return 0


def main(accept, downlink, measure=False):
    import gc

    flash = RamFlash()  # the fake flash's 12 KB image is not the MAC's
    gc.collect()
    base = alloc()
    if measure:
        gc.disable()  # everything allocated stays: the figures bound the peak from above
    board = Board()
    radio = Radio(board.clock(), [accept, b"", downlink])
    mac = Mac(
        board,
        radio=radio,
        store=Store(flash),
        dev_eui=bytes.fromhex("0004a30b001c0530"),
        join_eui=bytes.fromhex("70b3d57ed00000ff"),
        app_key=TEST_APP_KEY,
    )
    built = alloc() - base
    ok = mac.join()
    joined = alloc() - base
    board.lightsleep(10000)
    r = mac.send(5, b"\\x01\\x02\\x03")
    sent = alloc() - base
    gc.enable()
    print("joined", ok, hex(mac.dev_addr))
    print("downlink", r.downlink.fport, r.downlink.payload.hex(), r.downlink.window)
    for phy in radio.sent:
        print("tx", phy.hex())
    if measure:
        print("heap", built, joined, sent)
"""
)

# The frame-building path alone (what a 64 KiB heap must hold with the code compiled from source):
# DevNonce from the persisted session, Join-request, Join-accept, keys, FCntUp, uplink frame.
FRAMES = (
    TEST_KEYS_SOURCE
    + """
from lorafield_node import join, phy
from lorafield_node.aes import new_aes
from lorafield_node.session import OTAA, Session


class Region:  # the defaults Session needs (EU868), without importing the whole table module
    rx2_dr = 0
    rx2_frequency = 869525000
    default_dr_min = 0
    default_dr_max = 5
    default_tx_power = 0
    default_channels = (868100000, 868300000, 868500000)
    max_channels = 16
    fixed = False
    tx_param_setup = False
    uplink_dwell = False
    downlink_dwell = False

    def default_mask(self):
        return 0b111


class DictStore:
    def __init__(self):
        self.d = {}

    def get(self, key, default=None):
        return self.d.get(key, default)

    def put(self, key, value):
        old = self.d.get(key)
        self.d[key] = bytes(value)
        return old != self.d[key]


def main(accept):
    app = new_aes(TEST_APP_KEY)
    s = Session(DictStore(), Region(), 16)
    nonce = s.take_dev_nonce()
    req = join.build_join_request(app, bytes(range(8)), bytes(range(8, 16)), nonce)
    print("req", req.hex())
    ja = join.open_join_accept(accept, app)
    nwk, ask = join.derive_session_keys(app, ja.join_nonce, ja.net_id, nonce)
    s.start(OTAA, ja.dev_addr, nwk, ask)
    crypto = phy.SessionCrypto(nwk, ask)
    buf = bytearray(64)
    for _ in range(3):
        f = s.take_fcnt_up()
        n = phy.build_data_into(buf, crypto, phy.UNCONFIRMED_UP, s.dev_addr, f, 0x80, b"", 2, b"hi")
        print("up", bytes(buf[:n]).hex())
"""
)


def host_join_accept(app_key, dev_addr=0x26011234, join_nonce=0x42, net_id=0x13, dev_nonce=0):
    """CPython only: (Join-accept on air, an FPort 9 downlink of that session) for the
    scripted radio of JOIN_UPLINK, built with the `cryptography` package."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from lorafield_node.aes import new_aes
    from lorafield_node.join import derive_session_keys, join_accept_plaintext
    from lorafield_node.phy import UNCONFIRMED_DOWN, SessionCrypto, build_data

    aes = new_aes(app_key, "cryptography")
    plain = join_accept_plaintext(aes, join_nonce, net_id, dev_addr, 0, 0, None)
    dec = Cipher(algorithms.AES(bytes(app_key)), modes.ECB()).decryptor()
    accept = plain[:1] + dec.update(plain[1:]) + dec.finalize()
    nwk, app = derive_session_keys(aes, join_nonce, net_id, dev_nonce)
    crypto = SessionCrypto(nwk, app, "cryptography")
    downlink = build_data(crypto, UNCONFIRMED_DOWN, dev_addr, 0, 0, b"", 9, b"\xaa\xbb")
    return accept, downlink


# Heap allocated per uplink (ABP session, no downlink) once the Mac is warm.
PER_UPLINK = (
    FAKES
    + """
from lorafield_node.mac import Mac


def main(n):
    import gc

    board = Board()
    radio = Radio(board.clock(), [])
    mac = Mac(board, radio=radio, store=Store(RamFlash()))
    mac.activate_abp(0x26011234, TEST_NWK_S_KEY, TEST_APP_S_KEY)
    payload = bytes(11)
    for _ in range(2):
        board.lightsleep(mac.time_until_send_ms())
        mac.send(1, payload)
    total = 0
    for _ in range(n):
        board.lightsleep(mac.time_until_send_ms())
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        mac.send(1, payload)
        total += gc.mem_alloc() - a
        gc.enable()
    print("per_uplink", total // n)
"""
)


# Every region's plan through the Mac: join attempts (channel, SF), the windows' settings, a
# US915 LinkADRReq block and the channel masks it leaves. Printed lines compared with CPython.
REGIONS = (
    FAKES
    + """
from lorafield_node import maccmd as mc
from lorafield_node.mac import Mac, DutyCycleWait
from lorafield_node.region import NAMES, region


class LogRadio(Radio):
    def set_modulation(self, sf, bw, cr=5, crc=True, preamble=8):
        self.log.append((self.freq, sf, bw, crc))


def attempts(name, n, **opts):
    board = Board()
    radio = LogRadio(board.clock(), [])
    radio.log = []
    mac = Mac(board, region=region(name, **opts), radio=radio, store=Store(RamFlash()),
              dev_eui=bytes(8), join_eui=bytes(8), app_key=bytes(16))
    for _ in range(n):
        while True:
            try:
                mac.join()
                break
            except DutyCycleWait as e:
                board.lightsleep(e.wait_ms)
    return mac, radio.log


def main():
    for name in NAMES:
        mac, log = attempts(name, 3)
        print(name, log)
    mac, log = attempts("US915", 9, sub_bands=(2,))
    print("fsb2", [f for f, sf, bw, crc in log if crc])
    from lorafield_node import macrx

    s = mac.session
    cmds = [(mc.LINK_ADR, (15, 15, 2, 7, 0)), (mc.LINK_ADR, (2, 15, 0xFF00, 0, 1))]
    macrx._link_adr(mac, cmds)
    print("mask", hex(s.ch_mask), s.dr, [bytes(c).hex() for c in mac._once])
"""
)
