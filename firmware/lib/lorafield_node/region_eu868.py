"""EU863-870 tables (RP002-1.0.4 section 2.4); built by ``region.region("EU868")``."""

from .region import FSK, Region, minus8


class EU868(Region):
    name = "EU868"
    freq_min = 863000000
    freq_max = 870000000
    default_channels = (868100000, 868300000, 868500000)  # 2.4.2: default and join channels
    dr_sf = bytes((12, 11, 10, 9, 8, 7, 7, FSK))  # DR0..DR7 (2.4.3 table 14)
    dr_bw = (125000, 125000, 125000, 125000, 125000, 125000, 250000, 0)
    max_uplink_dr = 7
    max_mac_payload = bytes((59, 59, 59, 123, 230, 230, 230, 230))  # M per DR (2.4.6)
    max_app_payload = minus8(max_mac_payload)  # N: 51 51 51 115 222 ...
    rx2_frequency = 869525000  # 2.4.7
    rx2_dr = 0
    # 2.4.7: RX1 DR = max(uplink DR - RX1DROffset, 0), offsets 0..5.
    rx1_dr_table = tuple(bytes(max(up - off, 0) for off in range(6)) for up in range(8))
    max_eirp = 16  # 2.4.3 table 15: TXPower n = MaxEIRP - 2n dB, n = 0..7
    max_tx_power = 7
    # Duty-cycle sub-bands (ETSI EN 300 220, as applied in RP002 2.4): (low Hz, high Hz,
    # 1/duty). The upper edge is exclusive so 868.0 MHz belongs to the 868.0-868.6 band.
    subbands = (
        (863000000, 865000000, 1000),
        (865000000, 868000000, 100),
        (868000000, 868600000, 100),
        (868700000, 869200000, 1000),
        (869400000, 869650000, 10),
        (869700000, 870000000, 100),
    )


def make(name):
    return EU868()
