"""The radio medium: reception rules, path loss, collisions and capture, demodulator limits."""

import math

import pytest
from lorafield_hw import lorasim
from lorafield_hw import sx1276_registers as r
from lorafield_hw.air import (
    Air,
    Gateway,
    PathLoss,
    Transmitter,
    noise_floor_dbm,
    sensitivity_dbm,
)
from lorafield_hw.airtime import symbol_time_us, time_on_air_us
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sx1276 import SX1276
from lorafield_node.region import eu868
from lorafield_tools.cli import main
from radio_helpers import configure, read_packet, set_mode, start_tx

PAYLOAD = bytes(20)
T_SF7 = round(time_on_air_us(20, 7, 125_000))
SYMBOL_SF7 = symbol_time_us(7, 125_000)


def field(seed=1, **path_loss):
    scheduler = Scheduler(seed)
    air = Air(scheduler, PathLoss(seed=seed, **path_loss))
    gateway = Gateway(air, "gw", (0.0, 0.0)).start()
    return scheduler, air, gateway


def at_rssi(air, rssi_dbm, power_dbm=14.0):
    """A position whose mean received power at the origin is `rssi_dbm`."""
    return (air.path_loss.range_m(power_dbm - rssi_dbm), 0.0)


def test_received_with_rssi_and_snr_from_path_loss():
    scheduler, air, gateway = field(exponent=2.7, reference_loss_db=120.0)
    node = Transmitter(air, "n", (100.0, 0.0))
    node.send(b"hi")
    scheduler.run()
    (reception,) = gateway.received
    expected = 14 - (120.0 + 27 * math.log10(100 / 40))
    assert reception.rssi_dbm == pytest.approx(expected)
    assert reception.snr_db == pytest.approx(expected - (-174 + 10 * math.log10(125e3) + 6))
    assert noise_floor_dbm(125_000) == pytest.approx(-117.03, abs=0.01)
    assert reception.frame.payload == b"hi"
    assert reception.frame.end_us - reception.frame.start_us == round(time_on_air_us(2, 7, 125e3))
    assert node.tx.as_dict() == {**node.tx.as_dict(), "sent": 1, "received": 1}
    assert gateway.rx.received == 1


@pytest.mark.parametrize(
    ("override", "received"),
    [
        ({}, True),
        ({"frequency_hz": 868_100_000 + 29_000}, True),  # within 24 % of 125 kHz
        ({"frequency_hz": 868_100_000 + 31_000}, False),
        ({"frequency_hz": 868_300_000}, True),  # another gateway channel
        ({"frequency_hz": 869_525_000}, False),
        ({"bw_hz": 250_000}, False),
        ({"sync_word": 0x12}, False),
        ({"iq_inverted": True}, False),
        ({"implicit_header": True}, False),
    ],
)
def test_reception_needs_matching_settings(override, received):
    scheduler, air, gateway = field()
    Transmitter(air, "n", (10.0, 0.0)).send(PAYLOAD, **override)
    scheduler.run()
    assert len(gateway.received) == int(received)


def test_sf_must_be_one_the_receiver_listens_to():
    scheduler, air, _ = field()
    sf7_only = Gateway(air, "sf7", (0.0, 1.0), sfs=(7,)).start()
    Transmitter(air, "n", (10.0, 0.0), sf=9).send(PAYLOAD)
    scheduler.run()
    assert sf7_only.received == []


@pytest.mark.parametrize(("sf", "bw"), [(7, 125_000), (12, 125_000), (9, 250_000), (10, 500_000)])
def test_sensitivity_threshold(sf, bw):
    scheduler, air, _ = field()
    gateway = Gateway(air, "g", (0.0, 0.0), bw_hz=bw).start()
    limit = sensitivity_dbm(sf, bw)
    near = Transmitter(air, "near", at_rssi(air, limit + 0.1), sf=sf, bw_hz=bw)
    far = Transmitter(air, "far", at_rssi(air, limit - 0.1), sf=sf, bw_hz=bw)
    near.send(PAYLOAD)
    scheduler.run()
    far.send(PAYLOAD)
    scheduler.run()
    assert [x.frame.sender for x in gateway.received] == [near]
    assert gateway.rx.lost_sensitivity == 1 and far.tx.lost_sensitivity == 1


def test_datasheet_sensitivity_values():
    assert sensitivity_dbm(7, 125_000) == -123 and sensitivity_dbm(12, 125_000) == -136
    assert sensitivity_dbm(12, 250_000) == -133 and sensitivity_dbm(7, 500_000) == -116


def test_shadowing_is_seeded_per_link_and_order_independent():
    def rssi(seed, names):
        scheduler = Scheduler(seed)
        air = Air(scheduler, PathLoss(seed=seed, shadowing_sigma_db=8.0))
        gateway = Gateway(air, "gw").start()
        nodes = [Transmitter(air, name, (20.0, 0.0)) for name in names]
        for node in nodes:
            node.send(PAYLOAD)
            scheduler.run()
        return {x.frame.sender.name: x.rssi_dbm for x in gateway.received}

    first = rssi(3, ["a", "b", "c"])
    assert first == rssi(3, ["a", "b", "c"])
    assert len(set(first.values())) == 3  # same distance, different links
    assert first != rssi(4, ["a", "b", "c"])
    loss = PathLoss(seed=5, shadowing_sigma_db=8.0)
    draws = [loss.shadowing_db((0, i)) for i in range(2000)]
    mean = sum(draws) / len(draws)
    spread = math.sqrt(sum((d - mean) ** 2 for d in draws) / len(draws))
    assert abs(mean) < 0.6 and spread == pytest.approx(8.0, rel=0.08)


def _two_frames(rssi_a, rssi_b, gap_us, sf_b=7, freq_b=868_100_000, demodulators=8, capture=True):
    scheduler = Scheduler(1)
    air = Air(scheduler, capture=capture)
    gateway = Gateway(air, "gw", demodulators=demodulators).start()
    a = Transmitter(air, "a", at_rssi(air, rssi_a))
    b = Transmitter(air, "b", at_rssi(air, rssi_b), sf=sf_b, frequency_hz=freq_b)
    a.send(PAYLOAD)
    scheduler.run_until(scheduler.now_us + gap_us)
    b.send(PAYLOAD)
    scheduler.run()
    return gateway, a, b, {x.frame.sender.name for x in gateway.received}


def test_equal_power_overlap_loses_both():
    gateway, a, b, received = _two_frames(-100, -100, T_SF7 // 2)
    assert received == set()
    assert gateway.rx.lost_collision == 2
    assert a.tx.lost_collision == 1 and b.tx.lost_collision == 1


def test_within_capture_threshold_both_lost():
    _, _, _, received = _two_frames(-100, -105, T_SF7 // 2)
    assert received == set()


@pytest.mark.parametrize("stronger", ["a", "b"])
def test_capture_keeps_the_frame_6_db_stronger(stronger):
    rssi = {"a": -106.0, "b": -106.0}
    rssi[stronger] = -100.0
    gateway, a, b, received = _two_frames(rssi["a"], rssi["b"], T_SF7 // 2)
    assert received == {stronger}
    assert gateway.rx.lost_collision == 1 and gateway.rx.received == 1


def test_overlap_only_in_first_preamble_symbols_is_harmless():
    # b starts while a still sends, but a has ended before b's lock point (the receiver
    # needs b's last 5 preamble symbols): no collision.
    gap = T_SF7 - round(2.5 * SYMBOL_SF7)
    _, _, _, received = _two_frames(-100, -100, gap)
    assert received == {"a", "b"}
    gap = T_SF7 - round(3.5 * SYMBOL_SF7)  # overlap reaches b's lock section
    _, _, _, received = _two_frames(-100, -100, gap)
    assert received == set()


def test_different_sf_and_channel_are_orthogonal():
    _, _, _, received = _two_frames(-100, -100, 1_000, sf_b=8)
    assert received == {"a", "b"}
    _, _, _, received = _two_frames(-100, -100, 1_000, freq_b=868_300_000)
    assert received == {"a", "b"}


def test_consecutive_frames_do_not_collide():
    _, _, _, received = _two_frames(-100, -100, T_SF7)
    assert received == {"a", "b"}


def test_demodulator_limit():
    gateway, _, b, received = _two_frames(-100, -100, 1_000, sf_b=8, demodulators=1)
    assert received == {"a"}
    assert gateway.rx.lost_busy == 1 and b.tx.lost_busy == 1
    # Eight demodulators, nine simultaneous frames on three channels and three SFs.
    scheduler = Scheduler(1)
    air = Air(scheduler)
    gateway = Gateway(air, "gw").start()
    channels = (868_100_000, 868_300_000, 868_500_000)
    senders = [
        Transmitter(air, f"n{i}", (10.0 + i, 0.0), sf=7 + i % 3, frequency_hz=channels[i // 3])
        for i in range(9)
    ]
    for sender in senders:
        sender.send(PAYLOAD)
        scheduler.run_until(scheduler.now_us + 100)
    scheduler.run()
    assert gateway.rx.received == 8 and gateway.rx.lost_busy == 1
    assert senders[-1].tx.lost_busy == 1


def test_single_demodulator_relocks_onto_a_capturing_frame():
    gateway, _, _, received = _two_frames(-110, -100, 1_000, demodulators=1)
    assert received == {"b"}
    assert gateway.rx.lost_collision == 1 and gateway.rx.lost_busy == 0


def test_frame_in_flight_when_listening_starts_is_missed_but_interferes():
    scheduler = Scheduler(1)
    air = Air(scheduler)
    gateway = Gateway(air, "gw")
    a = Transmitter(air, "a", at_rssi(air, -100))
    b = Transmitter(air, "b", at_rssi(air, -100))
    a.send(PAYLOAD)
    scheduler.run_until(1_000)
    gateway.start()
    scheduler.run_until(10_000)
    b.send(PAYLOAD)
    scheduler.run()
    assert gateway.received == []
    assert gateway.rx.lost_collision == 1  # b, corrupted by a


@pytest.mark.parametrize("hear", [True, False])
def test_nodes_hear_nodes_or_only_gateways(hear):
    """Air(nodes_hear_nodes=False), as an emulated field runs: a node's receiver is neither
    reached nor disturbed by another node's frame, in flight or new, or in its channel power,
    but a gateway's frame reaches it as before; a gateway still hears the nodes."""
    scheduler = Scheduler(1)
    air = Air(scheduler, nodes_hear_nodes=hear)
    listener = Gateway(air, "node-rx", at_rssi(air, -100))  # a node's receiver
    listener.air_node = True
    gateway = Gateway(air, "gw").start()
    early = Transmitter(air, "early", at_rssi(air, -90))
    early.air_node = True
    late = Transmitter(air, "late", at_rssi(air, -90))
    late.air_node = True
    downlink = Transmitter(air, "gw-tx", (0.0, 0.0))
    early.send(PAYLOAD)
    scheduler.run_until(1_000)
    listener.start()
    noise = noise_floor_dbm(125_000)
    in_flight_power = air.channel_power_dbm(listener, 868_100_000, 125_000)
    scheduler.run_until(2 * T_SF7)
    late.send(PAYLOAD)
    scheduler.run_until(4 * T_SF7)
    downlink.send(PAYLOAD)
    scheduler.run()
    heard = [r.frame.sender.name for r in listener.received]
    assert heard == (["late", "gw-tx"] if hear else ["gw-tx"])
    assert (in_flight_power > noise + 1) is hear
    assert {"early", "late"} <= {r.frame.sender.name for r in gateway.received}


@pytest.mark.parametrize("stronger", ["a", "b"])
def test_without_capture_any_overlap_loses_both(stronger):
    rssi = {"a": -110.0, "b": -110.0}
    rssi[stronger] = -90.0  # 20 dB: the capture model keeps the stronger frame
    assert _two_frames(rssi["a"], rssi["b"], T_SF7 // 2)[3] == {stronger}
    gateway, a, b, received = _two_frames(rssi["a"], rssi["b"], T_SF7 // 2, capture=False)
    assert received == set()
    assert gateway.rx.lost_collision == 2 and a.tx.lost_collision == b.tx.lost_collision == 1
    # An overlap only in b's first preamble symbols is harmless with capture, not without.
    gap = T_SF7 - round(2.5 * SYMBOL_SF7)
    assert _two_frames(-100, -100, gap)[3] == {"a", "b"}
    assert _two_frames(-100, -100, gap, capture=False)[3] == set()


def test_without_capture_other_rules_still_apply():
    assert _two_frames(-100, -100, 1_000, sf_b=8, capture=False)[3] == {"a", "b"}
    assert _two_frames(-100, -100, 1_000, freq_b=868_300_000, capture=False)[3] == {"a", "b"}
    assert _two_frames(-100, -100, T_SF7, capture=False)[3] == {"a", "b"}
    gateway, _, b, received = _two_frames(-100, -100, 1_000, sf_b=8, demodulators=1, capture=False)
    assert received == {"a"} and gateway.rx.lost_busy == 1 and b.tx.lost_busy == 1


def _no_capture_der(nodes, interval_s, airtime_s, channels=1):
    """The DER of LoRaSim's traffic under the simple check, for independent nodes.

    A node sends, then waits Exp(S): another node is on air at a random instant with
    probability T / (S + T), and otherwise starts within the next T with probability
    1 - exp(-T / S). A frame survives if none of the other N - 1 nodes does either on its
    channel (probability 1 / C per frame).
    """
    t, s = airtime_s, interval_s
    clear = s / (s + t) * math.exp(-t / s)
    return (1 - (1 - clear) / channels) ** (nodes - 1)


def test_lorasim_without_capture_matches_pure_aloha_on_one_channel():
    # Nodes spread over the disc (unequal powers): capture would help; the simple check
    # does not let it, so the DER is pure ALOHA's.
    nodes, interval_s = 50, 10.0
    kwargs = dict(sf=7, payload_bytes=20, hours=1, seed=3)
    result = lorasim.run(nodes, interval_s, capture=False, **kwargs)
    t = result["airtime_s"]
    assert result["capture"] is False and len(result["channels_hz"]) == 1
    assert result["lost_to_range"] == 0 and result["lost_to_busy"] == 0
    assert result["sent"] == result["received"] + result["collided"]
    der = result["data_extraction_rate"]
    assert der == pytest.approx(_no_capture_der(nodes, interval_s, t), abs=0.02)
    assert der == pytest.approx(result["aloha_der"], abs=0.02)
    assert result["aloha_der"] == pytest.approx(math.exp(-2 * nodes * t / interval_s))
    with_capture = lorasim.run(nodes, interval_s, **kwargs)
    assert with_capture["data_extraction_rate"] > der + 0.03


def test_lorasim_without_capture_scales_with_the_channels():
    # Eight times the nodes on eight channels: about the same DER as one channel.
    nodes, interval_s, channels = 240, 10.0, 8
    result = lorasim.run(
        nodes, interval_s, sf=7, hours=0.25, channels_hz=lorasim.channels(channels),
        capture=False, seed=4,
    )  # fmt: skip
    t = result["airtime_s"]
    expected = _no_capture_der(nodes, interval_s, t, channels)
    assert result["data_extraction_rate"] == pytest.approx(expected, abs=0.02)
    assert result["aloha_der"] == pytest.approx(math.exp(-2 * nodes * t / interval_s / channels))
    assert result["aloha_der"] == pytest.approx(lorasim.aloha_der(nodes // 8, interval_s, t))


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_lorasim_channels_are_the_first_n_of_the_plan(count):
    plan = lorasim.EU868_PLAN_HZ
    assert len(plan) == len(set(plan)) == 8
    assert plan[:3] == eu868().default_channels
    assert all(867_000_000 < f < 868_000_000 for f in plan[3:])
    assert lorasim.channels(count) == plan[:count]
    result = lorasim.run(60, 5.0, hours=0.2, channels_hz=lorasim.channels(count), seed=count)
    per_channel = result["sent_per_channel"]
    assert set(per_channel) == set(plan[:count])
    assert sum(per_channel.values()) == result["sent"]
    share = result["sent"] / count
    assert all(abs(n - share) < 0.15 * share for n in per_channel.values())


@pytest.mark.parametrize("count", [0, 9, -1])
def test_lorasim_channels_outside_the_plan_are_refused(count):
    with pytest.raises(ValueError):
        lorasim.channels(count)


def test_chip_and_plain_endpoints_share_the_air():
    scheduler, air, gateway = field()
    chip = SX1276(scheduler, air, name="node", position=(20.0, 0.0))
    configure(chip, sf=9)
    start_tx(chip, b"from a chip")
    scheduler.run()
    assert [x.frame.payload for x in gateway.received] == [b"from a chip"]
    assert gateway.received[0].frame.sf == 9
    # Downlink from a plain transmitter to the chip: inverted IQ, no CRC, as LoRaWAN does.
    configure(chip, sf=9, iq_rx_inverted=True)
    set_mode(chip, r.MODE_RX_CONTINUOUS)
    downlink = Transmitter(air, "gw-tx", (0.0, 0.0), sf=9, iq_inverted=True, crc=False)
    downlink.send(b"downlink")
    scheduler.run()
    assert chip.read_register(r.REG_IRQ_FLAGS) & r.IRQ_RX_DONE
    assert read_packet(chip) == b"downlink"


def test_lorasim_matches_pure_aloha_without_capture():
    # All nodes at one distance: equal power, so every timing collision loses both frames.
    nodes, interval_s = 50, 10.0
    result = lorasim.run(nodes, interval_s, sf=7, payload_bytes=20, hours=1, placement="ring")
    t = result["airtime_s"]
    # LoRaSim's node waits Exp(S) after each frame; frames collide when their starts are
    # closer than T minus the 3 preamble symbols a receiver may lose.
    vulnerable = 2 * (t - 3 * result["symbol_s"])
    expected = math.exp(-(nodes - 1) * vulnerable / (interval_s + t))
    assert result["data_extraction_rate"] == pytest.approx(expected, abs=0.02)
    assert result["data_extraction_rate"] == pytest.approx(result["aloha_der"], abs=0.04)
    assert result["lost_to_range"] == 0 and result["lost_to_busy"] == 0
    assert result["sent"] == result["received"] + result["collided"]


def test_lorasim_disc_has_no_range_losses_and_capture_helps():
    kwargs = dict(sf=7, payload_bytes=20, hours=1, seed=2)
    disc = lorasim.run(50, 10.0, **kwargs)
    ring = lorasim.run(50, 10.0, placement="ring", **kwargs)
    assert disc["lost_to_range"] == 0
    assert disc["data_extraction_rate"] > ring["data_extraction_rate"] + 0.03
    assert disc["radius_m"] == pytest.approx(PathLoss().range_m(14 - sensitivity_dbm(7, 125e3)))


def test_lorasim_is_deterministic_for_a_seed():
    def run(seed):
        result = lorasim.run(30, 5.0, hours=0.2, seed=seed)
        return {k: result[k] for k in ("sent", "received", "collided")}

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_bench_air_lorasim_output(capsys):
    argv = ["bench", "air", "--nodes", "40", "--interval-s", "20", "--sf", "7", "--bw", "125"]
    assert main([*argv, "--payload-bytes", "20", "--hours", "0.5", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = dict(line.split(": ", 1) for line in lines)
    assert len(values) == len(lines)
    for name in ("sent", "received", "collided", "lost_to_range", "data_extraction_rate"):
        assert name in values
    assert "frames_per_wall_second" in values
    sent, received = int(values["sent"]), int(values["received"])
    assert sent == received + int(values["collided"]) + int(values["lost_to_range"]) + int(
        values["lost_to_busy"]
    )
    assert float(values["data_extraction_rate"]) == pytest.approx(received / sent, abs=1e-4)
    assert 0 < received < sent


@pytest.mark.parametrize(
    "argv",
    [
        ["--nodes", "0"],
        ["--nodes", "10", "--interval-s", "0"],
        ["--nodes", "10", "--sf", "13"],
        ["--nodes", "10", "--bw", "100"],
        ["--nodes", "10", "--hours", "-1"],
        ["--nodes", "ten"],
        ["--nodes", "10", "--channels", "0"],
        ["--nodes", "10", "--channels", "9"],
        ["--nodes", "10", "--channels", "99"],
        ["--nodes", "10", "--channels", "-1"],
        ["--nodes", "10", "--channels", "x"],
        ["--channels", "3"],
        ["--nodes", "10", "--no-capture=yes"],
    ],
)
def test_bench_air_bad_arguments(argv, capsys):
    assert main(["bench", "air", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("lorafield bench air: ") and captured.out == ""


def test_bench_air_channels_and_no_capture(capsys):
    def bench(*extra):
        argv = ["bench", "air", "--nodes", "60", "--interval-s", "5", "--hours", "0.2"]
        assert main([*argv, *extra]) == 0
        lines = capsys.readouterr().out.splitlines()
        return dict(line.split(": ", 1) for line in lines)

    values = bench("--channels", "5", "--no-capture")
    assert values["channels"] == "5" and values["capture"] == "off"
    per_channel = dict(item.split("=") for item in values["sent_per_channel_mhz"].split())
    assert [float(f) * 1e6 for f in per_channel] == list(lorasim.channels(5))
    assert all(int(n) > 0 for n in per_channel.values())
    assert sum(int(n) for n in per_channel.values()) == int(values["sent"])
    default = bench()
    assert default["channels"] == "1" and default["capture"] == "on"
    assert list(default["sent_per_channel_mhz"].split("=")) == ["868.1", default["sent"]]
    # Fewer channels, more collisions; no capture, fewer frames saved.
    one_channel = bench("--no-capture")
    assert float(one_channel["data_extraction_rate"]) < float(values["data_extraction_rate"])
    assert float(default["data_extraction_rate"]) > float(one_channel["data_extraction_rate"])
