"""LoRaWAN 1.0.4 over-the-air activation frames (section 6.2) and 1.0.x session keys.

Join-request:  MHDR | JoinEUI(8 LE) | DevEUI(8 LE) | DevNonce(2 LE) | MIC(4)      (6.2.4)
Join-accept:   MHDR | JoinNonce(3 LE) | NetID(3 LE) | DevAddr(4 LE) | DLSettings |
               RxDelay | [CFList(16)] | MIC(4), all after MHDR AES-encrypted      (6.2.5)

EUIs are passed and returned as 8 bytes in the usual written (big-endian) order and reversed
on air. Keys are passed as AES objects from ``aes.new_aes`` so one key schedule serves the
request, the accept and the key derivation. The network encrypts a Join-accept with AES
*decrypt*, so the device recovers it with AES *encrypt*; ``join_accept_plaintext`` builds the
network's plaintext (with MIC) and leaves that one AES-decrypt step to host code.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .cmac import Cmac
from .phy import JOIN_ACCEPT, JOIN_REQUEST, FrameError, mhdr, parse_mhdr

JOIN_REQUEST_LEN = const(23)
JOIN_ACCEPT_LEN = const(17)
JOIN_ACCEPT_CFLIST_LEN = const(33)
CFLIST_FREQUENCIES = const(0)  # CFListType 0: five extra channel frequencies (RP002 2.4.4)
CFLIST_CHMASK = const(1)  # CFListType 1: channel masks (fixed-plan regions such as US915)


def _u_le(b, off, n):
    v = 0
    for i in range(n - 1, -1, -1):
        v = (v << 8) | b[off + i]
    return v


def _put_le(buf, off, v, n):
    for i in range(n):
        buf[off + i] = (v >> (8 * i)) & 0xFF


def _reversed8(b, off):
    # Not b[off + 7 : off - 1 : -1]: MicroPython bytes slices only support step 1.
    out = bytearray(8)
    for i in range(8):
        out[i] = b[off + 7 - i]
    return bytes(out)


def _eui(eui, what):
    if len(eui) != 8:
        raise FrameError(what + " must be 8 bytes")
    return eui


def _mic4(aes, msg):
    return Cmac(aes).digest(msg)[0:4]


class JoinRequest:
    def __init__(self, join_eui, dev_eui, dev_nonce, mic):
        self.join_eui = join_eui
        self.dev_eui = dev_eui
        self.dev_nonce = dev_nonce
        self.mic = mic


def build_join_request(app_aes, join_eui, dev_eui, dev_nonce):
    """The 23-byte Join-request PHYPayload, MIC = CMAC(AppKey, MHDR..DevNonce)[0:4]."""
    _eui(join_eui, "JoinEUI")
    _eui(dev_eui, "DevEUI")
    if not 0 <= dev_nonce <= 0xFFFF:
        raise FrameError("DevNonce out of range")
    buf = bytearray(JOIN_REQUEST_LEN)
    buf[0] = mhdr(JOIN_REQUEST)
    for i in range(8):
        buf[1 + i] = join_eui[7 - i]
        buf[9 + i] = dev_eui[7 - i]
    _put_le(buf, 17, dev_nonce, 2)
    buf[19:23] = _mic4(app_aes, memoryview(buf)[0:19])
    return bytes(buf)


def parse_join_request(phy, app_aes=None):
    """Parse a Join-request; with ``app_aes`` also check its MIC (FrameError on mismatch)."""
    if parse_mhdr(phy) != JOIN_REQUEST:
        raise FrameError("not a Join-request")
    if len(phy) != JOIN_REQUEST_LEN:
        raise FrameError("Join-request must be 23 bytes")
    mic = bytes(phy[19:23])
    if app_aes is not None and _mic4(app_aes, memoryview(phy)[0:19]) != mic:
        raise FrameError("MIC mismatch")
    return JoinRequest(_reversed8(phy, 1), _reversed8(phy, 9), _u_le(phy, 17, 2), mic)


class JoinAccept:
    """A decrypted, authenticated Join-accept.

    ``rx1_delay`` is in seconds (RxDelay 0 means 1 s, section 5.7); ``channels`` holds the CFList
    type 0 frequencies in Hz (0 entries, i.e. unused slots, are kept so indices stay 3..7);
    ``cflist`` is the raw 16 bytes or None.
    """

    def __init__(self, plain):
        self.join_nonce = _u_le(plain, 1, 3)
        self.net_id = _u_le(plain, 4, 3)
        self.dev_addr = _u_le(plain, 7, 4)
        dl = plain[11]
        self.dl_settings = dl
        self.rx1_dr_offset = (dl >> 4) & 0x07
        self.rx2_dr = dl & 0x0F
        self.rx_delay = plain[12] & 0x0F
        self.rx1_delay = self.rx_delay or 1
        self.cflist = None
        self.cflist_type = None
        self.channels = ()
        if len(plain) == JOIN_ACCEPT_CFLIST_LEN:
            self.cflist = bytes(plain[13:29])
            self.cflist_type, self.channels = parse_cflist(self.cflist)


def parse_cflist(cflist):
    """(CFListType, channels): type 0 gives five frequencies in Hz, type 1 the raw masks."""
    if len(cflist) != 16:
        raise FrameError("CFList must be 16 bytes")
    t = cflist[15]
    if t == CFLIST_FREQUENCIES:
        return t, tuple(_u_le(cflist, 3 * i, 3) * 100 for i in range(5))
    if t == CFLIST_CHMASK:
        return t, tuple(_u_le(cflist, 2 * i, 2) for i in range(5))
    raise FrameError("unknown CFListType")


def cflist_frequencies(freqs_hz):
    """A type 0 CFList for up to five frequencies in Hz (multiples of 100 Hz; 0 = unused)."""
    if len(freqs_hz) > 5:
        raise FrameError("CFList holds at most 5 frequencies")
    out = bytearray(16)
    for i, f in enumerate(freqs_hz):
        if f % 100 or not 0 <= f // 100 <= 0xFFFFFF:
            raise FrameError("CFList frequency not a 24-bit multiple of 100 Hz")
        _put_le(out, 3 * i, f // 100, 3)
    out[15] = CFLIST_FREQUENCIES
    return bytes(out)


def open_join_accept(phy, app_aes):
    """Decrypt (AES encrypt, see module doc) and authenticate a Join-accept; FrameError if not."""
    n = len(phy)
    if parse_mhdr(phy) != JOIN_ACCEPT:
        raise FrameError("not a Join-accept")
    if n != JOIN_ACCEPT_LEN and n != JOIN_ACCEPT_CFLIST_LEN:
        raise FrameError("Join-accept must be 17 or 33 bytes")
    plain = bytearray(n)
    plain[0] = phy[0]
    mv = memoryview(plain)
    src = memoryview(phy)
    for off in range(1, n, 16):
        app_aes.encrypt_into(src[off : off + 16], mv[off : off + 16])
    if _mic4(app_aes, mv[0 : n - 4]) != bytes(plain[n - 4 : n]):
        raise FrameError("MIC mismatch")
    return JoinAccept(plain)


def join_accept_plaintext(
    app_aes, join_nonce, net_id, dev_addr, dl_settings=0, rx_delay=0, cflist=None
):
    """Network side: the Join-accept before encryption, MIC included.

    To put it on air, keep byte 0 and AES-*decrypt* the rest with the AppKey block by block.
    """
    if not (0 <= join_nonce <= 0xFFFFFF and 0 <= net_id <= 0xFFFFFF):
        raise FrameError("JoinNonce/NetID out of range")
    if not 0 <= dev_addr <= 0xFFFFFFFF:
        raise FrameError("DevAddr out of range")
    if not (0 <= dl_settings <= 0xFF and 0 <= rx_delay <= 0x0F):
        raise FrameError("DLSettings/RxDelay out of range")
    if cflist is not None and len(cflist) != 16:
        raise FrameError("CFList must be 16 bytes")
    n = JOIN_ACCEPT_LEN if cflist is None else JOIN_ACCEPT_CFLIST_LEN
    buf = bytearray(n)
    buf[0] = mhdr(JOIN_ACCEPT)
    _put_le(buf, 1, join_nonce, 3)
    _put_le(buf, 4, net_id, 3)
    _put_le(buf, 7, dev_addr, 4)
    buf[11] = dl_settings
    buf[12] = rx_delay
    if cflist is not None:
        buf[13:29] = cflist
    buf[n - 4 : n] = _mic4(app_aes, memoryview(buf)[0 : n - 4])
    return bytes(buf)


def dl_settings(rx1_dr_offset, rx2_dr):
    """The DLSettings byte (section 5.4 / 6.2.5): RX1DROffset in bits 6..4, RX2DR in 3..0."""
    if not (0 <= rx1_dr_offset <= 7 and 0 <= rx2_dr <= 15):
        raise FrameError("DLSettings field out of range")
    return (rx1_dr_offset << 4) | rx2_dr


def derive_session_keys(app_aes, join_nonce, net_id, dev_nonce):
    """(NwkSKey, AppSKey) of LoRaWAN 1.0.x (section 6.2.5):
    AES(AppKey, 0x01|0x02 | JoinNonce | NetID | DevNonce | pad16)."""
    blk = bytearray(16)
    _put_le(blk, 1, join_nonce, 3)
    _put_le(blk, 4, net_id, 3)
    _put_le(blk, 7, dev_nonce, 2)
    blk[0] = 0x01
    nwk = app_aes.encrypt(blk)
    blk[0] = 0x02
    app = app_aes.encrypt(blk)
    return nwk, app
