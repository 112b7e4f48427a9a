"""OTAA join server (LoRaWAN 1.0.4 section 6.2) for the embedded network server.

- DevNonce must be *greater* than every DevNonce accepted before for that device (1.0.4 makes
  it a counter starting at 0; ChirpStack only rejects reuse -- being stricter also refuses a
  Join-request recorded earlier and replayed after a newer join).
- JoinNonce is a per-device counter (1.0.4 6.2.5: "a device specific counter value that never
  repeats itself"), 24 bits.
- NwkSKey/AppSKey from the 1.0.x derivation; DevAddr = NwkID (7 bits from NetID, type 0) |
  NwkAddr (25 bits), allocated sequentially and never shared by two live sessions.
- The Join-accept is encrypted with AES *decrypt* (6.2.5), the only host-only crypto step.
- CFList (RP002-1.0.4 2.x.4): dynamic plans (EU868, AS923, IN865, KR920) carry type 0, up to
  five extra channel frequencies, only when the server is given some; US915/AU915 carry type 1,
  the channel mask of the sub-bands the server's gateways listen on (``cflist_mask``).
"""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lorafield_node.aes import new_aes
from lorafield_node.join import (
    cflist_frequencies,
    derive_session_keys,
    dl_settings,
    join_accept_plaintext,
    parse_join_request,
)
from lorafield_node.phy import FrameError

from .channelplan import ALL_FIXED, cflist_channel_mask
from .errors import LnsError, Rejected
from .session import Session

_NWK_ADDR_BITS = 25


def encrypt_join_accept(app_key, plaintext):
    """What goes on air: MHDR kept, the rest AES-ECB-*decrypted* with the AppKey."""
    dec = Cipher(algorithms.AES(bytes(app_key)), modes.ECB()).decryptor()
    return bytes(plaintext[:1]) + dec.update(bytes(plaintext[1:])) + dec.finalize()


class JoinResult:
    def __init__(self, device, session, phy, dev_nonce, join_nonce):
        self.device = device
        self.session = session
        self.phy = phy
        self.dev_nonce = dev_nonce
        self.join_nonce = join_nonce


class JoinServer:
    """Accepts or rejects Join-requests. State (last DevNonce, next JoinNonce) lives in the
    store so that it survives with the rest of the server's data."""

    def __init__(
        self,
        registry,
        store,
        region,
        *,
        net_id=0x000000,
        rx1_dr_offset=0,
        rx2_dr=None,
        rx1_delay_s=1,
        extra_channels_hz=(),
        cflist_mask=None,
    ):
        if not 0 <= net_id <= 0xFFFFFF:
            raise ValueError("NetID must be 24 bits")
        if not 1 <= rx1_delay_s <= 15:
            raise ValueError("RX1 delay must be 1..15 s")
        if not 0 <= rx1_dr_offset <= 7 or region.rx1_dr(region.default_dr_min, rx1_dr_offset) < 0:
            raise LnsError(f"RX1DROffset {rx1_dr_offset} is not defined in {region.name}")
        if rx2_dr is not None and not region.lora_dr(rx2_dr):
            raise LnsError(f"RX2 data rate {rx2_dr} is not a LoRa data rate of {region.name}")
        self.registry = registry
        self.store = store
        self.region = region
        self.net_id = net_id
        self.rx1_dr_offset = rx1_dr_offset
        self.rx2_dr = region.rx2_dr if rx2_dr is None else rx2_dr
        self.rx1_delay_s = rx1_delay_s
        self.extra_channels_hz = tuple(extra_channels_hz)
        self._cflist = None
        if region.fixed:
            if extra_channels_hz:
                raise LnsError(f"{region.name} has a fixed channel grid: no extra channels")
            if cflist_mask is not None:
                self._cflist = cflist_channel_mask(cflist_mask)
        elif extra_channels_hz:
            room = min(5, region.max_channels - len(region.default_channels))
            if len(self.extra_channels_hz) > room:
                raise LnsError(f"at most {room} extra channels in {region.name}")
            for f in self.extra_channels_hz:
                # 0 keeps a CFList slot undefined (RP002 2.4.4)
                if f and (f in region.default_channels or not region.valid_frequency(f)):
                    raise LnsError(f"extra channel {f} Hz is not a new channel in {region.name}")
            self._cflist = cflist_frequencies(self.extra_channels_hz)
        self._next_nwk_addr = 1

    def nwk_id(self):
        """NetID type 0: the NwkID is the 6 least significant bits of the NetID (LoRaWAN
        Backend Interfaces 1.0, 13.1), placed in DevAddr bits 31..25."""
        return self.net_id & 0x3F

    def allocate_dev_addr(self):
        prefix = self.nwk_id() << _NWK_ADDR_BITS
        limit = 1 << _NWK_ADDR_BITS
        abp = {d.abp[0] for d in self.registry if d.abp is not None}
        for _ in range(limit):
            addr = prefix | self._next_nwk_addr
            self._next_nwk_addr = (self._next_nwk_addr + 1) % limit or 1
            if not self.store.dev_addr_in_use(addr) and addr not in abp:
                return addr
        raise Rejected("no DevAddr left")

    def handle(self, phy):
        """A JoinResult for a valid Join-request; raises ``Rejected`` with the reason."""
        try:
            req = parse_join_request(phy)
        except FrameError as e:
            raise Rejected("malformed Join-request: " + e.reason) from None
        eui = req.dev_eui.hex()
        device = self.registry.get(req.dev_eui)
        if device is None:
            raise Rejected("unknown DevEUI", eui)
        if not device.otaa:
            raise Rejected("device is not OTAA", eui)
        if device.join_eui != req.join_eui:
            raise Rejected("JoinEUI mismatch", eui, join_eui=req.join_eui.hex())
        app_aes = new_aes(device.app_key, "cryptography")
        try:
            parse_join_request(phy, app_aes)
        except FrameError:
            raise Rejected("MIC mismatch", eui, dev_nonce=req.dev_nonce) from None
        state = self.store.join(eui)
        last = state["dev_nonce"]
        if last is not None and req.dev_nonce <= last:
            raise Rejected(
                "DevNonce not greater than last", eui, dev_nonce=req.dev_nonce, last_dev_nonce=last
            )
        join_nonce = state["join_nonce"]
        if join_nonce > 0xFFFFFF:
            raise Rejected("JoinNonce exhausted", eui)
        dev_addr = self.allocate_dev_addr()
        nwk, app = derive_session_keys(app_aes, join_nonce, self.net_id, req.dev_nonce)
        settings = dl_settings(self.rx1_dr_offset, self.rx2_dr)
        plain = join_accept_plaintext(
            app_aes, join_nonce, self.net_id, dev_addr, settings, self.rx1_delay_s, self._cflist
        )
        # Only now, with everything built, is the DevNonce consumed.
        state["dev_nonce"] = req.dev_nonce
        state["join_nonce"] = join_nonce + 1
        # CFList entries are channels 3..7 in order; a 0 keeps its slot undefined (RP002 2.4.4).
        channels = self.region.default_channels + self.extra_channels_hz
        session = Session(
            eui,
            dev_addr,
            nwk,
            app,
            self.region,
            rx1_dr_offset=self.rx1_dr_offset,
            rx2_dr=self.rx2_dr,
            rx1_delay_s=self.rx1_delay_s,
            channels_hz=channels,
        )
        if self.region.fixed:
            # Without a CFList the device starts on all 72 channels (RP002 2.5.2); with one it
            # should be on its mask, but a device of older regional parameters ignores a type 1
            # CFList: not known until it accepts a LinkADRReq block (the server sends one).
            session.enabled_mask = None if self._cflist is not None else ALL_FIXED
        phy_out = encrypt_join_accept(device.app_key, plain)
        return JoinResult(device, session, phy_out, req.dev_nonce, join_nonce)
