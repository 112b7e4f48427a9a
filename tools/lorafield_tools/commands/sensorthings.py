"""`lorafield sensorthings`: the field's devices and readings on an OGC SensorThings server.

    lorafield sensorthings sync --url URL --fleet FLEET [--auth FILE] [--dry-run]
    lorafield sensorthings push --url URL --db LNS.sqlite3 [--since TIME] [--outbox FILE]
    lorafield sensorthings bridge --from SOURCE [--from SOURCE ...] --to URL [--auth FILE]
        [--mqtt-password-file FILE] [--outbox FILE] [--no-data-array]

`sync` creates or updates the Things, Locations, Sensors, ObservedProperties and
Datastreams of the fleet (a second run changes nothing; `--dry-run` prints the plan).
`push` takes the readings the local network server stored since the last push (or since
`--since`, ISO 8601 or Unix seconds) into a durable outbox (default beside the database)
and delivers them: at least once, in order per Datastream, never twice
(lorafield_gateway.sensorthings.outbox). `--auth FILE`: a file (0600) with `user:password`
or `Bearer TOKEN`.
`bridge` runs until SIGTERM or Ctrl-C (the lorafield-sensorthings-bridge systemd unit): the
uplinks of ChirpStack's or The Things Stack's MQTT integration (`chirpstack-mqtt[s]://[user@]
host[:port]/APPLICATION_ID`, `ttn-mqtt[s]://[user@]host[:port]/APP@TENANT`) through an outbox
(default $STATE_DIRECTORY/sensorthings-bridge.sqlite3, else ./sensorthings-bridge.sqlite3) to
the server, one stats line a minute (lorafield_gateway.sensorthings.bridge). The MQTT password
is read from `--mqtt-password-file` (0600; one for every --from, or one per --from in order);
a bare file name there or in --auth is a systemd credential when $CREDENTIALS_DIRECTORY has it.
"""

import os
import sqlite3
import sys

from lorafield_tools.cli import CommandError, UsageError

from .common import load_fleet_file

HELP = (
    "OGC SensorThings: sync the fleet's Things and Datastreams, push readings, bridge"
    " ChirpStack/TTN MQTT uplinks (FROST, ...)"
)
BRIDGE_OUTBOX = "sensorthings-bridge.sqlite3"


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
    bridge = sub.add_parser(
        "bridge", help="run: ChirpStack / The Things Stack MQTT uplinks as Observations"
    )
    bridge.add_argument(
        "--from",
        dest="sources",
        action="append",
        required=True,
        metavar="SOURCE",
        help="chirpstack-mqtt[s]://[user@]host[:port]/APPLICATION_ID or"
        " ttn-mqtt[s]://[user@]host[:port]/APP@TENANT (repeatable)",
    )
    bridge.add_argument(
        "--to",
        dest="url",
        required=True,
        metavar="URL",
        help="service root, e.g. https://host/FROST-Server/v1.1",
    )
    bridge.add_argument("--auth", metavar="FILE", help="file with user:password or 'Bearer TOKEN'")
    bridge.add_argument(
        "--mqtt-password-file",
        dest="password_files",
        action="append",
        metavar="FILE",
        help="file (0600) with the broker password or API key (one, or one per --from)",
    )
    bridge.add_argument(
        "--outbox", metavar="FILE", help=f"queue file (default: $STATE_DIRECTORY/{BRIDGE_OUTBOX})"
    )
    bridge.add_argument(
        "--no-data-array", action="store_true", help="one POST per Observation (no dataArray)"
    )
    bridge.add_argument(
        "--client-id", metavar="ID", help="MQTT client id (default: derived from the sources)"
    )
    bridge.add_argument(
        "--stats-every", type=float, default=60.0, metavar="S", help="stats line period (60 s)"
    )


def _client(args):
    from lorafield_gateway.sensorthings.client import StaClient, StaError, load_auth

    try:
        return StaClient(args.url, load_auth(args.auth) if args.auth else None)
    except StaError as exc:
        raise UsageError(str(exc)) from None


def run(args):
    from lorafield_gateway.sensorthings.client import StaError, StaUnavailable

    if args.action == "bridge":
        return _bridge(args)
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
    for device in devices:
        if not device.location:
            print(
                f"warning: {device.name or device.dev_eui_hex}: no location in the fleet; a"
                " server derives an Observation's FeatureOfInterest from its Thing's Location,"
                " so add one (location = {lat = ..., lon = ...})",
                file=sys.stderr,
            )
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
    from lorafield_gateway.lns.sqlite_store import StoreError, connect
    from lorafield_gateway.sensorthings.outbox import Outbox, OutboxBusy, deliverer_lock

    try:
        db = connect(args.db, readonly=True)
        db.execute("SELECT 1 FROM readings LIMIT 1")
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise UsageError(f"{args.db}: not a lorafield network server database ({exc})") from None
    outbox_path = args.outbox or os.path.join(
        os.path.dirname(os.path.abspath(args.db)), "sensorthings-outbox.sqlite3"
    )
    try:  # the gateway's forwarder may deliver from the same outbox: one at a time
        lock = deliverer_lock(outbox_path)
    except OutboxBusy as exc:
        raise UsageError(f"{exc}: stop the gateway's [sensorthings] or give --outbox") from None
    outbox = Outbox(outbox_path)
    try:
        return _push_into(args, client, db, outbox)
    finally:
        outbox.close()
        lock.close()


def _push_into(args, client, db, outbox):
    from lorafield_gateway.console.errors import ConsoleError
    from lorafield_gateway.console.readmodel import parse_time
    from lorafield_gateway.sensorthings.lns_source import first_id_at, new_observations
    from lorafield_gateway.sensorthings.sync import datastream_ids

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
        # a backlog asked for again may be on the server already: looked up before sending
        queued += outbox.add(items, source, last, maybe_sent=bool(args.since))
        after = last
    db.close()
    stats = outbox.deliver(client, datastream_ids(client), data_array=not args.no_data_array)
    print(
        f"queued {queued}, delivered {stats['delivered']}, already on the server "
        f"{stats['already']}, rejected {stats['rejected']}, waiting for sync "
        f"{stats['no_datastream']}, in the outbox {outbox.waiting()}"
    )
    return 0


def _bridge(args):
    import logging
    import signal
    import threading

    signals = (signal.SIGTERM, signal.SIGINT)

    from lorafield_gateway.sdnotify import Notifier
    from lorafield_gateway.sensorthings.bridge import (
        Bridge,
        BridgeError,
        parse_source,
        read_password,
        secret_path,
    )
    from lorafield_gateway.sensorthings.client import StaClient, StaError, load_auth

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        sources = [parse_source(url) for url in args.sources]
        files = args.password_files or []
        if len(files) not in (0, 1, len(sources)):
            raise BridgeError(
                f"{len(files)} --mqtt-password-file for {len(sources)} --from: give one for"
                " all, or one per --from in order"
            )
        if len(files) == 1:
            files = files * len(sources)
        passwords = [read_password(f) for f in files] or None
        auth = load_auth(secret_path(args.auth)) if args.auth else None
        client = StaClient(args.url, auth)
    except (BridgeError, StaError) as exc:
        raise UsageError(str(exc)) from None
    if args.stats_every <= 0:
        raise UsageError("--stats-every must be more than 0")
    outbox = args.outbox
    if not outbox:
        state = (os.environ.get("STATE_DIRECTORY") or "").split(":")[0]
        outbox = os.path.join(state or ".", BRIDGE_OUTBOX)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        bridge = Bridge(
            sources,
            client,
            outbox,
            passwords=passwords,
            data_array=not args.no_data_array,
            client_id=args.client_id,
        )
        bridge.run(stop, stats_every_s=args.stats_every, notifier=Notifier())
    except BridgeError as exc:
        raise UsageError(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(f"outbox {outbox}: {exc}") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
