"""`lorafield bench console`: the field console's response times and memory on a big database.

Issue 18's goals: with 1,000 devices and 10 million readings, the overview and a device page
in <= 200 ms p95, the API's readings of a device-week in <= 50 ms p95, the console process
in <= 150 MiB (on the 2-core machine).

The database is generated, not emulated (a field run would take days): the network server's
schema (`SCHEMA`), filled with sqlite3 the way the server fills it. 50 % parking bays, 20 %
water gauges, 30 % temperature sensors, each sending at its interval up to "now" (the
emulation epoch + N days, `clock = emulated`: the console takes the newest frame as now), so
every device covers the same span; per uplink one `frames` row (the copies of 1-3 gateways),
one `readings` row and one `uplink` event, in time order across the field, as the server
writes them. Every twelfth uplink of a device is a status (battery slowly falling); water
gauges send a level or a series of four, with floods over the high threshold (`alarm`); a
few joins per device (the frame counter starts again), some config downlinks, a few silent
and never-joined devices, the gateway_hours summary of the frames. Also a fleet file
(positions around 52.0 N 5.0 E, boards, thresholds; the published test key as every
device's AppKey) for the map. The build writes without a journal and makes the indexes after
the rows (a sorted build: about 5 minutes for 10 million readings), then switches the file to
WAL as the server leaves it; it has no sqlite_stat1 (the server never runs ANALYZE), so the
query plans are the ones a field's database gets.

Then the console runs as its own process (`lorafield console --port 0`), so its memory is
its own, and this process times HTTP requests to it, one at a time: per route N requests
after warm-ups (device routes rotate over devices of every kind); p50, p95 and max in ms,
the console's peak and current RSS, and a verdict per goal.

`--db PATH` keeps the database (and PATH.fleet.toml) for the next run: built only when
missing or with `--rebuild`. Without it everything lives in a temporary directory.
"""

import json
import math
import os
import pickle
import queue
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from random import Random

from lorafield_gateway.lns.downlink import encode_config

from ..cli import CommandError, UsageError
from .keys import TEST_APP_KEY

HELP = "field console: page and API response times and memory on a generated database"

EPOCH_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z, the emulation epoch
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
JOIN_EUI = "70b3d57ed00000ff"
EUI_BASE = 0x70B3D57EE0000000
MIX = (("parking", 0.5), ("water_level", 0.2), ("temperature", 0.3))
PREFIX = {"parking": "bay", "water_level": "river", "temperature": "temp"}
FPORT = {"parking": 10, "water_level": 11, "temperature": 12, "status": 20}
CHANNELS_HZ = (868_100_000, 868_300_000, 868_500_000)
HIGH_MM = 1200  # the water gauges' thresholds.high_mm (fleet settings)
STATUS_EVERY = 12  # one uplink in twelve is a status
WINDOW_US = 6 * HOUR_US  # rows are generated, time-sorted and inserted per window
META_KEY = "bench_console"  # what built the file: a file without it is rebuilt

# The goals of issue 18.
PAGE_GOAL_MS = 200
READINGS_GOAL_MS = 50
RSS_GOAL_MIB = 150

QUICK = {"devices": 20, "readings": 20_000, "requests": 5}
DEFAULTS = {"devices": 1000, "readings": 10_000_000, "requests": 50}


def add_arguments(parser):
    parser.add_argument("--devices", type=int, help="devices (default 1000; --quick 20)")
    parser.add_argument(
        "--readings", type=int, help="readings in all (default 10,000,000; --quick 20,000)"
    )
    parser.add_argument("--gateways", type=int, default=10, help="gateways (default 10)")
    parser.add_argument(
        "--requests", type=int, help="timed requests per route (default 50; --quick 5)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per route first")
    parser.add_argument(
        "--db", metavar="PATH", help="keep the database here (and PATH.fleet.toml); reused"
    )
    parser.add_argument("--rebuild", action="store_true", help="build --db PATH again")
    parser.add_argument("--seed", type=int, default=18, help="generator seed")
    parser.add_argument("--quick", action="store_true", help="a tiny database: a smoke test")


def _resolve(args):
    base = QUICK if args.quick else DEFAULTS
    for name, value in base.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not 3 <= args.devices <= 100_000:
        raise UsageError("--devices must be 3..100000")
    if not args.devices <= args.readings <= 1_000_000_000:
        raise UsageError("--readings must be --devices..1000000000")
    if not 1 <= args.gateways <= 100:
        raise UsageError("--gateways must be 1..100")
    if not 1 <= args.requests <= 10_000:
        raise UsageError("--requests must be 1..10000")
    if not 0 <= args.warmup <= 1000:
        raise UsageError("--warmup must be 0..1000")
    if args.rebuild and not args.db:
        raise UsageError("--rebuild needs --db PATH")


def run(args):
    _resolve(args)
    work = tempfile.mkdtemp(prefix="lorafield-bench-console-")
    try:
        db_path = os.path.abspath(args.db) if args.db else os.path.join(work, "lns.sqlite3")
        fleet_path = db_path + ".fleet.toml"
        params = {
            "devices": args.devices,
            "readings": args.readings,
            "gateways": args.gateways,
            "seed": args.seed,
        }
        built = _built_with(db_path, fleet_path)
        if built is None or args.rebuild:
            start = time.perf_counter()
            info = build(db_path, fleet_path, **params)
            print(f"database: {db_path} (built)")
            print(
                f"devices: {info['devices']} ({info['parking']} parking, "
                f"{info['water_level']} water_level, {info['temperature']} temperature; "
                f"{info['silent']} silent, {info['unjoined']} never joined)"
            )
            print(f"readings: {info['readings']} over {info['days']:.1f} days")
            print(f"gateways: {info['gateways']}")
            print(f"build_s: {time.perf_counter() - start:.1f}")
        else:
            note = "" if built == params else f"; asked for {_params_text(params)}"
            print(f"database: {db_path} (reused: {_params_text(built)}{note}; --rebuild)")
            added = _upgrade(db_path)
            if added:
                print(f"indexes added: {', '.join(added)} (the schema changed since the build)")
        print(f"db_size_mib: {_file_mib(db_path):.1f}")
        _measure(db_path, fleet_path, work, args.requests, args.warmup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _params_text(params):
    return (
        f"{params['devices']} devices, {params['readings']} readings, "
        f"{params['gateways']} gateways, seed {params['seed']}"
    )


def _file_mib(path):
    return sum(
        os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix)
    ) / (1 << 20)


def _built_with(db_path, fleet_path):
    """The parameters a finished build of `db_path` was made with, or None."""
    if not (os.path.exists(db_path) and os.path.exists(fleet_path)):
        return None
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key=?", (META_KEY,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None


def _upgrade(db_path):
    """Bring a reused file to today's schema, as the server does when it opens one (the
    console opens it read-only): the names of the indexes this added."""
    from lorafield_gateway.lns.sqlite_store import SCHEMA

    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        query = "SELECT name FROM sqlite_master WHERE type='index'"
        before = {name for (name,) in db.execute(query)}
        db.executescript(SCHEMA)
        return sorted({name for (name,) in db.execute(query)} - before)
    finally:
        db.close()


# -- the generator ----------------------------------------------------------------------------
class _Device:
    """One generated device: its plan (times, radio, sensor) and its running state."""

    def __init__(self, index, kind, rnd):
        self.index = index
        self.kind = kind
        self.eui = f"{EUI_BASE + index + 1:016x}"
        self.addr = index + 1
        self.addr_hex = f"{self.addr:08x}"
        self.addr_le = self.addr.to_bytes(4, "little").hex()
        self.series = False  # water: four levels per uplink
        if kind == "parking":
            self.spacing_s, self.jitter, self.interval_s = 1800, 0.45, 3600
        elif kind == "water_level":
            self.series = rnd.random() < 0.7
            self.spacing_s = 3600 if self.series else 900
            self.jitter, self.interval_s = 0.02, 900
        else:
            self.spacing_s, self.jitter, self.interval_s = 900, 0.02, 900
        self.n = 0  # readings
        self.end_us = 0  # the newest reading's time (about)
        self.silent = False
        self.status_phase = rnd.randrange(STATUS_EVERY)
        self.sf = rnd.choice((7, 7, 7, 8, 8, 9, 10))
        self.dr = 12 - self.sf
        self.fport = FPORT[kind]
        # The battery falls linearly to its level now from a fresh pack's (new batteries
        # further back); a few fall fast and are nearly spent.
        self.battery_full = rnd.randint(3080, 3200)
        if rnd.random() < 0.03:
            self.battery_end, drain = rnd.randint(2150, 2400), rnd.uniform(10, 30)
        else:
            self.battery_end, drain = rnd.randint(2550, 3050), rnd.uniform(0.5, 4.0)
        self.drain_per_us = drain / DAY_US
        # sensor
        self.occupied = rnd.random() < 0.5
        self.level_base = rnd.randint(250, 800)
        self.level_amp = rnd.randint(40, 200)
        self.level_period_us = rnd.uniform(2, 10) * DAY_US
        self.level_phase = rnd.uniform(0, 2 * math.pi)
        self.floods = []  # (start_us, end_us, rise_mm)
        self.temp_mean = rnd.uniform(6, 14)
        self.temp_phase = rnd.uniform(0, 2 * math.pi)
        self.bme280 = kind == "temperature" and rnd.random() < 0.25
        # running state
        self.k = 0
        self.next_t = 0
        self.fcnt = 0
        self.fcnt_down = 0
        self.joins = []  # reading indexes a join comes before (0 first)
        self.joined = 0
        self.join_nonce = 0
        self.join_us = 0
        self.start_us = 0
        self.since_us = 0
        self.first_status = True
        self.downlinks = {}  # reading index -> config of a downlink after it


def _plan(devices, readings, gateways, rnd):
    """The devices with their reading counts, spans and radios; (devices, now_us, span_us)."""
    kinds = []
    for kind, share in MIX:
        kinds += [kind] * round(devices * share)
    kinds = (kinds + ["temperature"] * devices)[:devices]
    order = list(range(devices))
    rnd.shuffle(order)  # kinds interleaved in DevEUI order, as a fleet grows
    plan = [_Device(i, kinds[order[i]], rnd) for i in range(devices)]
    numbers = dict.fromkeys(PREFIX, 0)
    for d in plan:
        numbers[d.kind] += 1
        d.name = f"{PREFIX[d.kind]}-{numbers[d.kind]}"
    unjoined = max(1, devices // 200)
    silent = max(1, devices // 100)
    picks = rnd.sample(plan, unjoined + silent)
    talking = [d for d in plan if d not in picks[:unjoined]]
    for d in picks[unjoined:]:
        d.silent = True
    # Every talking device covers the same span: counts in proportion to rates.
    rate = sum(1 / d.spacing_s for d in talking)
    span_s = readings / rate
    for d in talking:
        d.n = max(1, round(span_s / d.spacing_s))
    surplus = sum(d.n for d in talking) - readings
    busiest = sorted(talking, key=lambda d: -d.n)
    i = 0
    while surplus:
        d = busiest[i % len(busiest)]
        step = 1 if surplus > 0 else -1
        if d.n - step >= 1:
            d.n -= step
            surplus -= step
        i += 1
    days = math.ceil((span_s * 1_000_000 + 11 * DAY_US) / DAY_US) + 1
    now_us = EPOCH_US + days * DAY_US
    gateway_ids = [f"0016c001ff{g + 1:06x}" for g in range(gateways)]
    for d in talking:
        spacing_us = d.spacing_s * 1_000_000
        d.end_us = now_us - rnd.randint(0, spacing_us)
        if d.silent:
            d.end_us -= rnd.randint(1 * DAY_US, 10 * DAY_US)
        start = d.end_us - (d.n - 1) * spacing_us
        d.start_us = start
        d.next_t = start
        joins = {0} | {rnd.randrange(d.n) for _ in range(rnd.choice((0, 1, 1, 2, 3)))}
        d.joins = sorted(joins)
        for _ in range(rnd.choice((0,) * 18 + (1, 2))):
            config = rnd.choice(({"interval_s": 600}, {"interval_s": 1800}))
            d.downlinks[rnd.randrange(d.n)] = config
        if d.kind == "water_level" and rnd.random() < 0.3:
            length = rnd.randint(6, 48) * HOUR_US
            at = rnd.randint(start, now_us)
            if rnd.random() < 0.2:  # a flood still on now
                at = now_us - length // 2
            d.floods.append((at, at + length, rnd.randint(HIGH_MM - 300, HIGH_MM + 300)))
    # 1-3 gateways: (id, mean RSSI, mean SNR), the nearest first (it hears every frame).
    near = rnd.sample(gateway_ids, len(gateway_ids))
    for d in plan:
        count = min(len(near), rnd.choice((1, 1, 2, 2, 2, 3, 3)))
        first = rnd.randrange(len(near))
        d.gateways = [
            (near[(first + j) % len(near)], rnd.uniform(-118, -70), rnd.uniform(-8, 11))
            for j in range(count)
        ]
    return plan, now_us, span_s * 1_000_000


def build(db_path, fleet_path, *, devices, readings, gateways, seed=18):
    """Write a network server database and its fleet file (both replaced)."""
    from lorafield_gateway.lns.sqlite_store import SCHEMA, SCHEMA_VERSION

    rnd = Random(seed)
    plan, now_us, span_us = _plan(devices, readings, gateways, rnd)
    for path in (db_path, db_path + "-wal", db_path + "-shm", fleet_path):
        if os.path.exists(path):
            os.unlink(path)
    building = db_path + ".building"
    if os.path.exists(building):
        os.unlink(building)
    os.makedirs(os.path.dirname(db_path) or ".", exist_ok=True)
    os.close(os.open(building, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(building, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    db.executescript(SCHEMA)
    indexes = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        )
    ]
    for name in indexes:  # made again after the rows: a sorted build
        db.execute(f"DROP INDEX {name}")
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)", [("schema", str(SCHEMA_VERSION)), ("clock", "emulated")]
    )
    db.executemany(
        "INSERT INTO devices VALUES (?, ?, ?, ?, 'otaa')",
        [(d.eui, d.kind, d.name, JOIN_EUI) for d in plan],
    )
    hours = {}  # (gateway, hour) -> [frames, last time]
    refs = [0]
    downlink_rows = []
    join_nonce = [0]
    talking = [d for d in plan if d.n]
    first = min(d.start_us for d in talking) - HOUR_US
    w0 = first - first % WINDOW_US
    emitted = 0
    insert_frames = (
        "INSERT INTO frames (time_us, dev_eui, dev_addr, fcnt, fport, confirmed, phy_hex,"
        " gateway_id, rssi_dbm, snr_db, frequency_hz, sf, dr, copies)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    insert_readings = (
        "INSERT INTO readings (time_us, dev_eui, device_kind, fcnt, fport, kind, data,"
        " raw_hex, error) VALUES (?,?,?,?,?,?,?,?,?)"
    )
    insert_events = "INSERT INTO events (time_us, kind, dev_eui, reason, detail) VALUES (?,?,?,?,?)"
    db.execute("BEGIN")
    pending = 0
    while emitted < readings and w0 <= now_us:
        w1 = w0 + WINDOW_US
        uplinks = []  # (time, frame, reading, event)
        others = []  # (time, event) of joins and downlinks
        for d in talking:
            if d.k < d.n and d.next_t < w1:
                _emit(d, w1, rnd, uplinks, others, hours, refs, downlink_rows, join_nonce)
        uplinks.sort(key=_first)
        emitted += len(uplinks)
        events = [u[3] for u in uplinks]
        if others:
            others.sort(key=_first)
            events = [(e[0], e) for e in events] + others
            events.sort(key=_first)
            events = [e[1] for e in events]
        db.executemany(insert_frames, [u[1] for u in uplinks])
        db.executemany(insert_readings, [u[2] for u in uplinks])
        db.executemany(insert_events, events)
        pending += len(uplinks)
        if pending > 500_000:
            db.execute("COMMIT")
            db.execute("BEGIN")
            pending = 0
        w0 = w1
    db.executemany(
        "INSERT INTO gateway_hours VALUES (?,?,?,?)",
        [(gw, hour, n, last) for (gw, hour), (n, last) in sorted(hours.items())],
    )
    zeros = "00" * 16
    state = pickle.dumps({})
    db.executemany(
        "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (d.eui, d.addr, d.addr_hex, zeros, zeros, d.fcnt, d.fcnt_down, d.fcnt, d.dr, state)
            for d in talking
        ],
    )
    db.executemany(
        "INSERT INTO join_state VALUES (?,?,?)",
        [(d.eui, d.joined - 1, d.join_nonce) for d in talking],
    )
    for d in rnd.sample(talking, min(3, len(talking))):  # waiting for the device's next uplink
        refs[0] += 1
        downlink_rows.append(_downlink_row(d, refs[0], {"interval_s": 1200}))
    db.executemany(
        "INSERT INTO downlinks (ref, dev_eui, fport, payload_hex, confirmed, status, position,"
        " request, fcnt_down, window, error) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        downlink_rows,
    )
    params = {"devices": devices, "readings": readings, "gateways": gateways, "seed": seed}
    db.execute("COMMIT")
    db.executescript(SCHEMA)  # the indexes
    db.execute("INSERT INTO meta VALUES (?, ?)", (META_KEY, json.dumps(params)))
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    os.replace(building, db_path)
    _write_fleet(fleet_path, plan)
    counts = {kind: sum(d.kind == kind for d in plan) for kind, _ in MIX}
    return {
        **counts,
        "devices": devices,
        "readings": emitted,
        "gateways": gateways,
        "days": span_us / DAY_US,
        "silent": sum(d.silent for d in plan),
        "unjoined": devices - len(talking),
        "now_us": now_us,
    }


def _first(item):
    return item[0]


def _downlink_row(d, ref, config, sent=False, confirmed=False):
    fport, payload = encode_config(config)
    request = json.dumps({"config": config, "confirmed": confirmed}, separators=(",", ":"))
    if sent:
        status = "acked" if confirmed else "sent"
        row = (ref, d.eui, fport, payload.hex(), int(confirmed), status, None, request)
        return (*row, d.fcnt_down, "RX1", None)
    return (ref, d.eui, fport, payload.hex(), 0, "queued", 0, request, None, None, None)


def _emit(d, w1, rnd, uplinks, others, hours, refs, downlink_rows, join_nonce):
    """Append the device's uplinks before w1 (and its joins and downlinks)."""
    random, randbytes = rnd.random, rnd.randbytes
    spacing_us = d.spacing_s * 1_000_000
    jitter_us = int(spacing_us * d.jitter)
    eui, kind, fport = d.eui, d.kind, d.fport
    addr_le = d.addr_le
    sf, dr = d.sf, d.dr
    gateways = d.gateways
    while d.k < d.n and d.next_t < w1:
        k = d.k
        t = d.next_t
        if d.joins and d.joins[0] == k:
            d.joins.pop(0)
            d.fcnt = 0
            d.fcnt_down = 0
            d.first_status = True
            d.join_us = t - rnd.randint(5_000_000, 60_000_000)
            d.since_us = d.join_us
            gw = gateways[0][0]
            detail = (
                f'{{"dev_addr":"{d.addr_hex}","dev_nonce":{d.joined},'
                f'"join_nonce":{join_nonce[0]},"gateway":"{gw}"}}'
            )
            d.join_nonce = join_nonce[0]
            join_nonce[0] += 1
            d.joined += 1
            others.append((d.join_us, (d.join_us, "join", eui, None, detail)))
            sent = d.join_us + 5_000_000
            others.append((sent, (sent, "join_accept_sent", eui, None, '{"window":"RX1"}')))
        fcnt = d.fcnt
        # the reading
        if (k + d.status_phase) % STATUS_EVERY == 0:
            rkind, rport = "status", 20
            mv = min(d.battery_full, d.battery_end + d.drain_per_us * (d.end_us - t))
            mv = int(mv + (random() - 0.5) * 6)
            uptime = (t - d.join_us) // 1_000_000
            if d.first_status:
                data = (
                    f'{{"battery_mv":{mv},"uptime_s":{uptime},"reset_cause":"power_on",'
                    f'"fw":"0.1.0","interval_s":{d.interval_s}}}'
                )
                d.first_status = False
            else:
                data = f'{{"battery_mv":{mv},"uptime_s":{uptime},"interval_s":{d.interval_s}}}'
            size = 12
        elif kind == "parking":
            rkind, rport = kind, fport
            if random() < 0.8:  # a change; else a heartbeat with the same state
                d.occupied = not d.occupied
                d.since_us = t - rnd.randint(2_000_000, 30_000_000)
            mag = rnd.randint(22, 60) if d.occupied else rnd.randint(0, 6)
            since = (t - d.since_us) // 1_000_000
            data = (
                f'{{"occupied":{"true" if d.occupied else "false"},"since_s":{since},'
                f'"mag_uT":{mag}}}'
            )
            size = 5
        elif kind == "water_level":
            rkind, rport = kind, fport
            if d.series:
                levels = [_level(d, t - (3 - j) * 900_000_000, random) for j in range(4)]
                data = f'{{"interval_s":900,"levels_mm":[{",".join(map(str, levels))}]'
                newest = levels[-1]
                size = 11
            else:
                newest = _level(d, t, random)
                data = f'{{"level_mm":{newest}'
                size = 5
            data += ',"alarm":"high"}' if newest > HIGH_MM else "}"
        else:
            rkind, rport = kind, fport
            hour = t / HOUR_US
            c = d.temp_mean + 5 * math.sin(hour * (2 * math.pi / 24) + d.temp_phase)
            c += 4 * math.sin(t / (120 * DAY_US) * 2 * math.pi) + (random() - 0.5)
            if d.bme280:
                humidity = 60 + 25 * math.sin(hour * (2 * math.pi / 24) + d.temp_phase + 3)
                pressure = 1013 + 12 * math.sin(t / (5 * DAY_US) * 2 * math.pi)
                data = (
                    f'{{"temperature_c":{round(c, 2)},"humidity_pct":{round(humidity, 1)},'
                    f'"pressure_hpa":{round(pressure, 1)}}}'
                )
                size = 9
            else:
                data = f'{{"temperature_c":{round(c, 2)}}}'
                size = 3
        if random() < 0.00005:  # a payload the codec refuses
            rkind, data, error = None, "null", "payload does not decode: truncated"
        else:
            error = None
        # the frame: copies heard 200 ms before the de-duplication window closed
        heard = t - 200_000
        freq = CHANNELS_HZ[fcnt % 3]
        copies = []
        best = None
        hour_key = t // HOUR_US
        for j, (gw, rssi0, snr0) in enumerate(gateways):
            if j and random() < 0.25:
                continue
            rssi = round(rssi0 + (random() - 0.5) * 6, 1)
            snr = round(snr0 + (random() - 0.5) * 3, 1)
            copies.append(
                f'{{"gateway_id":"{gw}","tmst_us":{heard & 0xFFFFFFFF},"frequency_hz":{freq},'
                f'"sf":{sf},"bw_hz":125000,"rssi_dbm":{rssi},"snr_db":{snr},'
                f'"time_us":{heard},"coding_rate":5}}'
            )
            if best is None or rssi > best[1]:
                best = (gw, rssi, snr)
            entry = hours.get((gw, hour_key))
            if entry is None:
                hours[(gw, hour_key)] = [1, t]
            else:
                entry[0] += 1
                if t > entry[1]:  # devices are generated one after the other in a window
                    entry[1] = t
        raw = randbytes(size).hex()
        phy = f"40{addr_le}00{fcnt & 0xFF:02x}{fcnt >> 8 & 0xFF:02x}{rport:02x}"
        phy += randbytes(size + 4).hex()
        frame = (
            t,
            eui,
            d.addr_hex,
            fcnt,
            rport,
            0,
            phy,
            *best,
            freq,
            sf,
            dr,
            f"[{','.join(copies)}]",
        )
        reading = (t, eui, kind, fcnt, rport, rkind, data, raw, error)
        detail = f'{{"fcnt":{fcnt},"fport":{rport},"gateways":{len(copies)},"gateway":"{best[0]}"}}'
        uplinks.append((t, frame, reading, (t, "uplink", eui, None, detail)))
        config = d.downlinks.get(k)
        if config is not None:  # a config command in RX1 after this uplink, acknowledged
            refs[0] += 1
            sent = t + 1_000_000
            detail = f'{{"window":"RX1","fcnt_down":{d.fcnt_down},"ref":{refs[0]}}}'
            others.append((sent, (sent, "downlink_sent", eui, None, detail)))
            acked = sent + 2_000_000
            detail = f'{{"fcnt_down":{d.fcnt_down},"ref":{refs[0]}}}'
            others.append((acked, (acked, "downlink_acked", eui, None, detail)))
            row = _downlink_row(d, refs[0], config, sent=True, confirmed=True)
            downlink_rows.append(row)
            d.fcnt_down += 1
        d.fcnt += 1
        d.k += 1
        d.next_t = d.start_us + d.k * spacing_us + rnd.randint(-jitter_us, jitter_us)


def _level(d, t, random):
    level = d.level_base + d.level_amp * math.sin(
        t / d.level_period_us * 2 * math.pi + d.level_phase
    )
    for start, end, rise in d.floods:
        if start <= t < end:
            level += rise * math.sin((t - start) / (end - start) * math.pi)
    return int(level + (random() - 0.5) * 8)


def _write_fleet(path, plan):
    from lorafield_gateway.fleet import FleetDevice, append_devices

    rnd = Random(len(plan))
    devices = []
    rows = {"parking": 0, "water_level": 0, "temperature": 0}
    for d in plan:
        n = rows[d.kind]
        rows[d.kind] += 1
        if d.kind == "parking":  # streets of 40 bays, 10 m apart
            location = {"lat": round(52.0 + (n // 40) * 0.0009, 6), "lon": 5.0 + (n % 40) * 9e-5}
            board, settings = "esp32_bare", {"sampling": "ulp"}
        elif d.kind == "water_level":  # along a river
            x = n * 0.0004
            location = {"lat": 52.007 + 0.003 * math.sin(x * 40), "lon": 4.98 + x}
            board = "pico_rfm95w"
            settings = {
                "tpl5110": {"done": 14, "period_s": 900},
                "thresholds": {"high_mm": HIGH_MM},
                "mount_height_mm": 3000,
            }
        else:
            location = {"lat": 51.98 + rnd.random() * 0.04, "lon": 4.97 + rnd.random() * 0.06}
            board, settings = "pico_rfm95w", {"tpl5110": {"done": 14, "period_s": 900}}
            if rnd.random() < 0.1:
                board, settings = "heltec_lora32_v2", {}
        location = {k: round(v, 6) for k, v in location.items()}
        devices.append(
            FleetDevice(
                bytes.fromhex(d.eui),
                d.kind,
                d.name,
                bytes.fromhex(JOIN_EUI),
                TEST_APP_KEY,
                location=location,
                board=board,
                settings=settings,
            )
        )
    append_devices(
        path,
        devices,
        defaults={"join_eui": JOIN_EUI},
        note="BENCH TEST KEYS: generated devices of `lorafield bench console`, all with the "
        "published FIPS-197 example key. Never use them for real devices.",
    )


# -- the measurement --------------------------------------------------------------------------
ROUTES = (  # (name, path: {eui} a device, {since} a week before now in Unix seconds)
    ("overview", "/"),
    ("map", "/map"),
    ("device_page", "/devices/{eui}"),
    ("api_devices", "/api/devices"),
    ("api_readings_week", "/api/devices/{eui}/readings?since={since}"),
    ("api_events", "/api/events"),
    ("devices_page", "/devices"),  # the other pages: no goal of their own
    ("events_page", "/events"),
)
GOALS = (  # (label, route, ms)
    ("overview p95", "overview", PAGE_GOAL_MS),
    ("device page p95", "device_page", PAGE_GOAL_MS),
    ("API readings of a device-week p95", "api_readings_week", READINGS_GOAL_MS),
)
OTHER_PAGES = ("map", "devices_page", "events_page")


def _measure(db_path, fleet_path, work, requests, warmup):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        now_us = db.execute("SELECT max(last_us) FROM gateway_hours").fetchone()[0]
        rows = db.execute("SELECT dev_eui, kind FROM devices ORDER BY dev_eui").fetchall()
    finally:
        db.close()
    since = f"{(now_us - 7 * DAY_US) / 1e6:.0f}"
    by_kind = {}
    for eui, kind in rows:
        by_kind.setdefault(kind, []).append(eui)
    kinds = sorted(by_kind)
    total = warmup + requests
    euis = []  # device routes: every kind in turn, spread over each kind's devices
    for i in range(total):
        pool = by_kind[kinds[i % len(kinds)]]
        euis.append(pool[(i // len(kinds)) * 7919 % len(pool)])
    command = [
        sys.executable,
        "-m",
        "lorafield_tools.cli",
        "console",
        "--db",
        db_path,
        "--fleet",
        fleet_path,
        "--port",
        "0",
        "--token-file",
        os.path.join(work, "console.token"),
    ]
    log_path = os.path.join(work, "console.log")
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        base = _console_url(proc, log_path)
        print(f"console: {base} (pid {proc.pid}, started in {time.perf_counter() - started:.2f} s)")
        print(f"console_rss_start_mib: {_rss_mib(proc.pid, 'VmRSS')}")
        print(f"requests_per_route: {requests} (after {warmup} warm-ups, one at a time)")
        results = {}
        week_counts = []
        for name, pattern in ROUTES:
            times, sizes = [], []
            for i in range(total):
                path = pattern.format(eui=euis[i], since=since)
                t0 = time.perf_counter()
                body = _get(base + path.lstrip("/"), proc, log_path)
                elapsed = (time.perf_counter() - t0) * 1000
                if i < warmup:
                    continue
                times.append(elapsed)
                sizes.append(len(body))
                if name == "api_readings_week":
                    week_counts.append(len(json.loads(body)["readings"]))
            results[name] = times
            p50, p95 = _percentile(times, 50), _percentile(times, 95)
            print(
                f"{name}_ms: p50 {p50:.1f}, p95 {p95:.1f}, max {max(times):.1f} "
                f"(GET {pattern.split('?')[0]}, {statistics.median(sizes) / 1024:.1f} KiB)"
            )
        print(f"readings_per_device_week: {statistics.median(week_counts):.0f} (median)")
        peak = _rss_mib(proc.pid, "VmHWM")
        print(f"console_peak_rss_mib: {peak}")
        print(f"console_rss_mib: {_rss_mib(proc.pid, 'VmRSS')}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    for label, name, goal in GOALS:
        p95 = _percentile(results[name], 95)
        print(f"{label} <= {goal} ms: {'yes' if p95 <= goal else 'NO'} ({p95:.1f} ms)")
    slowest = max(OTHER_PAGES, key=lambda name: _percentile(results[name], 95))
    p95 = _percentile(results[slowest], 95)
    verdict = "yes" if p95 <= PAGE_GOAL_MS else "NO"
    print(
        f"other pages ({', '.join(OTHER_PAGES)}) p95 <= {PAGE_GOAL_MS} ms: {verdict} "
        f"(slowest {slowest} {p95:.1f} ms)"
    )
    if peak == "n/a":
        print(f"console peak RSS <= {RSS_GOAL_MIB} MiB: n/a (no /proc)")
    else:
        verdict = "yes" if peak <= RSS_GOAL_MIB else "NO"
        print(f"console peak RSS <= {RSS_GOAL_MIB} MiB: {verdict} ({peak} MiB)")


def _percentile(values, p):
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _console_url(proc, log_path, timeout=120):
    """The URL from the console's first line (`console: http://127.0.0.1:PORT/ ...`)."""
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        line = ""
    match = re.match(r"console: (http://\S+/)", line)
    if match is None:
        proc.kill()
        proc.wait()
        raise CommandError(f"the console did not start: {line.strip()} {_tail(log_path)}")
    return match.group(1)


def _get(url, proc, log_path):
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise CommandError(
            f"GET {url}: {exc.code} {exc.read()[:200]!r} {_tail(log_path)}"
        ) from None
    except OSError as exc:
        state = "" if proc.poll() is None else f" (console exited {proc.returncode})"
        raise CommandError(f"GET {url}: {exc}{state} {_tail(log_path)}") from None


def _tail(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return " | ".join(handle.read().strip().splitlines()[-3:])
    except OSError:
        return ""


def _rss_mib(pid, field):
    """VmRSS / VmHWM (peak) of a process in MiB, from /proc (Linux), or 'n/a'."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return "n/a"
