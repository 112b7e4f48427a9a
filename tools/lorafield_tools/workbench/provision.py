"""New device identities for the fleet file: DevEUIs and AppKeys from `secrets` (the OS CSPRNG).

A DevEUI comes from a prefix (sequential after the highest one already in the fleet with that
prefix) or, without a prefix, from the CSPRNG with the EUI-64 "locally administered" bit set
(IEEE 802: bit 1 of the first octet; such an EUI claims no OUI). A board's own id gives a
DevEUI at the bench through `eui_from_unique_id`.
"""

import secrets

from lorafield_gateway.fleet import KINDS, FleetDevice, FleetError
from lorafield_node.pinmaps import MCU

EUI_BYTES = 8
KEY_BYTES = 16


def parse_hex(text, n, what):
    """bytes of exactly n from hex text, or FleetError naming `what` (never echoing a key)."""
    try:
        value = bytes.fromhex(text)
    except (ValueError, TypeError):
        raise FleetError(f"{what} is not hexadecimal") from None
    if len(value) != n:
        raise FleetError(f"{what} must be {n} bytes ({2 * n} hex digits)")
    return value


def parse_prefix(text):
    """A DevEUI prefix: 1..7 whole bytes of hex (the rest is the counter)."""
    try:
        value = bytes.fromhex(text)
    except (ValueError, TypeError):
        raise FleetError("--dev-eui-prefix is not hexadecimal (whole bytes)") from None
    if not 1 <= len(value) <= EUI_BYTES - 1:
        raise FleetError("--dev-eui-prefix must be 1..7 bytes (2..14 hex digits)")
    return value


def random_eui():
    eui = bytearray(secrets.token_bytes(EUI_BYTES))
    eui[0] = (eui[0] | 0x02) & 0xFE  # locally administered, unicast
    return bytes(eui)


def eui_from_unique_id(uid):
    """EUI-64 from machine.unique_id(): 8 bytes (RP2040 flash id) as is; 6 bytes (ESP32 MAC)
    expanded with FF FE in the middle (the MAC-48 to EUI-64 mapping)."""
    uid = bytes(uid)
    if len(uid) == 8:
        return uid
    if len(uid) == 6:
        return uid[:3] + b"\xff\xfe" + uid[3:]
    raise FleetError(f"unique id of {len(uid)} bytes cannot make an EUI-64 (need 6 or 8)")


def sequential_euis(prefix, count, taken):
    """`count` DevEUIs prefix + counter, after the highest taken one with that prefix."""
    width = EUI_BYTES - len(prefix)
    used = [int.from_bytes(e[len(prefix) :], "big") for e in taken if e.startswith(prefix)]
    start = max(used) + 1 if used else 1
    if start + count - 1 >= 1 << (8 * width):
        raise FleetError(f"prefix {prefix.hex()} has no room for {count} more devices")
    return [prefix + (start + i).to_bytes(width, "big") for i in range(count)]


def new_devices(kind, count, taken=(), prefix=None, name_prefix=None, board=None, euis=None):
    """`count` new OTAA devices of `kind` with fresh AppKeys (join_eui from the fleet defaults);
    `euis` gives the DevEUIs (a board's own id) instead of a prefix or the CSPRNG."""
    if kind not in KINDS:
        raise FleetError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not 1 <= count <= 10_000:
        raise FleetError("--count must be 1..10000")
    if board is not None and board not in MCU:  # the boards deploy accepts
        raise FleetError(f"board must be one of {', '.join(sorted(MCU))}, got {board!r}")
    taken = set(taken)
    if euis is not None:
        euis = list(euis)
        for eui in euis:
            if eui in taken:
                raise FleetError(f"dev_eui {eui.hex()} is already in the fleet")
    elif prefix is not None:
        euis = sequential_euis(prefix, count, taken)
    else:
        euis = []
        while len(euis) < count:
            eui = random_eui()
            if eui not in taken:
                taken.add(eui)
                euis.append(eui)
    base = name_prefix or kind.replace("_", "-")
    devices = []
    for eui in euis:
        name = f"{base}-{eui.hex()[-4:]}"
        extra = {"board": board} if board else {}
        devices.append(
            FleetDevice(eui, kind, name, app_key=secrets.token_bytes(KEY_BYTES), **extra)
        )
    return devices
