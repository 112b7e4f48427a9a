"""A single-channel gateway in US915 (gateway/README.md, "Single-channel gateways outside
Europe"): lorafield's Raspberry Pi + RFM95 gateway is one SX1276 in RX continuous on one
frequency at one SF, which demodulates one frame at a time (`lorafield_hw.plans.
single_channel`: one channel, one SF, one demodulator). Here on 903.9 MHz (channel 8, the
first of FSB2) at SF10/125 kHz (DR0, the data rate of a US915 join), with the real firmware
MAC and the local network server of US915 (all 72 channels: it sends no CFList and no
channel-mask LinkADRReq, so a device keeps the channels it was set up with).

* A node set up for that channel (device setting `channels = [8]`) joins at its first
  attempt, every time, and its uplinks and downlinks all go through (RX1 on 923.3 MHz,
  channel 8 mod 8 = 0, SF10/500 kHz: the gateway's radio retunes to send it).
* A node set up for FSB2 (`sub_bands = [2]`) picks one of eight 125 kHz channels at random for
  each join attempt, and every ninth attempt is on the 500 kHz channel 65 (904.6 MHz, DR4):
  the gateway hears one attempt in eight of the others, none of the 500 kHz ones.
* The same gateway set to 904.6 MHz SF8/500 kHz hears exactly those DR4 attempts instead.
"""

import pytest
from decoder import Decoder
from lorafield_hw.plans import single_channel
from regionfield import APP_KEY, DEV_EUI, RegionField, join, join_once, send
from rp002 import K125, K500

CHANNEL_8_HZ = 903_900_000  # US915 125 kHz channel 8 (2.5.2: 902.3 MHz + 8 x 200 kHz)
CHANNEL_65_HZ = 904_600_000  # US915 500 kHz channel 65 (903.0 MHz + 1.6 MHz)
ATTEMPTS = 27  # three rounds of eight 125 kHz attempts and one 500 kHz attempt
SEEDS = range(1, 21)
# Join-accepts per seed for an FSB2 node making 27 attempts (24 at 125 kHz): the count the
# seeded emulation gives, 58 of 480 in all (0.121; one in eight is 0.125).
FSB2_JOINS = [4, 1, 0, 1, 2, 1, 0, 3, 2, 6, 3, 5, 5, 2, 5, 5, 4, 3, 3, 3]


def one_channel_field(seed=1, gateway=None, **node):
    return RegionField(
        "US915",
        gateway=gateway or single_channel(CHANNEL_8_HZ, 10),
        server={"sub_bands": None},
        seed=seed,
        **node,
    )


def hz(frame):
    return round(frame.frequency_hz / 100) * 100


def join_requests(field):
    return [f for f in field.node_frames() if f.payload[0] >> 5 == 0]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_node_set_to_the_gateways_channel_joins_every_time(seed):
    def app(mac, field):
        field.note("attempts", join(mac, field.view, limit=3))
        field.server.enqueue(DEV_EUI, 20, b"hello")
        for i in range(5):
            r = send(mac, field.view, 10, bytes([i]))
            if r.downlink is not None:
                field.note("downlink", (r.downlink.window, bytes(r.downlink.payload)))

    f = one_channel_field(seed, channels=(8,))
    f.run(app, seconds=600)
    assert f.notes("attempts") == [1]
    assert f.notes("downlink") == [(1, b"hello")]
    ups = f.node_frames()
    assert {(hz(u), u.sf, u.bw_hz) for u in ups} == {(CHANNEL_8_HZ, 10, K125)}
    assert [e.detail["fcnt"] for e in f.server.events if e.kind == "uplink"] == [0, 1, 2, 3, 4]
    # RX1 of channel 8 is downlink channel 0: 923.3 MHz, DR10 = SF10/500 kHz (2.5.7)
    downs = f.gateway_frames()
    assert len(downs) == 2  # the Join-accept and "hello"
    assert {(hz(d), d.sf, d.bw_hz) for d in downs} == {(923_300_000, 10, K500)}
    decoder = Decoder(APP_KEY)
    decoded = [decoder.frame(fr.payload) for fr in f.air.log]
    assert [d.payload for d in decoded if d.kind == "downlink"] == [b"hello"]


def fsb2_attempts(seed, gateway=None):
    def app(mac, field):
        for _ in range(ATTEMPTS):
            field.note("joined", join_once(mac, field.view))

    f = one_channel_field(seed, gateway, sub_bands=(2,))
    f.run(app, seconds=4 * 3600)
    return f


def test_an_fsb2_node_joins_only_when_it_picks_the_gateways_channel():
    joins = []
    for seed in SEEDS:
        f = fsb2_attempts(seed)
        requests = join_requests(f)
        assert len(requests) == ATTEMPTS
        narrow = [r for r in requests if r.bw_hz == K125]
        wide = [r for r in requests if r.bw_hz == K500]
        assert len(narrow) == 24 and len(wide) == 3
        assert {(hz(r), r.sf) for r in wide} == {(CHANNEL_65_HZ, 8)}
        on_ours = [r for r in narrow if hz(r) == CHANNEL_8_HZ]
        accepted = sum(f.notes("joined"))
        # accepted exactly when the attempt was on 903.9 MHz; never on 500 kHz
        assert accepted == len(on_ours) == len(f.gateway.uplinks)
        assert all(hz(r) - 903_900_000 in range(0, 1_600_000, 200_000) for r in narrow)
        joins.append(accepted)
    assert joins == FSB2_JOINS
    assert sum(joins) == 58  # of 480 attempts at 125 kHz: 0.121


def test_a_gateway_on_the_500_khz_channel_hears_only_dr4():
    f = fsb2_attempts(1, gateway=single_channel(CHANNEL_65_HZ, 8, K500))
    wide = [r for r in join_requests(f) if r.bw_hz == K500]
    assert len(wide) == 3
    heard = [meta for _, meta in f.gateway.uplinks]
    assert len(heard) == 3 and {(m.sf, m.bw_hz) for m in heard} == {(8, K500)}
    assert sum(f.notes("joined")) == 3  # RX1 of channel 65: 923.9 MHz, DR13 (SF7/500 kHz)
    assert {(hz(d), d.sf) for d in f.gateway_frames()} == {(923_900_000, 7)}
