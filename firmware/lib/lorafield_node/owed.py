"""What the device still owes the network, kept across boots (store record ``"ma"``).

A node that deep-sleeps after every uplink loses its RAM, so MAC answers queued for the next
uplink, sticky answers (RXParamSetupAns, RXTimingSetupAns, DlChannelAns: repeated in every
uplink until a downlink arrives, LoRaWAN 1.0.4 section 5) and the ACK of a confirmed downlink
would be lost and the network would keep repeating its request. The MAC writes this record
only when that state changes.

Record: session generation u16 (a new session voids it), flags u8 (bit 0: ACK pending),
length u8 of the one-shot part, then the encoded uplink commands: one-shot answers/requests,
then sticky answers. Commands are self-delimiting (CID + the command's known length). Empty
when nothing is owed: the MAC loads this module at boot only for a non-empty record.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


KEY = "ma"
_MAX = const(120)  # command bytes kept (Store values are <= 128 bytes)


def save(session, once, sticky, ack):
    """Store the one-shot and sticky commands (lists of encoded uplink commands) and the ACK
    flag for ``session``. What does not fit in ``_MAX`` bytes is left out, one-shot commands
    first (a sticky answer left out would make the network repeat its request forever)."""
    if not (once or sticky or ack):
        session._put(KEY, b"")  # nothing owed: the next boot need not even load this module
        return
    keep = 0
    for cmd in sticky:
        keep += len(cmd)
    if keep > _MAX:
        sticky = []
        keep = 0
    n = 0
    for cmd in once:
        if keep + n + len(cmd) > _MAX:
            break
        n += len(cmd)
    raw = bytearray(4 + n + keep)
    struct.pack_into("<HBB", raw, 0, session.gen, 1 if ack else 0, n)
    p = 4
    for cmd in once:
        if p + len(cmd) > 4 + n:
            break
        raw[p : p + len(cmd)] = cmd
        p += len(cmd)
    for cmd in sticky:
        raw[p : p + len(cmd)] = cmd
        p += len(cmd)
    session._put(KEY, raw)  # counted in session.flash_writes


def load(session, command_len):
    """(once, sticky, ack) stored for ``session``'s generation, else ([], [], False).
    ``command_len(cid)``: an uplink command's payload length, -1 for an unknown CID."""
    raw = session._store.get(KEY)
    if raw is None or len(raw) < 4 or not session.active:
        return [], [], False
    gen, flags, n = struct.unpack_from("<HBB", raw, 0)
    if gen != session.gen or 4 + n > len(raw):
        return [], [], False
    once = _split(raw, 4, 4 + n, command_len)
    sticky = _split(raw, 4 + n, len(raw), command_len)
    if once is None or sticky is None:
        return [], [], False  # damaged: better no answer than a wrong one
    return once, sticky, bool(flags & 1)


def _split(raw, p, end, command_len):
    out = []
    while p < end:
        size = command_len(raw[p])
        if size < 0 or p + 1 + size > end:
            return None
        out.append(bytes(raw[p : p + 1 + size]))
        p += 1 + size
    return out
