"""LoRaWAN 1.0.4 PHYPayload: MHDR, data frames (up and down), FRMPayload encryption and MIC.

Section numbers refer to the LoRaWAN 1.0.4 specification (TS001-1.0.4). Layout of a data frame
(section 4): MHDR(1) | DevAddr(4 LE) | FCtrl(1) | FCnt(2 LE) | FOpts(0..15) | [FPort(1) |
FRMPayload] | MIC(4). Every malformed frame raises ``FrameError`` with a short reason; parsing
never lets an IndexError escape. No key material is ever put into an error message.

The same functions serve the device and the network side: ``direction`` 0 is uplink, 1 is
downlink (section 4.3.3 and 4.4), and it is implied by the MType when parsing.

What an uplink needs (MHDR, ``SessionCrypto``, ``build_data_into``) is here; the receive side
(``parse_data``, ``check_mic``, ``decrypt_payload``, ``open_data``, ``fcnt32_from16``,
``DataFrame``) is in ``phyrx``, which ``phy`` loads on first use of one of those names: a node
whose boot receives nothing never loads it.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .aes import new_aes
from .cmac import Cmac

# MType, MHDR bits 7..5 (section 4.2.1, table 2).
JOIN_REQUEST = const(0)
JOIN_ACCEPT = const(1)
UNCONFIRMED_UP = const(2)
UNCONFIRMED_DOWN = const(3)
CONFIRMED_UP = const(4)
CONFIRMED_DOWN = const(5)
RFU_MTYPE = const(6)  # Rejoin-request in LoRaWAN 1.1, RFU in 1.0.x
PROPRIETARY = const(7)

MAJOR_R1 = const(0)  # MHDR bits 1..0 (section 4.2.2)

# FCtrl bits (section 4.3.1): bit 6 is ADRACKReq on uplinks and RFU on downlinks, bit 4 is
# ClassB on uplinks and FPending on downlinks.
FCTRL_ADR = const(0x80)
FCTRL_ADR_ACK_REQ = const(0x40)
FCTRL_ACK = const(0x20)
FCTRL_FPENDING = const(0x10)
FCTRL_CLASS_B = const(0x10)
FOPTS_MAX = const(15)

UPLINK = const(0)
DOWNLINK = const(1)

_MIN_DATA = const(12)  # MHDR + FHDR without FOpts + MIC
_FCNT_MAX = const(0xFFFFFFFF)


class FrameError(ValueError):
    """A malformed, inconsistent or unauthentic frame; ``reason`` says which."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def mhdr(mtype):
    """The MHDR byte for ``mtype`` with Major = LoRaWAN R1."""
    return (mtype << 5) | MAJOR_R1


def parse_mhdr(phy):
    """The MType of ``phy``; raises FrameError for an empty frame or an unknown Major."""
    if len(phy) < 1:
        raise FrameError("empty frame")
    m = phy[0]
    if m & 0x03 != MAJOR_R1:
        raise FrameError("unsupported Major version")
    return m >> 5


def is_data(mtype):
    return UNCONFIRMED_UP <= mtype <= CONFIRMED_DOWN


def direction_of(mtype):
    """UPLINK or DOWNLINK for a data-frame MType."""
    return UPLINK if mtype in (UNCONFIRMED_UP, CONFIRMED_UP) else DOWNLINK


class SessionCrypto:
    """Crypto of one session: NwkSKey (MIC, FPort 0) and AppSKey (FPort 1..255).

    Key schedules, CMAC subkeys and the scratch blocks are made once, so building or checking a
    frame allocates nothing in the crypto path.
    """

    def __init__(self, nwk_skey, app_skey, backend=None):
        self.nwk = new_aes(nwk_skey, backend)
        self.app = new_aes(app_skey, backend)
        self._cmac = Cmac(self.nwk)
        self._blk = bytearray(16)
        self._ks = bytearray(16)
        self._mic = bytearray(4)

    def _block(self, first, direction, dev_addr, fcnt32, last):
        # Shared layout of the A_i (section 4.3.3) and B0 (section 4.4) blocks.
        b = self._blk
        b[0] = first
        b[1] = 0
        b[2] = 0
        b[3] = 0
        b[4] = 0
        b[5] = direction
        b[6] = dev_addr & 0xFF
        b[7] = (dev_addr >> 8) & 0xFF
        b[8] = (dev_addr >> 16) & 0xFF
        b[9] = (dev_addr >> 24) & 0xFF
        b[10] = fcnt32 & 0xFF
        b[11] = (fcnt32 >> 8) & 0xFF
        b[12] = (fcnt32 >> 16) & 0xFF
        b[13] = (fcnt32 >> 24) & 0xFF
        b[14] = 0
        b[15] = last
        return b

    def mic_into(self, msg, msg_len, direction, dev_addr, fcnt32, out, off=0):
        """MIC = CMAC(NwkSKey, B0 | msg[0:msg_len])[0:4] written to out[off:off + 4]
        (section 4.4). ``out`` may be ``msg`` itself (the MIC follows the frame)."""
        if msg_len > 255:
            raise FrameError("frame too long for B0")
        c = self._cmac
        c.start()
        c.update(self._block(0x49, direction, dev_addr, fcnt32, msg_len))
        c.update(msg, 0, msg_len)
        c.finish_into(out, 4, off)

    def mic(self, msg, direction, dev_addr, fcnt32):
        self.mic_into(msg, len(msg), direction, dev_addr, fcnt32, self._mic)
        return bytes(self._mic)

    def crypt_into(self, buf, start, end, fport, direction, dev_addr, fcnt32):
        """En/decrypt buf[start:end] in place with the A_i keystream (section 4.3.3)."""
        aes = self.nwk if fport == 0 else self.app
        ks = self._ks
        i = 1
        p = start
        while p < end:
            aes.encrypt_into(self._block(0x01, direction, dev_addr, fcnt32, i & 0xFF), ks)
            q = end - p
            if q > 16:
                q = 16
            for j in range(q):
                buf[p + j] ^= ks[j]
            p += q
            i += 1

    def crypt(self, payload, fport, direction, dev_addr, fcnt32):
        out = bytearray(payload)
        self.crypt_into(out, 0, len(out), fport, direction, dev_addr, fcnt32)
        return bytes(out)


def data_frame_len(fopts_len, fport, payload_len):
    n = _MIN_DATA + fopts_len
    if fport is not None:
        n += 1 + payload_len
    return n


def build_data_into(
    buf, crypto, mtype, dev_addr, fcnt32, fctrl=0, fopts=b"", fport=None, payload=b""
):
    """Write a complete data frame (encrypted, with MIC) into ``buf``; return its length.

    ``fcnt32`` is the full counter (its low 16 bits go on air, all 32 into the crypto).
    ``fctrl`` carries the flag bits; FOptsLen is taken from ``fopts``.
    """
    if not is_data(mtype):
        raise FrameError("not a data MType")
    nfo = len(fopts)
    if nfo > FOPTS_MAX:
        raise FrameError("FOpts longer than 15 bytes")
    if not 0 <= fcnt32 <= _FCNT_MAX:
        raise FrameError("FCnt out of range")
    if not 0 <= dev_addr <= 0xFFFFFFFF:
        raise FrameError("DevAddr out of range")
    if fport is None:
        if len(payload):
            raise FrameError("FRMPayload without FPort")
    elif not 0 <= fport <= 255:
        raise FrameError("FPort out of range")
    elif fport == 0 and nfo:
        raise FrameError("FOpts present with FPort 0")
    n = data_frame_len(nfo, fport, len(payload))
    if n > len(buf):
        raise FrameError("frame larger than buffer")
    if n - 4 > 255:
        raise FrameError("frame too long")
    buf[0] = mhdr(mtype)
    buf[1] = dev_addr & 0xFF
    buf[2] = (dev_addr >> 8) & 0xFF
    buf[3] = (dev_addr >> 16) & 0xFF
    buf[4] = (dev_addr >> 24) & 0xFF
    buf[5] = (fctrl & 0xF0) | nfo
    buf[6] = fcnt32 & 0xFF
    buf[7] = (fcnt32 >> 8) & 0xFF
    p = 8
    for b in fopts:
        buf[p] = b
        p += 1
    direction = direction_of(mtype)
    if fport is not None:
        buf[p] = fport
        p += 1
        start = p
        for b in payload:
            buf[p] = b
            p += 1
        crypto.crypt_into(buf, start, p, fport, direction, dev_addr, fcnt32)
    crypto.mic_into(buf, p, direction, dev_addr, fcnt32, buf, p)
    return p + 4


def build_data(crypto, mtype, dev_addr, fcnt32, fctrl=0, fopts=b"", fport=None, payload=b""):
    """Like ``build_data_into`` but returns new bytes."""
    buf = bytearray(data_frame_len(len(fopts), fport, len(payload)))
    n = build_data_into(buf, crypto, mtype, dev_addr, fcnt32, fctrl, fopts, fport, payload)
    return bytes(buf[:n])


def __getattr__(name):
    """The receive side (``parse_data``, ``check_mic``, ``decrypt_payload``, ``open_data``,
    ``fcnt32_from16``, ``DataFrame``) lives in ``phyrx`` and is loaded on first use
    (PEP 562; MicroPython's MICROPY_MODULE_GETATTR, on in every port the node runs on)."""
    from . import phyrx

    return getattr(phyrx, name)
