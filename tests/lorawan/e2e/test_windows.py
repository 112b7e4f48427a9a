"""RX1 and RX2 on the air: the gateway transmits at the exact instants, the firmware opens
its windows from the TxDone interrupt; SF7 and SF12 in both windows, a downlink 1 ms too late
for RX1 arriving in RX2, and the edges of the RX1 window."""

import pytest
from field import DEV_EUI, Field, S, join, send
from lorafield_node.airtime import symbol_us
from lorafield_node.mac import Mac


def ask_downlink(mac, field, dr, payload=b"\x42", tx_late_us=0):
    join(mac, field.view)
    field.gateway.tx_late_us = tx_late_us  # only for the data downlink, not the join-accept
    mac.set_dr(dr)
    field.server.enqueue(DEV_EUI, 7, payload)
    r = send(mac, field.view, 1, b"up")
    field.note("dl", r.downlink)
    field.note(
        "sf",
        field.view  # the SF the node actually used for the uplink
        and [m.sf for _, m in field.gateway.uplinks][-1],
    )


def transmitted(field):
    """(window, SF) of every downlink the gateway put on air after the join-accept."""
    return [(item.window, frame.sf) for _, item, frame in field.gateway.transmitted[1:]]


@pytest.mark.parametrize("dr,sf", [(5, 7), (0, 12)])
def test_rx1_reception(dr, sf):
    f = Field()
    f.run(lambda mac, field: ask_downlink(mac, field, dr), seconds=120)
    (dl,) = f.notes("dl")
    assert dl is not None and (dl.window, dl.fport, dl.payload) == (1, 7, b"\x42")
    assert f.notes("sf") == [sf]
    assert transmitted(f) == [("RX1", sf)]


@pytest.mark.parametrize("rx2_dr,sf", [(0, 12), (5, 7)])
def test_rx2_reception(rx2_dr, sf):
    f = Field(server_options={"windows": ("RX2",), "rx2_dr": rx2_dr})
    f.run(lambda mac, field: ask_downlink(mac, field, 5), seconds=120)
    (dl,) = f.notes("dl")
    assert dl is not None and (dl.window, dl.payload) == (2, b"\x42")
    assert f.mac.session.rx2_dr == rx2_dr  # from the Join-accept's DLSettings
    assert transmitted(f) == [("RX2", sf)]


def test_downlink_1ms_too_late_for_rx1_is_received_in_rx2():
    # The downlink reaches the gateway 1 ms after the RX1 instant: the gateway sends in RX2.
    f = Field(gateway_options={"backhaul_delay_us": 1_001_000})
    f.run(lambda mac, field: ask_downlink(mac, field, 5), seconds=120)
    (dl,) = f.notes("dl")
    assert dl is not None and dl.window == 2
    assert [a.window for a in f.gateway.tx_acks][-1] == "RX2"


def window_edges(dr):
    mac = Mac.__new__(Mac)  # only rx_timing(): the default clock error and wake-up latency
    mac.clock_ppm, mac.wakeup_us = 30, 1000
    from lorafield_node.region import eu868

    mac.region = eu868()
    margin, symbols = mac.rx_timing(S, dr)
    sf, bw = mac.region.dr_params(dr)
    tsym = symbol_us(sf, bw)
    # Latest start still detected: its lock point (3 preamble symbols in) before the timeout.
    return margin, symbols * tsym - margin - 3 * tsym


@pytest.mark.parametrize("late", ["margin", "edge", "beyond"])
def test_rx1_window_edges(late):
    margin, last = window_edges(5)
    tx_late = {"margin": margin, "edge": last - 200, "beyond": last + 300}[late]
    f = Field(server_options={"windows": ("RX1",)})
    f.run(lambda mac, field: ask_downlink(mac, field, 5, tx_late_us=tx_late), seconds=120)
    (dl,) = f.notes("dl")
    if late == "beyond":
        assert dl is None
    else:
        assert dl is not None and dl.window == 1


def test_tx_done_instant_matches_the_end_of_the_frame_on_air():
    def app(mac, field):
        field.note("joined", join(mac, field.view))
        for _ in range(3):
            send(mac, field.view, 1, bytes(20))
            end = field.boot_ticks_us(field.gateway.uplinks[-1][1].tmst_us)
            field.note("tx_end", (mac._tx_end_us, end))

    f = Field()
    f.run(app, seconds=120)
    assert f.notes("joined") == [1] and len(f.notes("tx_end")) == 3
    for measured, true_end in f.notes("tx_end"):
        assert 0 <= measured - true_end <= 100  # one 50 us poll step plus SPI and clock reads
