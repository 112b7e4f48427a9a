"""The radio settings of a device config (``region``, ``sub_bands``, ``channels``, ``dr``),
checked against the region's tables for ``settings.check_settings``. A module of its own: the
settings check runs at every boot, and most configs hold none of these (a module loaded from
flash costs heap on the device: firmware/boards/README.md, Heap)."""

from .deploy import ConfigError

_REGION = "lorafield_node.region"  # region.py and the region_*.py table modules


def check_radio(settings):
    """``region`` (one of region.NAMES), ``sub_bands`` and ``channels`` (lists of integers
    the region's ``region()`` accepts) and ``dr`` (an uplink data rate that a channel the
    device starts with carries: EU868 0..5, US915 0..4 or 0..3 without a 500 kHz channel,
    AS923 2..5 with its default uplink dwell time). The region's tables are loaded for the
    check only: on the device they are unloaded again (the MAC loads its own later)."""
    import sys

    from . import unload

    had = [m for m in sys.modules if m.startswith(_REGION)]
    try:
        _check_radio_tables(settings)
    finally:
        for m in [m for m in sys.modules if m.startswith(_REGION) and m not in had]:
            unload(m)


def _check_radio_tables(settings):
    from .region import NAMES, region

    name = settings.get("region", "EU868")
    if name not in NAMES:
        raise ConfigError("region must be one of: %s" % ", ".join(NAMES))
    for key in ("sub_bands", "channels"):
        value = settings.get(key)
        if value is not None and not (
            isinstance(value, list)
            and value
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ConfigError("%s must be a non-empty list of integers" % key)
    try:
        r = region(name, settings.get("sub_bands"), settings.get("channels"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    dr = settings.get("dr")
    if dr is None:
        return
    low, high = uplink_dr_range(r)
    if isinstance(dr, bool) or not isinstance(dr, int) or not low <= dr <= high:
        where = "" if name == "EU868" else " in " + name
        raise ConfigError("dr must be an integer %d..%d%s" % (low, high, where))


def uplink_dr_range(r):
    """(lowest, highest) uplink data rate the channels a fresh session of region ``r``
    enables carry, as far as the region lets uplinks use it (dwell time as by default)."""
    if r.fixed:
        mask = r.default_mask()
        drs = []
        if mask & ((1 << 64) - 1):
            drs += list(range(r.dr125[0], r.dr125[1] + 1))
        if mask >> 64:
            drs.append(r.dr500)
    else:
        drs = list(range(r.default_dr_min, r.default_dr_max + 1))
    drs = [d for d in drs if r.uplink_dr(d, r.uplink_dwell)]
    return min(drs), max(drs)
