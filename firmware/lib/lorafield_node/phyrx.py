"""The receive side of ``phy``: parsing a data frame, its MIC check and decryption.

Split from ``phy.py`` so that a node whose boot hears nothing never loads it (a module loaded
from flash costs heap on the device: firmware/boards/README.md, Heap). ``phy`` re-exports every
name here on first use (``phy.parse_data`` etc. keep working); the MAC imports it from
``macrx`` when a frame has been received.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .phy import (
    CONFIRMED_DOWN,
    CONFIRMED_UP,
    DOWNLINK,
    FCTRL_ACK,
    FCTRL_ADR,
    FCTRL_ADR_ACK_REQ,
    FCTRL_CLASS_B,
    FCTRL_FPENDING,
    UPLINK,
    FrameError,
    direction_of,
    is_data,
    parse_mhdr,
)

_MIN_DATA = const(12)  # MHDR + FHDR without FOpts + MIC
_FCNT_MAX = const(0xFFFFFFFF)


def fcnt32_from16(next_expected, fcnt16):
    """Reconstruct a 32-bit frame counter from its 16 transmitted bits (section 4.3.1.5).

    Returns the smallest counter >= ``next_expected`` whose low 16 bits are ``fcnt16``. A replayed
    or old frame therefore maps 65536 ahead, and its MIC check fails. Raises FrameError when the
    result would exceed 32 bits (the session must be renewed).
    """
    if not 0 <= fcnt16 <= 0xFFFF:
        raise FrameError("FCnt out of range")
    c = (next_expected & ~0xFFFF) | fcnt16
    if c < next_expected:
        c += 0x10000
    if c > _FCNT_MAX:
        raise FrameError("frame counter exhausted")
    return c


class DataFrame:
    """A parsed data frame. ``payload`` is the FRMPayload as received (still encrypted) until
    ``decrypt_payload``/``open_data`` replaces it with the plaintext (then ``decrypted`` is True).
    ``fcnt`` holds the 16 transmitted bits; ``fport`` is None when the frame has no FPort."""

    def __init__(self, mtype, dev_addr, fctrl, fcnt, fopts, fport, payload, mic):
        self.mtype = mtype
        self.dev_addr = dev_addr
        self.fctrl = fctrl
        self.fcnt = fcnt
        self.fopts = fopts
        self.fport = fport
        self.payload = payload
        self.mic = mic
        self.decrypted = False

    @property
    def direction(self):
        return direction_of(self.mtype)

    @property
    def confirmed(self):
        return self.mtype == CONFIRMED_UP or self.mtype == CONFIRMED_DOWN

    @property
    def adr(self):
        return bool(self.fctrl & FCTRL_ADR)

    @property
    def adr_ack_req(self):
        return bool(self.fctrl & FCTRL_ADR_ACK_REQ) and self.direction == UPLINK

    @property
    def ack(self):
        return bool(self.fctrl & FCTRL_ACK)

    @property
    def fpending(self):
        return bool(self.fctrl & FCTRL_FPENDING) and self.direction == DOWNLINK

    @property
    def class_b(self):
        return bool(self.fctrl & FCTRL_CLASS_B) and self.direction == UPLINK


def parse_data(phy):
    """Split a data-frame PHYPayload into its fields (no crypto). Raises FrameError."""
    n = len(phy)
    mtype = parse_mhdr(phy)
    if not is_data(mtype):
        raise FrameError("not a data frame")
    if n < _MIN_DATA:
        raise FrameError("data frame too short")
    dev_addr = phy[1] | (phy[2] << 8) | (phy[3] << 16) | (phy[4] << 24)
    fctrl = phy[5]
    fcnt = phy[6] | (phy[7] << 8)
    fopts_len = fctrl & 0x0F
    end = n - 4  # MIC
    p = 8 + fopts_len
    if p > end:
        raise FrameError("FOptsLen beyond frame")
    fopts = bytes(phy[8:p])
    fport = None
    payload = b""
    if p < end:
        fport = phy[p]
        payload = bytes(phy[p + 1 : end])
        if fport == 0 and fopts_len:
            # Section 4.3.1.6: MAC commands in FOpts and FPort 0 at once are not allowed.
            raise FrameError("FOpts present with FPort 0")
    return DataFrame(mtype, dev_addr, fctrl, fcnt, fopts, fport, payload, bytes(phy[end:n]))


def check_mic(phy, crypto, fcnt32):
    """True when the MIC of data frame ``phy`` is right for counter ``fcnt32``."""
    n = len(phy)
    if n < _MIN_DATA:
        raise FrameError("data frame too short")
    mtype = parse_mhdr(phy)
    if not is_data(mtype):
        raise FrameError("not a data frame")
    dev_addr = phy[1] | (phy[2] << 8) | (phy[3] << 16) | (phy[4] << 24)
    mic = crypto._mic
    crypto.mic_into(phy, n - 4, direction_of(mtype), dev_addr, fcnt32, mic)
    d = 0
    for i in range(4):
        d |= mic[i] ^ phy[n - 4 + i]  # no early exit
    return d == 0


def decrypt_payload(frame, crypto, fcnt32):
    """Replace ``frame.payload`` with its plaintext (NwkSKey for FPort 0, else AppSKey)."""
    if not frame.decrypted:
        if frame.fport is not None:
            frame.payload = crypto.crypt(
                frame.payload, frame.fport, frame.direction, frame.dev_addr, fcnt32
            )
        frame.decrypted = True
    return frame


def open_data(phy, crypto, fcnt32):
    """Parse, authenticate (MIC with ``fcnt32``) and decrypt a data frame; FrameError if forged."""
    frame = parse_data(phy)
    if fcnt32 & 0xFFFF != frame.fcnt:
        raise FrameError("FCnt does not match the counter")
    if not check_mic(phy, crypto, fcnt32):
        raise FrameError("MIC mismatch")
    return decrypt_payload(frame, crypto, fcnt32)
