"""Field-scale runs of the air with plain endpoints: the LoRaSim experiment and a mixed field.

`run()` places N transmitters around one gateway and lets each send fixed-size frames
(whole PHYPayload, CR 4/5, CRC on) at exponentially distributed intervals, as LoRaSim does
(Bor et al. 2016): a node waits Exp(mean = interval), sends, waits for the end of its
frame, and repeats. Placement:

* "disc": uniform in the disc in which the farthest node is still above the sensitivity of
  its SF (mean path loss, no shadowing), so every loss is a collision (or busy demodulators);
* "ring": all nodes at the same distance (half that radius), so all frames arrive equally
  strong and capture never helps: the pure-ALOHA case.

With `sf=None` each node gets the smallest SF of `adr_sfs` that reaches it (as ADR would) in
a disc sized for the largest. With more than one channel each frame picks one of them at
random (as LoRaWAN nodes do); `channels(n)` gives the first n of EU868's eight-channel plan,
`region_channels(plan, sub_bands, bw_hz)` another region's (what an 8-channel gateway of
that region listens on at that bandwidth, `lorafield_hw.plans`: US915 FSB2's eight 125 kHz
channels or its 500 kHz one).

`capture=False` judges collisions with LoRaSim's simple check (any overlap on the same
channel and SF loses both frames) through the same air model (`Air(capture=False)`).
"""

import math
import time

from lorafield_node.region import eu868

from .air import Air, Gateway, PathLoss, Transmitter, sensitivity_dbm
from .airtime import symbol_time_us, time_on_air_us
from .plans import uplink_channels
from .scheduler import US_PER_S, Scheduler

# The three default channels (RP002 2.4.2), from the firmware's region table.
EU868_CHANNELS_HZ = eu868().default_channels
# The usual eight-channel EU868 plan: the three defaults, then the five channels a network
# adds in the Join-Accept CFList (channels 3..7). The region table has no CFList plan (the
# network server chooses it); these five are The Things Network's EU863-870 plan
# (thethingsnetwork.org/docs/lorawan/frequency-plans; EU_863_870_TTN.yml in
# TheThingsNetwork/lorawan-frequency-plans), all 125 kHz, DR0..5.
EU868_CFLIST_CHANNELS_HZ = (867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000)
EU868_PLAN_HZ = EU868_CHANNELS_HZ + EU868_CFLIST_CHANNELS_HZ


def channels(count):
    """The first `count` channels (1..8) of EU868's eight-channel plan."""
    if not 1 <= count <= len(EU868_PLAN_HZ):
        raise ValueError(f"channels must be 1..{len(EU868_PLAN_HZ)}")
    return EU868_PLAN_HZ[:count]


def region_channels(plan, sub_bands=None, bw_hz=125_000):
    """The uplink channels (Hz) at `bw_hz` of an 8-channel gateway in region `plan`."""
    return tuple(f for f, bw in uplink_channels(plan, sub_bands) if bw == bw_hz)


def disc_radius_m(path_loss, power_dbm, sf, bw_hz):
    """Largest distance at which the mean received power is still at the sensitivity."""
    return path_loss.range_m(power_dbm - sensitivity_dbm(sf, bw_hz))


def aloha_der(nodes, interval_s, airtime_s, channels=1):
    """Pure-ALOHA data extraction rate without capture: exp(-2 N T / (S C))."""
    return math.exp(-2 * nodes * airtime_s / (interval_s * channels))


def run(
    nodes,
    interval_s,
    *,
    sf=7,
    bw_hz=125_000,
    payload_bytes=20,
    hours=1.0,
    seed=0,
    power_dbm=14.0,
    channels_hz=(EU868_CHANNELS_HZ[0],),
    placement="disc",
    demodulators=8,
    path_loss=None,
    capture=True,
    adr_sfs=(7, 8, 9, 10, 11, 12),
):
    if nodes < 1 or interval_s <= 0 or hours <= 0:
        raise ValueError("need at least one node, a positive interval and positive hours")
    if placement not in ("disc", "ring"):
        raise ValueError(f"unknown placement {placement!r}")
    channels_hz = tuple(channels_hz)
    if not channels_hz:
        raise ValueError("need at least one channel")
    scheduler = Scheduler(seed)
    rng = scheduler.random
    air = Air(
        scheduler, path_loss if path_loss is not None else PathLoss(seed=seed), capture=capture
    )
    sfs = (sf,) if sf is not None else tuple(sorted(adr_sfs))
    gateway = Gateway(
        air, "gateway", (0.0, 0.0), channels_hz=channels_hz, bw_hz=bw_hz, sfs=sfs,
        demodulators=demodulators, on_receive=lambda reception: None,
    )  # fmt: skip
    gateway.start()
    radii = {s: disc_radius_m(air.path_loss, power_dbm, s, bw_hz) * (1 - 1e-9) for s in sfs}
    radius = max(radii.values())
    end_us = round(hours * 3600 * US_PER_S)
    mean_gap_us = interval_s * US_PER_S

    sent_per_channel = dict.fromkeys(channels_hz, 0)

    def send(node):
        channel = channels_hz[0] if len(channels_hz) == 1 else rng.choice(channels_hz)
        sent_per_channel[channel] += 1
        node.send(payload, frequency_hz=channel)

    def after_frame(frame):
        start = scheduler.now_us + round(rng.expovariate(1.0) * mean_gap_us)
        if start < end_us:
            scheduler.at(start, send, frame.sender)

    payload = bytes(payload_bytes)
    for index in range(nodes):
        distance = radius / 2 if placement == "ring" else radius * math.sqrt(rng.random())
        angle = 2 * math.pi * rng.random()
        node_sf = next((s for s in sfs if radii[s] >= distance), sfs[-1])
        node = Transmitter(
            air, f"node{index}", (distance * math.cos(angle), distance * math.sin(angle)),
            frequency_hz=channels_hz[0], sf=node_sf, bw_hz=bw_hz, power_dbm=power_dbm,
            on_end=after_frame,
        )  # fmt: skip
        start = round(rng.expovariate(1.0) * mean_gap_us)
        if start < end_us:
            scheduler.at(start, send, node)

    wall_start = time.perf_counter()
    scheduler.run()
    wall_s = max(time.perf_counter() - wall_start, 1e-9)

    sent = sum(endpoint.tx.sent for endpoint in air.endpoints)
    counts = gateway.rx
    airtime_s = time_on_air_us(payload_bytes, sfs[0], bw_hz) / US_PER_S
    return {
        "nodes": nodes,
        "sent": sent,
        "received": counts.received,
        "collided": counts.lost_collision,
        "lost_to_range": counts.lost_sensitivity,
        "lost_to_busy": counts.lost_busy,
        "data_extraction_rate": counts.received / sent if sent else 0.0,
        "aloha_der": aloha_der(nodes, interval_s, airtime_s, len(channels_hz)),
        "channels_hz": channels_hz,
        "sent_per_channel": sent_per_channel,
        "capture": capture,
        "airtime_s": airtime_s,
        "symbol_s": symbol_time_us(sfs[0], bw_hz) / US_PER_S,
        "radius_m": radius,
        "emulated_s": scheduler.now_us / US_PER_S,
        "wall_s": wall_s,
        "frames_per_wall_second": sent / wall_s,
        "emulated_to_wall_ratio": scheduler.now_us / US_PER_S / wall_s,
    }
