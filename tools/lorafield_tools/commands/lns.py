"""`lorafield lns`: the local network server's database from the command line.

    lorafield lns queue DEVEUI '{"interval_s": 600}' [--db PATH]   # a config downlink
    lorafield lns devices [--db PATH]                               # devices, sessions, last seen
    lorafield lns readings [--db PATH] [--dev-eui X] [--kind K] [--limit N]   # JSON lines
    lorafield lns events [--db PATH] [--kind K] [--limit N]                   # JSON lines

Without --db, the database is the gateway's: `local.db` of the gateway configuration
(`--config FILE`, default /etc/lorafield/gateway.toml, where the systemd unit reads it), or
`lns.sqlite3` in its `gateway.state_dir` when `local.db` is empty.

`queue` validates the command with the shared codec and leaves it in the database; the
running server (gateway service or emulated field) takes it at its next uplink and sends
it in that device's next receive window, through the gateway that heard it best. The other
subcommands open the database read-only; no key is ever printed.
"""

import argparse
import json
import os
import sqlite3

from lorafield_codec import KINDS
from lorafield_gateway.lns import LnsError
from lorafield_gateway.lns.sqlite_store import (
    StoreError,
    config_request,
    connect,
    request_downlink,
)

from lorafield_tools.cli import UsageError
from lorafield_tools.field.export import iso

from .common import positive_int

HELP = "local network server: queue a config downlink, list devices, readings, events"

# Where `lorafield gateway run` reads its configuration under systemd (gateway/systemd).
DEFAULT_GATEWAY_CONFIG = "/etc/lorafield/gateway.toml"

# The kinds of event the network server writes. lorafield_gateway.lns names them where they
# happen (server.py, macanswers.py) and has no table of them; tests/lns_storage/
# test_lns_cli.py checks this one against every kind the server's code names.
EVENT_KINDS = (
    "join",
    "join_accept_sent",
    "join_rejected",
    "uplink",
    "uplink_rejected",
    "uplink_retransmission",
    "uplink_late_copy",
    "downlink",
    "downlink_sent",
    "downlink_acked",
    "downlink_nacked",
    "downlink_failed",
    "downlink_deferred",
    "adr",
    "dev_status",
    "mac_rejected",
    "mac_unsolicited",
    "mac_error",
)


def _eui(text):
    try:
        ok = len(bytes.fromhex(text)) == 8 and len(text) == 16
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"DevEUI must be 16 hex digits, got {text!r}")
    return text.lower()


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    queue = sub.add_parser("queue", help="DEVEUI JSON: queue a config downlink")
    queue.add_argument("dev_eui", type=_eui, metavar="DEVEUI", help="16 hex digits")
    queue.add_argument(
        "config", metavar="JSON", help="config command, e.g. '{\"interval_s\": 600}'"
    )
    queue.add_argument("--confirmed", action="store_true", help="ask the device to acknowledge")
    devices = sub.add_parser("devices", help="devices with session, uplinks and last seen")
    readings = sub.add_parser("readings", help="decoded readings as JSON lines, oldest first")
    readings.add_argument("--dev-eui", type=_eui, metavar="X", help="only this device")
    readings.add_argument(
        "--kind",
        choices=tuple(KINDS),
        metavar="K",
        help="only this payload kind: " + ", ".join(KINDS),
    )
    events = sub.add_parser("events", help="server events (joins, rejections with reason, ...)")
    events.add_argument(
        "--kind", metavar="K", help="only this event kind: " + ", ".join(EVENT_KINDS)
    )
    for p in (readings, events):
        p.add_argument(
            "--limit", type=positive_int, metavar="N", help="only the last N (default: all)"
        )
    for p in (queue, devices, readings, events):
        where = p.add_mutually_exclusive_group()
        where.add_argument(
            "--db",
            metavar="PATH",
            help="the server's SQLite file (default: the gateway's, from --config)",
        )
        where.add_argument(
            "--config",
            dest="gateway_config",  # `queue` has its own JSON `config`
            metavar="FILE",
            help=f"gateway configuration whose database to use (default {DEFAULT_GATEWAY_CONFIG})",
        )


def _gateway_db(config_path, given):
    """The database of the gateway configured in `config_path`: `local.db`, or lns.sqlite3 in
    its state directory (as `lorafield_gateway.forwarders.local.stored_network_server`)."""
    from lorafield_gateway.config import ConfigError, load

    if not given and not os.path.exists(config_path):
        raise UsageError(
            f"which database? give --db PATH or --config FILE (no gateway configuration at "
            f"{config_path})"
        )
    try:
        config = load(config_path)
    except ConfigError as exc:
        text = str(exc)
        raise UsageError(text if config_path in text else f"{config_path}: {text}") from None
    if not config.local.enabled:
        raise UsageError(
            f"{config_path}: the gateway runs no local network server ([local] enabled = "
            "false): give --db PATH"
        )
    return config.lns_path


def _db_path(args):
    if args.db:
        return args.db
    given = args.gateway_config
    return _gateway_db(given or DEFAULT_GATEWAY_CONFIG, given is not None)


def _open(path):
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such database")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    db = None
    try:
        db = connect(path, readonly=True)
        db.execute("SELECT 1 FROM meta WHERE key='schema'").fetchone()
    except (StoreError, sqlite3.DatabaseError) as exc:
        if db is not None:
            db.close()
        reason = str(exc).removeprefix(f"{path}: ")
        raise UsageError(f"{path}: not a lorafield network server database ({reason})") from None
    return db


def _queue(args, path):
    eui = args.dev_eui
    _open(path).close()
    try:
        request = config_request(args.config, args.confirmed)
        row = request_downlink(path, eui, request)
    except (LnsError, sqlite3.DatabaseError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps({"queued": row, "dev_eui": eui, "config": request["config"]}))
    return 0


def _last(sql, args, limit):
    if limit is not None:  # positive_int: at least 1
        return f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(limit)}) ORDER BY id", args
    return sql + " ORDER BY id", args


def _devices(args, path):
    db = _open(path)
    try:
        rows = db.execute(
            "SELECT d.dev_eui, d.name, d.kind, s.dev_addr_hex, s.uplinks, s.fcnt_up_next,"
            " (SELECT max(time_us) FROM frames f WHERE f.dev_eui = d.dev_eui)"
            " FROM devices d LEFT JOIN sessions s ON s.dev_eui = d.dev_eui ORDER BY d.name"
        ).fetchall()
    finally:
        db.close()
    header = ("dev_eui", "name", "kind", "dev_addr", "uplinks", "next fcnt", "last seen")
    table = [header] + [
        (
            eui,
            name or "",
            kind or "",
            addr or "-",
            str(up or 0),
            str(nxt or 0),
            iso(last) if last else "-",
        )
        for eui, name, kind, addr, up, nxt, last in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _readings(args, path):
    db = _open(path)
    where, params = [], []
    if args.dev_eui:
        where.append("r.dev_eui = ?")
        params.append(args.dev_eui)
    if args.kind:
        where.append("r.kind = ?")
        params.append(args.kind)
    sql = (
        "SELECT r.id, r.time_us, r.dev_eui, d.name, r.kind, r.fcnt, r.data, r.error"
        " FROM readings r LEFT JOIN devices d ON d.dev_eui = r.dev_eui"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql, params = _last(sql, params, args.limit)
    try:
        for _, t, eui, name, kind, fcnt, data, error in db.execute(sql, params):
            record = {"time": iso(t), "dev_eui": eui, "name": name, "kind": kind, "fcnt": fcnt}
            record["data"] = json.loads(data) if data else None
            if error:
                record["error"] = error
            print(json.dumps(record))
    finally:
        db.close()
    return 0


def _events(args, path):
    db = _open(path)
    sql = "SELECT id, time_us, kind, dev_eui, reason, detail FROM events"
    params = []
    if args.kind:
        _check_event_kind(db, args.kind)
        sql += " WHERE kind = ?"
        params.append(args.kind)
    sql, params = _last(sql, params, args.limit)
    try:
        for _, t, kind, eui, reason, detail in db.execute(sql, params):
            record = {"time": iso(t), "kind": kind, "dev_eui": eui}
            if reason:
                record["reason"] = reason
            record.update(json.loads(detail) if detail else {})
            print(json.dumps(record))
    finally:
        db.close()
    return 0


def _check_event_kind(db, kind):
    """A known kind, or one the database holds (written by a newer server)."""
    if kind in EVENT_KINDS or db.execute("SELECT 1 FROM events WHERE kind=?", (kind,)).fetchone():
        return
    db.close()
    raise UsageError(f"unknown event kind {kind!r} (one of {', '.join(EVENT_KINDS)})")


def run(args):
    action = {"queue": _queue, "devices": _devices, "readings": _readings, "events": _events}
    return action[args.action](args, _db_path(args))
