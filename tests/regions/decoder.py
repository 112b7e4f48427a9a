"""An independent decoder of the frames an emulated field puts on the air, written from
LoRaWAN 1.0.4 (sections 4 and 6.2) with the `cryptography` package. The crypto is the
reference implementation of tests/lorawan/test_lorawan_frames.py (`ref_aes`, `ref_cmac`,
`ref_data_frame`), reused here; nothing of the firmware or of the network server is imported.

`Decoder(app_key)` follows one device: `frame(phy)` takes each frame in air order and returns
a `Decoded` (kind, fields, the FRMPayload decrypted, MAC commands), raising AssertionError on
a MIC or a layout that does not check. The session keys come from the Join-accept it saw
(6.2.5: NwkSKey / AppSKey = aes128_encrypt(AppKey, 0x01 / 0x02 | JoinNonce | NetID |
DevNonce | pad16)).
"""

import struct

from rp002 import MAC_LENGTHS
from test_lorawan_frames import ref_aes, ref_cmac, ref_data_frame

JOIN_REQUEST, JOIN_ACCEPT = 0, 1
UNCONFIRMED_UP, UNCONFIRMED_DOWN, CONFIRMED_UP, CONFIRMED_DOWN = 2, 3, 4, 5
UPLINKS = (UNCONFIRMED_UP, CONFIRMED_UP)


class Decoded:
    def __init__(self, kind, **fields):
        self.kind = kind
        self.__dict__.update(fields)

    def __repr__(self):
        return f"Decoded({self.kind}, {self.__dict__})"


def mac_commands(data, uplink):
    """[(cid, payload bytes)] of a run of MAC commands (1.0.4 5, table 4)."""
    out = []
    i = 0
    while i < len(data):
        cid = data[i]
        assert cid in MAC_LENGTHS, f"unknown CID {cid:#x} in {data.hex()}"
        n = MAC_LENGTHS[cid][0 if uplink else 1]
        payload = bytes(data[i + 1 : i + 1 + n])
        assert len(payload) == n, f"truncated MAC command {cid:#x} in {data.hex()}"
        out.append((cid, payload))
        i += 1 + n
    return out


def link_adr_req(payload):
    """LinkADRReq (1.0.4 5.3.1): DataRate_TXPower, ChMask (16 bits LE), Redundancy
    (ChMaskCntl bits 6..4, NbTrans 3..0) -> (dr, tx_power, ch_mask, ch_mask_cntl, nb_trans)."""
    dr_power, ch_mask, redundancy = struct.unpack("<BHB", payload)
    return dr_power >> 4, dr_power & 0x0F, ch_mask, (redundancy >> 4) & 0x07, redundancy & 0x0F


def link_adr_ans(payload):
    """LinkADRAns status: (power ACK, data rate ACK, channel mask ACK) (1.0.4 5.3.2)."""
    status = payload[0]
    return bool(status & 4), bool(status & 2), bool(status & 1)


def _crypt(key, direction, dev_addr, fcnt, data):
    """FRMPayload en/decryption (1.0.4 4.3.3.1): the same XOR stream both ways."""
    stream = b"".join(
        ref_aes(key, struct.pack("<B4xBIIxB", 1, direction, dev_addr, fcnt, i))
        for i in range(1, len(data) // 16 + 2)
    )
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


class Decoder:
    def __init__(self, app_key):
        self.app_key = bytes(app_key)
        self.dev_nonce = None
        self.nwk_s_key = None
        self.app_s_key = None
        self.dev_addr = None

    def frame(self, phy):
        phy = bytes(phy)
        mtype = phy[0] >> 5
        assert phy[0] & 0x1F == 0, "MHDR RFU / Major must be 0 (LoRaWAN R1)"
        if mtype == JOIN_REQUEST:
            return self._join_request(phy)
        if mtype == JOIN_ACCEPT:
            return self._join_accept(phy)
        return self._data(phy, mtype)

    def _join_request(self, phy):
        assert len(phy) == 23, "Join-request: MHDR, JoinEUI, DevEUI, DevNonce, MIC"
        assert ref_cmac(self.app_key, phy[:-4])[:4] == phy[-4:], "Join-request MIC"
        join_eui, dev_eui = phy[1:9][::-1], phy[9:17][::-1]
        (dev_nonce,) = struct.unpack("<H", phy[17:19])
        self.dev_nonce = dev_nonce
        return Decoded("join_request", join_eui=join_eui, dev_eui=dev_eui, dev_nonce=dev_nonce)

    def _join_accept(self, phy):
        assert len(phy) in (17, 33), "Join-accept: 16 or 32 bytes after the MHDR"
        # 6.2.5: the network AES-decrypts; the device encrypts to get the plaintext back.
        body = b"".join(ref_aes(self.app_key, phy[i : i + 16]) for i in range(1, len(phy), 16))
        plain = phy[:1] + body
        assert ref_cmac(self.app_key, plain[:-4])[:4] == plain[-4:], "Join-accept MIC"
        join_nonce, net_id = plain[1:4], plain[4:7]
        (dev_addr,) = struct.unpack("<I", plain[7:11])
        dl_settings, rx_delay = plain[11], plain[12]
        cflist = plain[13:-4]
        tail = join_nonce + net_id + struct.pack("<H", self.dev_nonce) + bytes(7)
        self.nwk_s_key = ref_aes(self.app_key, b"\x01" + tail)
        self.app_s_key = ref_aes(self.app_key, b"\x02" + tail)
        self.dev_addr = dev_addr
        fields = dict(
            dev_addr=dev_addr,
            rx1_dr_offset=(dl_settings >> 4) & 0x07,
            rx2_dr=dl_settings & 0x0F,
            rx_delay=rx_delay,
            cflist=cflist,
        )
        if cflist:
            fields["cflist_type"] = cflist[15]
            if cflist[15] == 1:  # RP002 x.4 (US915, AU915): ChMask0..4, 16 bits each
                mask = 0
                for i in range(5):
                    mask |= struct.unpack_from("<H", cflist, 2 * i)[0] << (16 * i)
                fields["cflist_mask"] = mask
            else:  # type 0: five frequencies of 24 bits in 100 Hz
                fields["cflist_hz"] = [
                    int.from_bytes(cflist[3 * i : 3 * i + 3], "little") * 100 for i in range(5)
                ]
        return Decoded("join_accept", **fields)

    def _data(self, phy, mtype):
        assert self.nwk_s_key is not None, "a data frame before any Join-accept"
        uplink = mtype in UPLINKS
        dev_addr, fctrl, fcnt = struct.unpack("<IBH", phy[1:8])
        assert dev_addr == self.dev_addr, "DevAddr of the session"
        n_fopts = fctrl & 0x0F
        fopts = phy[8 : 8 + n_fopts]
        rest = phy[8 + n_fopts : -4]
        fport = rest[0] if rest else None
        encrypted = rest[1:]
        direction = 0 if uplink else 1
        payload = b""
        if fport is not None:
            key = self.nwk_s_key if fport == 0 else self.app_s_key
            payload = _crypt(key, direction, dev_addr, fcnt, encrypted)
        # The frame rebuilt from these fields by the reference implementation is the same
        # bytes: MIC (4.4) and encryption (4.3.3) both check.
        rebuilt = ref_data_frame(
            mtype, dev_addr, fcnt, fctrl, fopts, fport, payload, self.nwk_s_key, self.app_s_key
        )
        assert rebuilt == phy, "MIC or encryption of a data frame"
        mac = mac_commands(fopts, uplink)
        if fport == 0:
            mac += mac_commands(payload, uplink)
        return Decoded(
            "uplink" if uplink else "downlink",
            confirmed=mtype in (CONFIRMED_UP, CONFIRMED_DOWN),
            fctrl=fctrl,
            adr=bool(fctrl & 0x80),
            ack=bool(fctrl & 0x20),
            fcnt=fcnt,
            fport=fport,
            payload=payload,
            mac=mac,
        )
