"""KR920-923 tables (RP002-1.0.4 section 2.11); built by ``region.region("KR920")``.
Korea requires listen-before-talk instead of a duty cycle (2.11.1); the SX127x driver does
not sense the channel before sending, so a deployment in Korea needs LBT (noted in
firmware/README.md, Regions)."""

from .region import Region, minus8


class KR920(Region):
    name = "KR920"
    freq_min = 920900000
    freq_max = 923300000
    default_channels = (922100000, 922300000, 922500000)  # 2.11.2
    dr_sf = bytes((12, 11, 10, 9, 8, 7))  # 2.11.3
    dr_bw = (125000, 125000, 125000, 125000, 125000, 125000)
    max_uplink_dr = 5
    max_mac_payload = bytes((59, 59, 59, 123, 250, 250))  # 2.11.6 (no repeater)
    max_app_payload = minus8(max_mac_payload)
    max_mac_payload_repeater = bytes((59, 59, 59, 123, 230, 230))
    rx2_frequency = 921900000  # 2.11.7
    rx2_dr = 0
    rx1_dr_table = tuple(bytes(max(up - off, 0) for off in range(6)) for up in range(6))
    # 2.11.3: default MaxEIRP 14 dBm, TXPower n = MaxEIRP - 2n, n = 0..7. RP002 allows only
    # 10 dBm below 922 MHz: no default channel is there; a CFList/NewChannelReq channel at
    # 920.9-921.9 MHz would be sent 4 dB too hot (not handled).
    max_eirp = 14
    max_tx_power = 7
    subbands = ((920900000, 923300001, 1),)


def make(name):
    return KR920()
