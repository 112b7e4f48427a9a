"""`lorafield bench sensorthings`: Observations delivered per second to a SensorThings server
from a backlog of the network server's readings, batched (Data Array) and unbatched.

Issue 19's goal: from a backlog of 100,000 readings, >= 1,000 Observations/s batched on the
2-core machine, next to the server's own ingest limit measured the same way.

The backlog is generated, not emulated (`bench console`'s generator: the network server's
schema filled as the server fills it): N readings of D devices, 50 % parking bays, 20 % water
gauges (a level, or a series of four), 30 % temperature sensors (a quarter with humidity and
pressure), every twelfth uplink a status (battery), and their fleet file (positions, boards).
The server is `--url`, or the tests' server (django-ogc-sensorthings on SQLite, waitress,
its own process: lorafield_tools.sta_test_server), started on a temporary database that
`lorafield sensorthings sync` (sync.plan/apply) filled with the fleet; every run gets a fresh
copy of that database.

Runs, each timed on the wall clock from the first reading read to the last answer:

- batched: what `lorafield sensorthings push` does (lns_source.new_observations -> Outbox.add
  -> Outbox.deliver with the Data Array extension, `--batch` rows a pass); split into
  read+map (new_observations), queue (Outbox.add), outbox (deliver's own work: SQLite, JSON)
  and http (the client's requests: encode, send, the server's work, the answer);
- unbatched: the same with one POST per Observation (`--no-data-array`), on the first
  `--unbatched-limit` readings (a POST each takes long at full size; 0: all);
- server_batched / server_unbatched: the server's own ingest limit measured the same way: the
  same Observations in the same requests as the run before (the push run records what each
  of its POSTs carried), built in memory beforehand and sent by the same client in a loop (no
  outbox, no mapping): our overhead is the difference;
- server_batched_per_pass: the same Observations from memory, one CreateObservations request
  per pass of `--batch` rows carrying all its Datastreams' groups (what the Data Array allows
  in one request): the server's limit with the fewest requests the outbox's passes allow.

Each run's count is checked on the server (Observations before and after); rows the server
refuses are counted (`*_rejected`: per quantity, with a reason). With `--url` the runs share
the server's database (nothing is cleaned up there).
"""

import logging
import os
import shutil
import sqlite3
import tempfile
import time

from ..cli import CommandError, UsageError

HELP = "SensorThings push: Observations per second to a SensorThings server, batched and not"

GOAL_PER_S = 1000
READ_CHUNK = 5000  # readings a new_observations call takes (push's default)


def add_arguments(parser):
    parser.add_argument(
        "--readings", type=int, default=100_000, help="readings in the backlog (default 100,000)"
    )
    parser.add_argument("--devices", type=int, default=100, help="devices (default 100)")
    parser.add_argument(
        "--batch", type=int, default=500, help="rows an outbox pass takes (default 500)"
    )
    parser.add_argument(
        "--unbatched-limit",
        type=int,
        default=10_000,
        metavar="N",
        help="readings the unbatched runs take (default 10,000; 0: all)",
    )
    parser.add_argument(
        "--url", help="an existing server's service root (default: start the tests' server)"
    )
    parser.add_argument("--auth", metavar="FILE", help="with --url: user:password or Bearer")
    parser.add_argument("--seed", type=int, default=19, help="generator seed")


def _check(args):
    if not 3 <= args.devices <= 10_000:
        raise UsageError("--devices must be 3..10000")
    if not args.devices <= args.readings <= 10_000_000:
        raise UsageError("--readings must be --devices..10000000")
    if not 1 <= args.batch <= 10_000:
        raise UsageError("--batch must be 1..10000")
    if args.unbatched_limit < 0:
        raise UsageError("--unbatched-limit must be >= 0")
    if args.auth and not args.url:
        raise UsageError("--auth goes with --url")


def _timed_client(url, authorization=None):
    from lorafield_gateway.sensorthings.client import StaClient

    class TimedClient(StaClient):
        """A StaClient that adds up the time spent in its requests."""

        http_s = 0.0
        requests = 0
        posts = 0  # the requests that carry Observations
        record = None  # a list: what each POST carried, by lorafield_key (_sent)

        def _request(self, method, url, body=None):
            start = time.perf_counter()
            try:
                return super()._request(method, url, body)
            finally:
                self.http_s += time.perf_counter() - start
                self.requests += 1
                if method == "POST":
                    self.posts += 1
                    if self.record is not None:
                        self.record.append(_sent(url, body))

    return TimedClient(url, authorization, timeout=120)


def run(args):
    _check(args)
    from lorafield_gateway.sensorthings.client import StaError, load_auth

    authorization = None
    if args.url:
        try:
            authorization = load_auth(args.auth) if args.auth else None
            _timed_client(args.url, authorization)
        except StaError as exc:
            raise UsageError(str(exc)) from None
    else:
        from ..sta_test_server import INSTALL_HINT, missing

        absent = missing()
        if absent:
            raise UsageError(f"the test server needs {absent} ({INSTALL_HINT}); or give --url URL")
    work = tempfile.mkdtemp(prefix="lorafield-bench-sta-")
    # The outbox logs each refused row: counted in the figures instead.
    log = logging.getLogger("lorafield.sensorthings")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return _bench(args, work, authorization)
    except StaError as exc:
        raise CommandError(f"SensorThings server: {exc}") from None
    except RuntimeError as exc:  # the test server did not start
        raise CommandError(str(exc)) from None
    finally:
        log.setLevel(level)
        shutil.rmtree(work, ignore_errors=True)


class _Servers:
    """A server for each run: --url, or a fresh copy of the synced template database."""

    def __init__(self, args, work, authorization):
        self.url, self.work, self.authorization = args.url, work, authorization
        self.template = os.path.join(work, "sta-template.sqlite3")
        self.current = None

    def sync(self, devices):
        from lorafield_gateway.sensorthings import sync

        server = None
        if not self.url:
            from ..sta_test_server import StaServer

            server = StaServer(self.template, os.path.join(self.work, "sta.log")).start()
        try:
            client = _timed_client(server.url if server else self.url, self.authorization)
            start = time.perf_counter()
            actions, remote = sync.plan(client, devices)
            sync.apply(client, actions, remote)
            return len(actions), time.perf_counter() - start
        finally:
            if server:
                server.stop()

    def open(self, name):
        """A client on a server for run `name`."""
        if self.url:
            return _timed_client(self.url, self.authorization)
        from ..sta_test_server import StaServer

        db = os.path.join(self.work, f"sta-{name}.sqlite3")
        shutil.copyfile(self.template, db)
        self.current = StaServer(db, os.path.join(self.work, "sta.log")).start()
        return _timed_client(self.current.url)

    def close(self):
        if self.current:
            self.current.stop()
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.current.db + suffix):
                    os.unlink(self.current.db + suffix)
            self.current = None


def _bench(args, work, authorization):
    from lorafield_gateway.fleet import load_fleet

    from . import console

    if args.url:
        print(f"server: {args.url} (--url: the runs share its database)")
    else:
        from ..sta_test_server import version

        print(
            f"server: django-ogc-sensorthings {version()} on SQLite, waitress 4 threads, its own"
            " process (a fresh copy of the synced database per run)"
        )
    db_path = os.path.join(work, "lns.sqlite3")
    fleet_path = os.path.join(work, "fleet.toml")
    start = time.perf_counter()
    info = console.build(
        db_path,
        fleet_path,
        devices=args.devices,
        readings=args.readings,
        gateways=min(10, args.devices),
        seed=args.seed,
    )
    print(
        f"backlog: {info['readings']} readings of {info['devices']} devices ({info['parking']}"
        f" parking, {info['water_level']} water_level, {info['temperature']} temperature),"
        f" built in {time.perf_counter() - start:.1f} s"
    )
    devices = load_fleet(fleet_path).devices
    servers = _Servers(args, work, authorization)
    changes, sync_s = servers.sync(devices)
    print(f"sync: {len(devices)} devices, {changes} changes in {sync_s:.1f} s")

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        usable = db.execute("SELECT count(*) FROM readings WHERE error IS NULL").fetchone()[0]
        subset = min(usable, args.unbatched_limit or usable)
        everything = _observations(db, usable)
        print(f"observations: {len(everything)} (from {usable} readings that decoded)")
        results = {}
        for name, data_array, readings in (
            ("batched", True, usable),
            ("unbatched", False, subset),
        ):
            results[name] = _push_run(servers, name, db, readings, data_array, args.batch)
            _print_push(name, results[name], readings, usable)
            expected = everything if readings == usable else _observations(db, readings)
            record = results[name].pop("record")
            own = _server_run(servers, "server_" + name, expected, record)
            _print_server(name, own, results[name])
            if data_array:
                own = _server_run(servers, "per_pass", expected, _per_pass(expected, args.batch))
                _print_per_pass(own, args.batch)
    finally:
        db.close()
    rate = results["batched"]["per_s"]
    verdict = "yes" if rate >= GOAL_PER_S else "NO"
    print(f"batched >= {GOAL_PER_S:,} observations/s: {verdict} ({rate:,.0f})")
    return 0


def _observations(db, readings):
    """The backlog's first `readings` readings as push queues them: [(dev_eui, quantity,
    body)] in outbox order (a key already queued is dropped, as the outbox does)."""
    from lorafield_gateway.sensorthings.lns_source import new_observations

    out, seen, after, taken = [], set(), 0, 0
    while taken < readings:
        limit = min(READ_CHUNK, readings - taken)
        items, last = new_observations(db, after, limit)
        if last == after:
            break
        for item in items:
            key = item[2]["parameters"]["lorafield_key"]
            if key not in seen:
                seen.add(key)
                out.append(item)
        after, taken = last, taken + limit
    return out


def _count(client):
    answer = client.get("Observations", {"$count": "true", "$top": "0"})
    return answer.get("@iot.count") if isinstance(answer, dict) else None


def _push_run(servers, name, db, readings, data_array, batch):
    """`lorafield sensorthings push` on the backlog's first `readings` readings, timed."""
    from lorafield_gateway.sensorthings.lns_source import new_observations
    from lorafield_gateway.sensorthings.outbox import Outbox
    from lorafield_gateway.sensorthings.sync import datastream_ids

    client = servers.open(name)
    try:
        before = _count(client)
        outbox_path = os.path.join(servers.work, f"outbox-{name}.sqlite3")
        outbox = Outbox(outbox_path)
        client.http_s, client.requests, client.posts = 0.0, 0, 0
        client.record = []
        read_s = queue_s = 0.0
        queued, after, taken = 0, 0, 0
        start = time.perf_counter()
        while taken < readings:
            limit = min(READ_CHUNK, readings - taken)
            t0 = time.perf_counter()
            items, last = new_observations(db, after, limit)
            t1 = time.perf_counter()
            read_s += t1 - t0
            if last == after:
                break
            queued += outbox.add(items, "lns:bench", last)
            queue_s += time.perf_counter() - t1
            after, taken = last, taken + limit
        t2 = time.perf_counter()
        stats = outbox.deliver(client, datastream_ids(client), data_array=data_array, batch=batch)
        end = time.perf_counter()
        waiting = outbox.waiting()
        refusals = outbox.db.execute(
            "SELECT quantity, count(*), max(reason) FROM rejected GROUP BY quantity"
            " ORDER BY count(*) DESC"
        ).fetchall()
        outbox.close()
        deliver_s = end - t2
        http_s, requests = client.http_s, client.posts
        after_count = _count(client)
    finally:
        servers.close()
    wall = end - start
    return {
        "queued": queued,
        "delivered": stats["delivered"],
        "rejected": stats["rejected"],
        "no_datastream": stats["no_datastream"],
        "waiting": waiting,
        "refusals": refusals,
        "wall_s": wall,
        "per_s": stats["delivered"] / wall if wall else 0.0,
        "read_s": read_s,
        "queue_s": queue_s,
        "outbox_s": deliver_s - http_s,
        "http_s": http_s,
        "requests": requests,
        "record": client.record,
        "on_server": None if before is None or after_count is None else after_count - before,
    }


def _sent(url, body):
    """What a POST carried: (True, [(dev_eui, quantity), [keys]]) for a CreateObservations
    request, (False, key) for one Observation; keys are `lorafield_key`s
    (DevEUI/quantity/phenomenonTime µs)."""
    if url.endswith("/CreateObservations"):
        groups = []
        for group in body:
            at = list(group["components"]).index("parameters")
            keys = [row[at]["lorafield_key"] for row in group["dataArray"]]
            groups.append((_stream(keys[0]), keys))
        return True, groups
    return False, body["parameters"]["lorafield_key"]


def _stream(key):
    eui, quantity, _ = key.split("/")
    return eui, quantity


def _per_pass(items, batch):
    """One CreateObservations request per pass of `batch` rows in outbox order, every
    Datastream of the pass a group in it (in the order they first appear)."""
    out = []
    for i in range(0, len(items), batch):
        groups = {}
        for eui, quantity, body in items[i : i + batch]:
            groups.setdefault((eui, quantity), []).append(body["parameters"]["lorafield_key"])
        out.append((True, list(groups.items())))
    return out


def _server_run(servers, name, items, record):
    """The requests in `record` (what a push run sent, or _per_pass's), with the same
    Observations, built in memory beforehand and sent in a loop: no outbox, no mapping."""
    from lorafield_gateway.sensorthings.client import StaRejected
    from lorafield_gateway.sensorthings.outbox import COMPONENTS
    from lorafield_gateway.sensorthings.sync import datastream_ids

    bodies = {body["parameters"]["lorafield_key"]: body for _, _, body in items}
    client = servers.open(name)
    try:
        before = _count(client)
        ids = datastream_ids(client)
        plan = []
        for array, what in record:
            if array:
                groups = [
                    (ids[stream], COMPONENTS, [[bodies[k][c] for c in COMPONENTS] for k in keys])
                    for stream, keys in what
                ]
                plan.append((True, groups))
            else:
                body = dict(bodies[what], Datastream={"@iot.id": ids[_stream(what)]})
                plan.append((False, body))
        client.http_s, client.requests, client.posts = 0.0, 0, 0
        sent = refused = 0
        start = time.perf_counter()
        for array, payload in plan:
            try:
                if not array:
                    client.create("Observations", payload)
                    sent += 1
                    continue
                answer = client.create_observations(payload)
            except StaRejected:  # the outbox sent its rows again after this: in the record
                refused += 0 if array else 1
                continue
            ok = sum(str(a).startswith("http") for a in answer)
            sent += ok
            refused += len(answer) - ok
        wall = time.perf_counter() - start
        after_count = _count(client)
    finally:
        servers.close()
    return {
        "delivered": sent,
        "refused": refused,
        "requests": client.posts,
        "wall_s": wall,
        "per_s": sent / wall if wall else 0.0,
        "http_s": client.http_s,
        "on_server": None if before is None or after_count is None else after_count - before,
    }


def _print_push(name, r, readings, usable):
    scope = (
        f"the first {readings} of {usable} readings (--unbatched-limit)"
        if readings < usable
        else f"all {usable} readings"
    )
    mean = r["delivered"] / r["requests"] if r["requests"] else 0
    print(
        f"{name}: {r['delivered']} observations delivered in {r['wall_s']:.1f} s,"
        f" {r['per_s']:.0f}/s ({scope}; {r['requests']} requests, {mean:.1f} observations"
        " each)"
    )
    print(
        f"{name}_split_s: read+map {r['read_s']:.1f}, queue {r['queue_s']:.1f},"
        f" outbox {r['outbox_s']:.1f}, http {r['http_s']:.1f}"
    )
    print(
        f"{name}_counts: queued {r['queued']}, delivered {r['delivered']},"
        f" rejected {r['rejected']}, waiting for sync {r['no_datastream']},"
        f" in the outbox {r['waiting']}, new on the server {_n(r['on_server'])}"
    )
    for quantity, n, reason in r["refusals"]:
        print(f"{name}_rejected: {n} {quantity} (e.g. {reason})")


def _print_server(name, own, ours):
    print(
        f"server_{name}: {own['delivered']} observations in {own['wall_s']:.1f} s,"
        f" {own['per_s']:.0f}/s (the same {own['requests']} requests from memory;"
        f" refused {own['refused']}, new on the server {_n(own['on_server'])})"
    )
    share = 1 - ours["http_s"] / ours["wall_s"] if ours["wall_s"] else 0.0
    print(
        f"{name}_overhead: {ours['wall_s'] - own['wall_s']:+.1f} s against the server alone"
        f" ({share:.0%} of the push's wall time outside HTTP)"
    )


def _print_per_pass(own, batch):
    print(
        f"server_batched_per_pass: {own['delivered']} observations in {own['wall_s']:.1f} s,"
        f" {own['per_s']:.0f}/s (one CreateObservations request per pass of {batch} rows, all"
        f" its Datastreams: {own['requests']} requests; refused {own['refused']}, new on the"
        f" server {_n(own['on_server'])})"
    )


def _n(value):
    return "?" if value is None else str(value)
