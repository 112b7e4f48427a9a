"""The gateway's region (`gateway.region`, `gateway.sub_bands`): the radio's defaults per
region, one-line errors for what does not fit the region, the local server built with it (the
fleet's region must agree, so must the database's), and the emulated fleet nodes of a US915
single-channel gateway joining and taking a downlink."""

import subprocess
import sys
import types

import pytest
from lorafield_gateway import config as c
from lorafield_gateway.fleet import FleetDevice, append_devices
from lorafield_gateway.fleet_nodes import FleetNodes, receive_windows
from lorafield_gateway.forwarders.local import server_options, stored_network_server
from lorafield_gateway.lns import NetworkServer
from lorafield_hw.air import Air, PathLoss
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.scheduler import Scheduler
from lorafield_node.region import region

S = 1_000_000
EUI = "70b3d57ed0000b01"


@pytest.mark.parametrize(
    "name, frequency, sf, tx_band, prefix, sub_bands",
    [
        # EU868: the defaults as before regions.
        ("EU868", 868_100_000, 7, (863_000_000, 870_000_000), "eu868", ()),
        # US915 FSB2 channel 8 (902.3 + 8 x 0.2 MHz) at DR0, the join rate (RP002-1.0.4 2.5.2).
        ("US915", 903_900_000, 10, (902_000_000, 928_000_000), "us915_1", (2,)),
        # AU915 FSB2 channel 8 (915.2 + 8 x 0.2 MHz) at DR2, the slowest with dwell time.
        ("AU915", 916_800_000, 10, (915_000_000, 928_000_000), "au915_1", (2,)),
        # Dynamic plans: the first default channel at SF7 (DR5).
        ("AS923-1", 923_200_000, 7, (915_000_000, 928_000_000), "as923", ()),
        ("AS923-2", 921_400_000, 7, (920_000_000, 923_000_000), "as923_2", ()),
        ("IN865", 865_062_500, 7, (865_000_000, 867_000_000), "in865", ()),
        ("KR920", 922_100_000, 7, (920_900_000, 923_300_000), "kr920", ()),
    ],
)
def test_regional_defaults(name, frequency, sf, tx_band, prefix, sub_bands):
    cfg = c.from_dict({"gateway": {"region": name}})
    radio = cfg.radio
    assert (radio.frequency_hz, radio.sf, radio.bw_hz) == (frequency, sf, 125_000)
    assert (radio.tx_freq_min_hz, radio.tx_freq_max_hz) == tx_band
    assert cfg.chirpstack.topic_prefix == prefix
    assert cfg.gateway.sub_bands == sub_bands
    # print-config --region writes the same file back
    assert c.loads(c.render_defaults(name)) == cfg


def test_keys_in_the_file_win_and_another_sub_band_moves_the_radio():
    cfg = c.from_dict({"gateway": {"region": "US915", "sub_bands": [1]}})
    assert (cfg.radio.frequency_hz, cfg.chirpstack.topic_prefix) == (902_300_000, "us915_0")
    cfg = c.from_dict(
        {
            "gateway": {"region": "US915"},
            "radio": {"frequency_hz": 904_600_000, "sf": 8, "bw_hz": 500_000},
            "chirpstack": {"topic_prefix": "us"},
        }
    )
    assert (cfg.radio.frequency_hz, cfg.radio.sf, cfg.chirpstack.topic_prefix) == (
        904_600_000,
        8,
        "us",
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"gateway": {"region": "US902"}},
            "gateway.region: must be one of 'EU868', 'US915', 'AU915', 'AS923-1', 'AS923-2',"
            " 'AS923-3', 'AS923-4', 'IN865', 'KR920', got 'US902'",
        ),
        ({"gateway": {"region": 915}}, "gateway.region: must be a string, got 915"),
        (
            {"gateway": {"sub_bands": [2]}},
            "gateway.sub_bands: EU868 has no sub-bands (only US915 and AU915)",
        ),
        (
            {"gateway": {"region": "US915", "sub_bands": [0]}},
            "gateway.sub_bands: must be a list of sub-bands 1..8, e.g. [2], got [0]",
        ),
        ({"gateway": {"region": "US915", "sub_bands": 2}}, "gateway.sub_bands: must be a list"),
        (
            {"gateway": {"region": "US915"}, "radio": {"frequency_hz": 868_100_000}},
            "radio.frequency_hz: 868100000 Hz is no US915 uplink channel at 125 kHz"
            " (902300000 Hz + n x 200 kHz)",
        ),
        (
            {"gateway": {"region": "US915"}, "radio": {"frequency_hz": 902_300_000}},
            "radio.frequency_hz: 902300000 Hz is channel 0, in sub-band 1, not in"
            " gateway.sub_bands [2]",
        ),
        (
            {"gateway": {"region": "US915"}, "radio": {"sf": 12}},
            "radio.sf: SF12 at 125 kHz is no uplink data rate of US915 (gateway.region)",
        ),
        (
            {"gateway": {"region": "KR920"}, "radio": {"frequency_hz": 868_100_000}},
            "radio.frequency_hz: 868100000 Hz is outside KR920 (920900000..923300000 Hz",
        ),
        (
            {"gateway": {"region": "US915", "channels": [8]}},
            "gateway.channels: US915 needs at least 2 channels of 125 kHz",
        ),
        (
            {"gateway": {"region": "KR920", "channels": [0]}},
            "gateway.channels: KR920 takes its channels from the devices' defaults",
        ),
        (
            {
                "gateway": {"region": "AU915", "channels": [9]},
                "radio": {"frequency_hz": 916_800_000},
            },
            "radio.frequency_hz: 916800000 Hz is channel 8, not in gateway.channels [9]",
        ),
        (
            {"gateway": {"region": "AU915"}, "radio": {"tx_freq_max_hz": 920_000_000}},
            "radio.tx_freq_min_hz: 915000000..920000000 Hz leaves out the AU915 RX2 frequency"
            " 923300000 Hz",
        ),
    ],
)
def test_config_errors_name_the_key(data, message):
    with pytest.raises(c.ConfigError) as info:
        c.from_dict(data)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_gateway_run_with_a_bad_region_is_one_line(tmp_path):
    cfg = tmp_path / "gateway.toml"
    cfg.write_text('[gateway]\nregion = "EU433"\n')
    result = subprocess.run(
        [sys.executable, "-m", "lorafield_tools", "gateway", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "gateway.region: must be one of 'EU868'" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def fleet(tmp_path, region_line):
    path = tmp_path / "fleet.toml"
    path.write_text(region_line)
    device = FleetDevice(
        bytes.fromhex(EUI),
        "temperature",
        "t1",
        join_eui=bytes.fromhex("70b3d57ed00000ff"),
        app_key=bytes(range(100, 116)),
    )
    return append_devices(str(path), [device])


def local_config(tmp_path, region, **gateway):
    return c.from_dict(
        {
            "gateway": {"state_dir": str(tmp_path / "state"), "region": region, **gateway},
            "radio": {"kind": "emulated"},
            "local": {"enabled": True, "fleet": str(tmp_path / "fleet.toml")},
        }
    )


def test_the_local_server_runs_the_gateways_region(tmp_path):
    fleet(tmp_path, 'region = "US915"\nsub_bands = [2]\n')
    cfg = local_config(tmp_path, "US915")
    assert server_options(cfg)["adr_max_dr"] == 0  # the radio hears SF10/125 only: DR0
    server = stored_network_server(cfg)
    assert (server.region.name, server.channel_mask) == ("US915", 0xFF << 8 | 1 << 65)
    server.store.close()
    # the fleet says US915, the gateway EU868: refused, naming both
    with pytest.raises(c.ConfigError, match="local.fleet: .* is a US915 fleet, gateway.region"):
        stored_network_server(local_config(tmp_path, "EU868"))
    # the database holds US915 sessions: an AU915 server does not take it over
    fleet(tmp_path, 'region = "AU915"\n')
    with pytest.raises(c.ConfigError, match="local.db: .*holds the sessions of a US915"):
        stored_network_server(local_config(tmp_path, "AU915"))


def test_a_single_channel_au915_gateway_keeps_its_devices_on_its_channel(tmp_path):
    fleet(tmp_path, 'region = "AU915"\n')
    cfg = local_config(tmp_path, "AU915", channels=[9])
    assert (cfg.radio.frequency_hz, cfg.radio.sf) == (917_000_000, 10)  # AU915 channel 9
    server = stored_network_server(cfg)
    assert server.channel_mask == 1 << 9
    server.store.close()


def test_fleet_nodes_listen_where_the_region_answers():
    # RP002-1.0.4 2.5.7: RX1 of channel 8 is downlink channel 0, 923.3 MHz, DR10 = SF10/500;
    # RX2 923.3 MHz DR8 = SF12/500.
    assert receive_windows(region("US915"), 903_900_000, 10, 125_000) == (
        (923_300_000, 10, 500_000),
        (923_300_000, 12, 500_000),
    )
    # RP002-1.0.4 2.4.7: RX1 on the uplink channel at its DR, RX2 869.525 MHz SF12.
    assert receive_windows(region("EU868"), 868_100_000, 7, 125_000) == (
        (868_100_000, 7, 125_000),
        (869_525_000, 12, 125_000),
    )
    with pytest.raises(ValueError, match="no US915 uplink channel"):
        receive_windows(region("US915"), 903_950_000, 10, 125_000)


def test_us915_single_channel_gateway_nodes_join_send_and_take_a_downlink(tmp_path):
    fl = fleet(tmp_path, 'region = "US915"\nsub_bands = [2]\n')
    server = NetworkServer(fl.registry(), dedup_window_us=0, region="US915", sub_bands=(2,))
    scheduler = Scheduler(1)
    world = types.SimpleNamespace(scheduler=scheduler, air=Air(scheduler, PathLoss(seed=1)))
    # one channel, one SF: an RFM95 gateway on FSB2's first channel
    gateway = EmulatedGateway(world.air, "gw0", channels_hz=(903_900_000,), sfs=(10,))
    LnsLink(scheduler, server, [gateway])
    nodes = FleetNodes(
        world, fl, 1, 5_000, frequency_hz=903_900_000, sf=10, bw_hz=125_000, region=fl.region
    )
    scheduler.run_until(30 * S)
    (node,) = nodes.nodes
    assert node.joins == 1
    assert [r["kind"] for r in server.readings][:2] == ["temperature", "temperature"]
    server.enqueue_config(EUI, {"interval_s": 60})
    scheduler.run_until(scheduler.now_us + 12 * S)
    assert node.interval_us == 60 * S  # heard in RX1 at 923.3 MHz, 500 kHz
    sent = [e for e in server.events if e.kind == "downlink_sent"]
    assert sent and all(e.detail["window"] == "RX1" for e in sent)
