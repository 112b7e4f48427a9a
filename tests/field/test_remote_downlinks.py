"""Downlinks from a remote Semtech UDP server during an emulated field run (`--also-forward
udp://...`): a real UDP socket plays the server and sends PULL_RESPs while the field runs.
Each is transmitted (TX_ACK "NONE", the frame on the air from that gateway) or refused with
a TX_ACK error, and the run goes on to its end."""

import sqlite3

from gw_helpers import UdpServer, wait
from lorafield_gateway.semtech import pull_resp, tx_ack
from lorafield_tools.field.run import Field
from lorafield_tools.field.spec import parse_scenario

SCENARIO = {
    "field": {"name": "remote downlinks", "hours": 0.5, "seed": 3},
    "gateway": [{"name": "a", "position": [0, 0]}],
    "node": [
        {"kind": "temperature", "name": "t", "position": [100, 50], "count": 2, "step": [50, 0]}
    ],
}
IMMEDIATE = b"\x60" + b"remote-imme" + bytes(4)
TIMED = b"\x60" + b"remote-tmst" + bytes(4)


def test_pull_resps_from_a_remote_server_are_sent_or_refused_and_the_run_goes_on(tmp_path):
    udp = UdpServer()
    try:
        spec = parse_scenario(SCENARIO, "remote.toml")
        field = Field(spec, str(tmp_path / "out"), also_forward=[("udp", "127.0.0.1", udp.port)])
        sent = []

        def progress(now_s, end_s):
            # While the field runs: an immediate downlink, and one for a counter value half a
            # wrap away (no field instant can make it).
            if sent:
                return
            assert wait(lambda: udp.pull_address is not None), "no PULL_DATA"
            imme = pull_resp.TxPacket(IMMEDIATE, 869_525_000, 9, 125_000, immediate=True)
            udp.send_down(pull_resp.encode(pull_resp.PullResp(0x0A0A, imme)))
            gateway = field.gateways[0]
            tmst = (gateway.service.clock.now_us() + 2**31) % 2**32
            timed = pull_resp.TxPacket(TIMED, 868_100_000, 7, 125_000, tmst=tmst)
            udp.send_down(pull_resp.encode(pull_resp.PullResp(0x0B0B, timed)))
            sent.append(now_s)
            # Let the forwarder's thread hand both over before the field moves on.
            assert wait(lambda: gateway.service.stats.get("downlink.requested") >= 2)

        field.run(progress=progress)
        assert sent and field.scheduler.now_us == field.end_us  # the run went on to its end
        results = field.finish(drain_s=5)
        acks = {
            a.token: a.error for a in (tx_ack.decode(d) for d in list(udp.received) if d[3] == 5)
        }
        assert acks[0x0A0A] == "NONE"
        assert acks[0x0B0B] in ("TOO_LATE", "TOO_EARLY")
        gateway = field.gateways[0]
        on_air = [f for f in field.air.log if f.sender is gateway.radio]
        assert [f.payload for f in on_air if f.payload == IMMEDIATE] == [IMMEDIATE]
        assert [f.frequency_hz for f in on_air if f.payload == IMMEDIATE] == [869_525_000]
        assert not [f for f in on_air if f.payload == TIMED]
        # The nodes' uplinks went on reaching the local server after the remote downlinks.
        db = sqlite3.connect(results.db_path)
        last_reading_us = db.execute("SELECT max(time_us) FROM readings").fetchone()[0]
        db.close()
        epoch = gateway.network.clock.epoch_us
        assert (last_reading_us - epoch) / 1e6 > sent[0] + 600
    finally:
        udp.close()
