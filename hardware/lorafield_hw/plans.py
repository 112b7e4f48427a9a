"""What an emulated gateway listens on in each region (RP002-1.0.4), from the firmware's region
tables (`lorafield_node.region`): the one source of channels and data rates.

`gateway_channels(plan, sub_bands)` gives the keyword arguments of `air.Gateway` (and so of
`EmulatedGateway` and the field's concentrator) for an 8-channel concentrator
(SX1301/SX1302: eight multi-SF 125 kHz channels and one single-SF "LoRa standard" channel):

* dynamic plans (EU868, AS923-1..4, IN865, KR920): the region's default channels at every SF
  of the default data rates (EU868: 868.1/868.3/868.5 MHz, SF7..SF12, as before regions);
* fixed plans (US915, AU915): each sub-band's eight 125 kHz channels at the SFs of the 125 kHz
  uplink rates (US915 SF7..SF10, AU915 SF7..SF12) and its 500 kHz channel at the SF of the
  500 kHz uplink rate (SF8: US915 DR4, AU915 DR6). Sub-band 2 (FSB2: 902.3 + 1.6 MHz =
  903.9..905.3 MHz and 904.6 MHz in US915) unless told: what TTN and most ChirpStack installs
  use. Two sub-bands make a 16-channel gateway.

`single_channel(frequency_hz, sf, bw_hz)` is a one-channel gateway such as lorafield's
Raspberry Pi + RFM95 (gateway/README.md, "Single-channel gateways outside Europe"): an
SX1276 in RX continuous hears one frequency at one SF and demodulates one frame at a time.
"""

from lorafield_node.region import NAMES, region

DEFAULT_SUB_BANDS = (2,)  # FSB2 (US915, AU915)
_125 = 125_000


class PlanError(ValueError):
    """An unknown region name or sub-band; the message lists the valid ones."""


def plan_of(name, sub_bands=None, channels=None):
    """`region(name, sub_bands, channels)`, with a PlanError naming the valid regions."""
    if name not in NAMES:
        raise PlanError(f"unknown region {name!r}: one of {', '.join(NAMES)}")
    try:
        return region(name, sub_bands, channels)
    except ValueError as exc:
        raise PlanError(f"{name}: {exc}") from None


def uplink_drs(plan, bw_hz=None):
    """The region's LoRa uplink data rates (dwell time off), at `bw_hz` if given."""
    return [
        dr
        for dr in range(plan.num_dr())
        if plan.uplink_dr(dr) and (bw_hz is None or plan.dr_bw[dr] == bw_hz)
    ]


def gateway_channels(plan, sub_bands=None):
    """`air.Gateway` keyword arguments (channels_hz, bw_hz, sfs, extra_channels) for an
    8-channel concentrator in region `plan` (a name or a region object); see the module doc."""
    if isinstance(plan, str):
        plan = plan_of(plan)
    if not plan.fixed:
        if sub_bands:
            raise PlanError(f"{plan.name} has no sub-bands (only US915 and AU915 do)")
        sfs = sorted({plan.dr_sf[dr] for dr in range(plan.default_dr_min, plan.default_dr_max + 1)})
        return dict(
            channels_hz=tuple(plan.default_channels), bw_hz=_125, sfs=tuple(sfs), extra_channels=()
        )
    bands = tuple(sub_bands or DEFAULT_SUB_BANDS)
    for k in bands:
        if not 1 <= k <= 8:
            raise PlanError(f"{plan.name} sub-bands are 1..8, got {k!r}")
    narrow = []
    wide = []
    for k in bands:
        for i in range(8 * (k - 1), 8 * k):
            narrow.append(plan.channel(i)[0])
        wide.append(plan.channel(63 + k)[0])
    sfs = sorted({plan.dr_sf[dr] for dr in uplink_drs(plan, _125)})
    wide_bw = plan.dr_bw[plan.dr500]
    wide_sf = plan.dr_sf[plan.dr500]
    return dict(
        channels_hz=tuple(narrow),
        bw_hz=_125,
        sfs=tuple(sfs),
        extra_channels=tuple((f, wide_bw, (wide_sf,)) for f in wide),
    )


def single_channel(frequency_hz, sf, bw_hz=_125):
    """`air.Gateway` keyword arguments for a one-channel, one-SF, one-demodulator gateway."""
    return dict(
        channels_hz=(frequency_hz,), bw_hz=bw_hz, sfs=(sf,), extra_channels=(), demodulators=1
    )


def uplink_channels(plan, sub_bands=None):
    """(frequency Hz, bandwidth Hz) of every uplink channel a node of `plan` may use with the
    gateway of `gateway_channels(plan, sub_bands)`: the channels both sides share."""
    kwargs = gateway_channels(plan, sub_bands)
    out = [(f, kwargs["bw_hz"]) for f in kwargs["channels_hz"]]
    out += [(f, bw) for f, bw, _ in kwargs["extra_channels"]]
    return out
