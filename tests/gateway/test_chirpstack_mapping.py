"""ChirpStack v4 protobuf mapping, without a broker: uplink fields, downlink timing and
context, acknowledgements, stats, JSON marshaling, and the topics."""

import struct

import pytest
from chirpstack_api import gw
from lorafield_gateway.chirpstack import mapping, topics
from lorafield_gateway.forwarders.semtech_udp import rx_packet

RECORD = {
    "phy": "40010000260000000101020304",
    "tmst": 0xFEDCBA98,
    "mono_us": 123,
    "wall_us": 1_767_225_600_123_456,
    "freq": 868_300_000,
    "sf": 9,
    "bw": 125_000,
    "cr": 6,
    "rssi": -97,
    "snr": -3.5,
    "crc": "ok",
}


def test_uplink_frame_fields():
    frame = mapping.uplink_frame(RECORD, "0016c001ff000001", 77)
    assert frame.phy_payload == bytes.fromhex(RECORD["phy"])
    assert frame.tx_info.frequency == 868_300_000
    lora = frame.tx_info.modulation.lora
    assert (lora.bandwidth, lora.spreading_factor, lora.code_rate) == (125_000, 9, gw.CR_4_6)
    rx = frame.rx_info
    assert rx.gateway_id == "0016c001ff000001" and rx.uplink_id == 77
    assert (rx.rssi, rx.snr) == (-97, -3.5)
    assert rx.context == b"\xfe\xdc\xba\x98"  # tmst, big-endian
    assert rx.gw_time.ToMicroseconds() == RECORD["wall_us"]
    assert rx.crc_status == gw.CRC_OK
    data = mapping.marshal(frame)
    assert gw.UplinkFrame.FromString(data) == frame
    assert mapping.unmarshal(gw.UplinkFrame, mapping.marshal(frame, json=True), json=True) == frame


def test_crc_statuses_in_both_backends():
    for crc, proto, stat in (("ok", gw.CRC_OK, 1), ("bad", gw.BAD_CRC, -1), ("none", gw.NO_CRC, 0)):
        record = dict(RECORD, crc=crc)
        assert mapping.uplink_frame(record, "g", 1).rx_info.crc_status == proto
        assert rx_packet(record).stat == stat
    rx = rx_packet(RECORD)
    assert rx.time == "2026-01-01T00:00:00.123456Z" and rx.tmst == RECORD["tmst"]


def item(timing="delay", context=b"\x00\x00\x10\x00", **lora_fields):
    it = gw.DownlinkFrameItem(phy_payload=b"\x60" + bytes(11))
    it.tx_info.frequency, it.tx_info.power = 868_100_000, 14
    lora = it.tx_info.modulation.lora
    lora.bandwidth, lora.spreading_factor, lora.code_rate = 125_000, 7, gw.CR_4_5
    lora.polarization_inversion = True
    for name, value in lora_fields.items():
        setattr(lora, name, value)
    if timing == "delay":
        it.tx_info.timing.delay.delay.FromMilliseconds(1000)
        it.tx_info.context = context
    elif timing == "immediately":
        it.tx_info.timing.immediately.SetInParent()
    elif timing == "gps":
        it.tx_info.timing.gps_epoch.time_since_gps_epoch.FromSeconds(5)
    return it


def test_downlink_item_to_tx_request():
    request = mapping.tx_request(item(), tag="t")
    assert request.tmst == 0x1000 + 1_000_000 and not request.immediate
    assert (request.frequency_hz, request.sf, request.bw_hz, request.power_dbm) == (
        868_100_000,
        7,
        125_000,
        14,
    )
    assert request.ipol and request.crc  # no_crc unset: CRC as asked
    assert not mapping.tx_request(item(no_crc=True)).crc
    wrapped = mapping.tx_request(item(context=struct.pack(">I", 0xFFFFFF00)))
    assert wrapped.tmst == (0xFFFFFF00 + 1_000_000) & 0xFFFFFFFF
    assert mapping.tx_request(item("immediately")).immediate


@pytest.mark.parametrize(
    ("it", "reason"),
    [
        (item("gps"), "GPS_UNLOCKED"),
        (item("none"), "without timing"),
        (item(context=b"\x01"), "4-byte context"),
        (item(spreading_factor=13), "unsupported LoRa data rate"),
        (gw.DownlinkFrameItem(), "without phy_payload"),
    ],
)
def test_unusable_items(it, reason):
    with pytest.raises(mapping.MappingError, match=reason):
        mapping.tx_request(it)


def test_acks_stats_conn_and_topics():
    ack = mapping.tx_ack("g", 9, ["TX_FREQ", "OK", "IGNORED", "WHATEVER"])
    assert [i.status for i in ack.items] == [gw.TX_FREQ, gw.OK, gw.IGNORED, gw.INTERNAL_ERROR]
    counts = {
        "rx.received": 5,
        "rx.ok": 4,
        "downlink.requested": 2,
        "downlink.emitted": 1,
        "downlink.TOO_LATE": 1,
    }
    stats = mapping.gateway_stats("g", 1_000_000, counts, {"queued": 3})
    assert (stats.rx_packets_received, stats.rx_packets_received_ok) == (5, 4)
    assert (stats.tx_packets_received, stats.tx_packets_emitted) == (2, 1)
    assert dict(stats.tx_packets_per_status) == {"TOO_LATE": 1}
    assert dict(stats.metadata) == {"queued": "3"}
    assert mapping.conn_state("g", False).state == gw.ConnState.State.OFFLINE
    assert topics.event("eu868", "g", "up") == "eu868/gateway/g/event/up"
    assert topics.state_conn("eu868", "g") == "eu868/gateway/g/state/conn"
    assert topics.command_down("eu868", "g") == "eu868/gateway/g/command/down"
    with pytest.raises(mapping.MappingError, match="malformed DownlinkFrame"):
        mapping.unmarshal(gw.DownlinkFrame, b"{", json=True)
