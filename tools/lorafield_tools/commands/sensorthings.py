"""`lorafield sensorthings`: the field's devices and readings on an OGC SensorThings server.

    lorafield sensorthings sync --url URL --fleet FLEET [--auth FILE] [--dry-run]
    lorafield sensorthings push --url URL --db LNS.sqlite3 [--since TIME] [--outbox FILE]

`sync` creates or updates the Things, Locations, Sensors, ObservedProperties and
Datastreams of the fleet (a second run changes nothing; `--dry-run` prints the plan).
`push` takes the readings the local network server stored since the last push (or since
`--since`, ISO 8601 or Unix seconds) into a durable outbox (default beside the database)
and delivers them: at least once, in order per Datastream, never twice
(lorafield_gateway.sensorthings.outbox). `--auth FILE`: a file (0600) with `user:password`
or `Bearer TOKEN`.
"""

import os
import sqlite3

from lorafield_tools.cli import CommandError, UsageError

from .common import load_fleet_file

HELP = "OGC SensorThings: sync the fleet's Things and Datastreams, push readings (FROST, ...)"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    sync = sub.add_parser("sync", help="create or update the fleet's entities on the server")
    sync.add_argument("--fleet", required=True, metavar="FLEET", help="fleet file (TOML)")
    sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    push = sub.add_parser("push", help="deliver the network server's readings as Observations")
    push.add_argument("--db", required=True, metavar="PATH", help="the network server's SQLite")
    push.add_argument(
        "--since", metavar="TIME", help="from this time (default: after the last push)"
    )
    push.add_argument("--outbox", metavar="FILE", help="queue file (default: beside the db)")
    push.add_argument(
        "--no-data-array", action="store_true", help="one POST per Observation (no dataArray)"
    )
    for p in (sync, push):
        p.add_argument(
            "--url", required=True, help="service root, e.g. https://host/FROST-Server/v1.1"
        )
        p.add_argument("--auth", metavar="FILE", help="file with user:password or 'Bearer TOKEN'")


def _client(args):
    from lorafield_gateway.sensorthings.client import StaClient, StaError, load_auth

    try:
        return StaClient(args.url, load_auth(args.auth) if args.auth else None)
    except StaError as exc:
        raise UsageError(str(exc)) from None


def run(args):
    from lorafield_gateway.sensorthings.client import StaError, StaUnavailable

    client = _client(args)
    try:
        if args.action == "sync":
            return _sync(args, client)
        return _push(args, client)
    except StaUnavailable as exc:
        raise CommandError(f"server unavailable: {exc}") from None
    except StaError as exc:
        raise CommandError(str(exc)) from None


def _sync(args, client):
    from lorafield_gateway.sensorthings import sync

    devices = load_fleet_file(args.fleet).devices
    actions, remote = sync.plan(client, devices)
    for action in actions:
        print(("would " if args.dry_run else "") + action.line())
    if not args.dry_run:
        sync.apply(client, actions, remote)
    verb = "planned" if args.dry_run else "done"
    print(
        f"{len(devices)} devices: {len(actions)} change(s) {verb}"
        if actions
        else f"{len(devices)} devices: nothing to change"
    )
    return 0


def _push(args, client):
    from lorafield_gateway.console.errors import ConsoleError
    from lorafield_gateway.console.readmodel import parse_time
    from lorafield_gateway.lns.sqlite_store import StoreError, connect
    from lorafield_gateway.sensorthings.lns_source import first_id_at, new_observations
    from lorafield_gateway.sensorthings.outbox import Outbox
    from lorafield_gateway.sensorthings.sync import datastream_ids

    try:
        db = connect(args.db, readonly=True)
        db.execute("SELECT 1 FROM readings LIMIT 1")
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise UsageError(f"{args.db}: not a lorafield network server database ({exc})") from None
    outbox = Outbox(
        args.outbox
        or os.path.join(os.path.dirname(os.path.abspath(args.db)), "sensorthings-outbox.sqlite3")
    )
    source = "lns:" + os.path.abspath(args.db)
    after = outbox.cursor(source) or 0
    if args.since:
        try:
            since_us = parse_time(args.since, "--since")
        except ConsoleError as exc:
            raise UsageError(str(exc)) from None
        after = first_id_at(db, since_us)
        if after is None:
            print("no readings since then")
            return 0
    queued = 0
    while True:
        items, last = new_observations(db, after)
        if last == after:
            break
        queued += outbox.add(items, source, last)
        after = last
    db.close()
    stats = outbox.deliver(client, datastream_ids(client), data_array=not args.no_data_array)
    print(
        f"queued {queued}, delivered {stats['delivered']}, already on the server "
        f"{stats['already']}, rejected {stats['rejected']}, waiting for sync "
        f"{stats['no_datastream']}, in the outbox {outbox.waiting()}"
    )
    outbox.close()
    return 0
