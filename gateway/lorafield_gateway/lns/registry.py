"""Device registry: who may join or send (DevEUI, JoinEUI, AppKey or ABP keys, kind, name).

In memory for now; issue 7 fills it from a fleet file and SQLite. Keys are held as bytes and
never appear in ``repr`` or in error messages.
"""

from .errors import RegistryError


def eui_bytes(value, what="EUI"):
    """8 bytes (written, big-endian order) from bytes or a hex string (':' and '-' allowed)."""
    return _hex_or_bytes(value, 8, what)


def key_bytes(value, what="key"):
    """16 bytes from bytes or a hex string. The message of a failure never echoes the value."""
    return _hex_or_bytes(value, 16, what)


def _hex_or_bytes(value, n, what):
    if isinstance(value, str):
        text = value.replace(":", "").replace("-", "").strip()
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise RegistryError(f"{what} is not hex") from None
    if not isinstance(value, bytes | bytearray) or len(value) != n:
        raise RegistryError(f"{what} must be {n} bytes")
    return bytes(value)


class Device:
    """One registered device. OTAA when ``app_key`` is set; ABP when ``dev_addr`` and the two
    session keys are set (both is allowed: ABP session now, OTAA later)."""

    __slots__ = ("dev_eui", "join_eui", "app_key", "kind", "name", "abp")

    def __init__(self, dev_eui, join_eui=None, app_key=None, kind=None, name=None, abp=None):
        self.dev_eui = dev_eui
        self.join_eui = join_eui
        self.app_key = app_key
        self.kind = kind
        self.name = name
        self.abp = abp  # (dev_addr, nwk_s_key, app_s_key) or None

    @property
    def dev_eui_hex(self):
        return self.dev_eui.hex()

    @property
    def otaa(self):
        return self.app_key is not None

    def __repr__(self):  # no keys
        mode = "OTAA" if self.otaa else "ABP"
        return f"Device({self.dev_eui_hex}, {mode}, kind={self.kind!r}, name={self.name!r})"


class DeviceRegistry:
    def __init__(self):
        self._by_eui = {}
        self._by_hex = {}  # the server asks by its own key, the lowercase hex DevEUI

    def add_otaa(self, dev_eui, join_eui, app_key, kind=None, name=None):
        dev = Device(
            eui_bytes(dev_eui, "DevEUI"),
            eui_bytes(join_eui, "JoinEUI"),
            key_bytes(app_key, "AppKey"),
            kind,
            name,
        )
        return self._add(dev)

    def add_abp(self, dev_eui, dev_addr, nwk_s_key, app_s_key, kind=None, name=None):
        if not isinstance(dev_addr, int) or not 0 <= dev_addr <= 0xFFFFFFFF:
            raise RegistryError("DevAddr must be a 32-bit integer")
        if any(d.abp is not None and d.abp[0] == dev_addr for d in self._by_eui.values()):
            raise RegistryError(f"DevAddr {dev_addr:08x} already used by another ABP device")
        abp = (dev_addr, key_bytes(nwk_s_key, "NwkSKey"), key_bytes(app_s_key, "AppSKey"))
        dev = Device(eui_bytes(dev_eui, "DevEUI"), None, None, kind, name, abp)
        return self._add(dev)

    def _add(self, dev):
        if dev.dev_eui in self._by_eui:
            raise RegistryError(f"DevEUI {dev.dev_eui_hex} already registered")
        self._by_eui[dev.dev_eui] = dev
        self._by_hex[dev.dev_eui_hex] = dev
        return dev

    def get(self, dev_eui):
        """The device or None."""
        if isinstance(dev_eui, str) and dev_eui in self._by_hex:
            return self._by_hex[dev_eui]
        try:
            return self._by_eui.get(eui_bytes(dev_eui, "DevEUI"))
        except RegistryError:
            return None

    def require(self, dev_eui):
        dev = self.get(dev_eui)
        if dev is None:
            raise RegistryError("unknown DevEUI")
        return dev

    def __iter__(self):
        return iter(list(self._by_eui.values()))

    def __len__(self):
        return len(self._by_eui)
