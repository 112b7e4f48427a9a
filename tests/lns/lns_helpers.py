"""A scripted end device built only from the firmware's frame builders (no MAC logic), and
radio metadata for feeding the network server directly."""

from lorafield_gateway.lns import DeviceRegistry, RxMetadata
from lorafield_node.aes import new_aes
from lorafield_node.join import build_join_request, derive_session_keys, open_join_accept
from lorafield_node.phy import (
    CONFIRMED_UP,
    UNCONFIRMED_UP,
    SessionCrypto,
    build_data,
    fcnt32_from16,
    open_data,
    parse_data,
)

DEV_EUI = bytes.fromhex("70b3d57ed0000001")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")
APP_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
EPOCH_US = 1_767_225_600 * 1_000_000


def meta(gateway="gw0", tmst=1_000_000, freq=868_100_000, sf=7, rssi=-80.0, snr=8.0, t=0):
    return RxMetadata(gateway, tmst, freq, sf, 125_000, rssi, snr, EPOCH_US + t)


def registry(*devices):
    reg = DeviceRegistry()
    for dev in devices or (ScriptedDevice(),):
        reg.add_otaa(dev.dev_eui, dev.join_eui, dev.app_key, kind="temperature", name="t1")
    return reg


class ScriptedDevice:
    """Holds the device's side of a session; every frame comes from lorafield_node."""

    def __init__(self, dev_eui=DEV_EUI, join_eui=JOIN_EUI, app_key=APP_KEY):
        self.dev_eui = dev_eui
        self.join_eui = join_eui
        self.app_key = app_key
        self.app_aes = new_aes(app_key, "cryptography")
        self.dev_nonce = 0
        self.accept = None
        self.crypto = None
        self.dev_addr = None
        self.fcnt_up = 0
        self.fcnt_down_next = 0

    def join_request(self, dev_nonce=None):
        if dev_nonce is not None:
            self.dev_nonce = dev_nonce
        phy = build_join_request(self.app_aes, self.join_eui, self.dev_eui, self.dev_nonce)
        self._last_nonce = self.dev_nonce
        self.dev_nonce += 1
        return phy

    def take_accept(self, phy):
        acc = open_join_accept(phy, self.app_aes)
        nwk, app = derive_session_keys(self.app_aes, acc.join_nonce, acc.net_id, self._last_nonce)
        self.accept = acc
        self.keys = (nwk, app)
        self.crypto = SessionCrypto(nwk, app, "cryptography")
        self.dev_addr = acc.dev_addr
        self.fcnt_up = 0
        self.fcnt_down_next = 0
        return acc

    def uplink(self, fport=None, payload=b"", confirmed=False, fopts=b"", fctrl=0, fcnt=None):
        if fcnt is not None:
            self.fcnt_up = fcnt
        mtype = CONFIRMED_UP if confirmed else UNCONFIRMED_UP
        phy = build_data(
            self.crypto, mtype, self.dev_addr, self.fcnt_up, fctrl, fopts, fport, payload
        )
        self.fcnt_up += 1
        return phy

    def open_downlink(self, phy):
        frame = parse_data(phy)
        fcnt32 = fcnt32_from16(self.fcnt_down_next, frame.fcnt)
        frame = open_data(phy, self.crypto, fcnt32)
        self.fcnt_down_next = fcnt32 + 1
        return frame
