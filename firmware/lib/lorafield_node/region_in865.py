"""IN865-867 tables (RP002-1.0.4 section 2.12); built by ``region.region("IN865")``.
No duty-cycle limit (2.12.1: the Indian band has none)."""

from .region import FSK, RFU, Region, minus8


class IN865(Region):
    name = "IN865"
    freq_min = 865000000
    freq_max = 867000000
    default_channels = (865062500, 865402500, 865985000)  # 2.12.2
    dr_sf = bytes((12, 11, 10, 9, 8, 7, RFU, FSK))  # 2.12.3: DR6 RFU, DR7 FSK 50 kbit/s
    dr_bw = (125000, 125000, 125000, 125000, 125000, 125000, 0, 0)
    max_uplink_dr = 7
    max_mac_payload = bytes((59, 59, 59, 123, 250, 250, 0, 250))  # 2.12.6 (no repeater)
    max_app_payload = minus8(max_mac_payload)
    max_mac_payload_repeater = bytes((59, 59, 59, 123, 230, 230, 0, 230))
    rx2_frequency = 866550000  # 2.12.7
    rx2_dr = 2
    # 2.12.7: RX1 DR = min(5, max(0, DR - offset)), offsets 6 and 7 meaning -1 and -2 (RX1
    # one and two rates faster than the uplink), except DR5 with offset 7: DR7 (FSK, which
    # an SX127x in LoRa mode cannot receive: that RX1 stays closed); rows DR0..DR5.
    rx1_dr_table = (
        bytes((0, 0, 0, 0, 0, 0, 1, 2)),
        bytes((1, 0, 0, 0, 0, 0, 2, 3)),
        bytes((2, 1, 0, 0, 0, 0, 3, 4)),
        bytes((3, 2, 1, 0, 0, 0, 4, 5)),
        bytes((4, 3, 2, 1, 0, 0, 5, 5)),
        bytes((5, 4, 3, 2, 1, 0, 5, 7)),
    )
    max_eirp = 30  # 2.12.3: TXPower n = MaxEIRP - 2n dB, n = 0..10
    max_tx_power = 10
    subbands = ((865000000, 867000001, 1),)


def make(name):
    return IN865()
