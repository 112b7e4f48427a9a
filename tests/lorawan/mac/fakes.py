"""A small fake world for the MAC on CPython: a virtual clock, a board, and a radio that
records what it is told and plays scripted downlinks into the receive windows. The network
side of the scripts is built with the firmware's own frame builders (ABP keys known here)."""

import random

from lorafield_hw.flash import NorFlash
from lorafield_node import board as contract
from lorafield_node.airtime import airtime_us
from lorafield_node.mac import Mac
from lorafield_node.phy import CONFIRMED_DOWN, UNCONFIRMED_DOWN, SessionCrypto, build_data
from lorafield_node.store import Store

DEV_ADDR = 0x26011234
NWK = bytes(range(16))
APP = bytes(range(16, 32))


class FakeClock(contract.Clock):
    def __init__(self, start_us=0):
        self.now_us = start_us

    def ticks_us(self):
        return self.now_us & contract.TICKS_MAX

    def ticks_ms(self):
        return (self.now_us // 1000) & contract.TICKS_MAX

    def sleep_us(self, us):
        self.now_us += max(0, int(us))

    def sleep_ms(self, ms):
        self.now_us += max(0, int(ms)) * 1000


class FakeBoard(contract.Board):
    def __init__(self, flash=None, seed=1, start_us=0, battery_mv=3700):
        self._clock = FakeClock(start_us)
        self.flash_dev = flash or NorFlash(block_size=4096, block_count=4)
        self._random = random.Random(seed)
        self.mv = battery_mv
        self.slept_ms = 0

    def clock(self):
        return self._clock

    def rtc_ms(self):
        return self._clock.now_us // 1000  # survives the Macs built on this board

    def lightsleep(self, ms):
        self.slept_ms += ms
        self._clock.sleep_ms(ms)

    def flash(self):
        return self.flash_dev

    def battery_mv(self):
        return self.mv

    def random_bytes(self, n):
        return self._random.randbytes(n)


class Tx:
    def __init__(self, freq, sf, bw, dbm, phy, start_us, end_us):
        self.freq, self.sf, self.bw, self.dbm = freq, sf, bw, dbm
        self.phy = phy
        self.start_us, self.end_us = start_us, end_us


class Window:
    def __init__(self, freq, sf, bw, open_us, symbols, tx):
        self.freq, self.sf, self.bw = freq, sf, bw
        self.open_us = open_us
        self.symbols = symbols
        self.tx = tx  # the transmission it follows
        self.index = 0  # 1 = RX1, 2 = RX2


class FakeRadio:
    """The SX127x API the MAC uses. `reply(window) -> bytes | None` scripts the downlinks."""

    def __init__(self, clock):
        self._clock = clock
        self.rx_buffer = bytearray(256)
        self.rssi = -80
        self.snr = 7.0
        self.freq = 0
        self.sf = 7
        self.bw = 125000
        self.dbm = 0
        self.crc = True
        self.txs = []
        self.windows = []
        self.reply = None
        self.mode = "standby"

    def set_frequency(self, hz):
        self.freq = hz

    def set_modulation(self, sf, bw_hz, cr=5, crc=True, preamble=8):
        self.sf, self.bw, self.crc = sf, bw_hz, crc

    def set_tx_power(self, dbm):
        self.dbm = dbm

    def airtime_us(self, n):
        return airtime_us(n, self.sf, self.bw, 5, True, 8)

    def transmit(self, payload, invert_iq=False):
        assert not invert_iq
        start = self._clock.now_us
        self._clock.sleep_us(self.airtime_us(len(payload)))
        self.txs.append(
            Tx(self.freq, self.sf, self.bw, self.dbm, bytes(payload), start, self._clock.now_us)
        )
        return self._clock.ticks_us()

    def receive_single(self, symbol_timeout, invert_iq=True):
        assert invert_iq
        tx = self.txs[-1]
        w = Window(self.freq, self.sf, self.bw, self._clock.now_us, symbol_timeout, tx)
        w.index = 1 + sum(1 for o in self.windows if o.tx is tx)
        self.windows.append(w)
        phy = self.reply(w) if self.reply is not None else None
        tsym = (1 << self.sf) * 1000000 // self.bw
        if phy is None:
            self._clock.sleep_us(symbol_timeout * tsym)
            return 0
        self._clock.sleep_us(airtime_us(len(phy), self.sf, self.bw, 5, False, 8))
        self.rx_buffer[: len(phy)] = phy
        return len(phy)

    def sleep(self):
        self.mode = "sleep"

    def standby(self):
        self.mode = "standby"


class Net:
    """The network's half of an ABP session: builds downlinks, reads uplinks."""

    def __init__(self, dev_addr=DEV_ADDR, nwk=NWK, app=APP):
        self.dev_addr = dev_addr
        self.crypto = SessionCrypto(nwk, app, "cryptography")
        self.fcnt_down = 0

    def downlink(
        self,
        fport=None,
        payload=b"",
        fopts=b"",
        ack=False,
        confirmed=False,
        fpending=False,
        fcnt=None,
    ):
        fctrl = (0x20 if ack else 0) | (0x10 if fpending else 0)
        mtype = CONFIRMED_DOWN if confirmed else UNCONFIRMED_DOWN
        if fcnt is None:
            fcnt = self.fcnt_down
            self.fcnt_down += 1
        return build_data(self.crypto, mtype, self.dev_addr, fcnt, fctrl, fopts, fport, payload)


def abp_mac(board=None, **options):
    """A Mac on a fake board and radio, ABP-activated with the Net's keys."""
    board = board or FakeBoard()
    radio = FakeRadio(board.clock())
    store = Store(board.flash(), prog_size=1)
    mac = Mac(board, radio=radio, store=store, **options)
    mac.activate_abp(DEV_ADDR, NWK, APP)
    return mac, board, radio
