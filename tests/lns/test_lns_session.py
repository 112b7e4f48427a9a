"""Session radio settings: RX1 follows the channel the radio reports, even off by synth steps."""

from lorafield_gateway.lns.session import Session
from lorafield_node.region import region

CHIP_868_1 = 868_099_975.59  # what an SX127x on 868.1 MHz really tunes to (61 Hz steps)


def make_session():
    return Session(b"\x01" * 8, 0x26011F00, b"\x02" * 16, b"\x03" * 16, region("EU868"))


def test_rx1_uses_the_defined_channel_for_a_quantised_uplink_frequency():
    session = make_session()
    assert session.rx1_frequency(CHIP_868_1) == 868_100_000


def test_dl_channel_moves_rx1_of_the_reported_channel_only():
    session = make_session()
    index = session.channels_hz.index(868_100_000)
    session.dl_frequencies[index] = 869_100_000
    assert session.rx1_frequency(CHIP_868_1) == 869_100_000
    assert session.rx1_frequency(868_300_000) == 868_300_000


def test_an_unknown_frequency_is_answered_on_itself():
    assert make_session().rx1_frequency(867_100_000) == 867_100_000
