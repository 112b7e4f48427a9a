"""`lorafield lns`: the local network server's database from the command line.

    lorafield lns queue DEVEUI '{"interval_s": 600}' --db PATH   # a config downlink
    lorafield lns devices --db PATH                               # devices, sessions, last seen
    lorafield lns readings --db PATH [--dev-eui X] [--kind K] [--limit N]   # JSON lines
    lorafield lns events --db PATH [--kind K] [--limit N]                   # JSON lines

`queue` validates the command with the shared codec and leaves it in the database; the
running server (gateway service or emulated field) takes it at its next uplink and sends
it in that device's next receive window, through the gateway that heard it best. The other
subcommands open the database read-only; no key is ever printed.
"""

import json
import os
import sqlite3

from lorafield_gateway.lns import LnsError
from lorafield_gateway.lns.sqlite_store import StoreError, connect, request_downlink

from lorafield_tools.cli import UsageError
from lorafield_tools.field.export import iso

HELP = "local network server: queue a config downlink, list devices, readings, events"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    queue = sub.add_parser("queue", help="DEVEUI JSON: queue a config downlink")
    queue.add_argument("dev_eui", metavar="DEVEUI", help="16 hex digits")
    queue.add_argument(
        "config", metavar="JSON", help="config command, e.g. '{\"interval_s\": 600}'"
    )
    queue.add_argument("--confirmed", action="store_true", help="ask the device to acknowledge")
    sub.add_parser("devices", help="devices with session, uplinks and last seen")
    readings = sub.add_parser("readings", help="decoded readings as JSON lines, oldest first")
    readings.add_argument("--dev-eui", metavar="X", help="only this device")
    readings.add_argument("--kind", metavar="K", help="only this payload kind (e.g. parking)")
    readings.add_argument("--limit", type=int, default=0, metavar="N", help="only the last N")
    events = sub.add_parser("events", help="server events (joins, rejections with reason, ...)")
    events.add_argument("--kind", metavar="K", help="only this event kind")
    events.add_argument("--limit", type=int, default=0, metavar="N", help="only the last N")
    for p in (queue, sub.choices["devices"], readings, events):
        p.add_argument("--db", metavar="PATH", required=True, help="the server's SQLite file")


def _eui(text):
    try:
        ok = len(bytes.fromhex(text)) == 8 and len(text) == 16
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"lns: DevEUI must be 16 hex digits, got {text!r}")
    return text.lower()


def _open(path):
    if not os.path.exists(path):
        raise UsageError(f"lns: {path}: no such database")
    try:
        db = connect(path, readonly=True)
        db.execute("SELECT 1 FROM meta WHERE key='schema'").fetchone()
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise UsageError(f"lns: {path}: not a lorafield network server database ({exc})") from None
    return db


def _queue(args):
    eui = _eui(args.dev_eui)
    try:
        config = json.loads(args.config)
    except ValueError as exc:
        raise UsageError(f"lns queue: JSON is not valid: {exc}") from None
    if not isinstance(config, dict):
        raise UsageError("lns queue: JSON must be an object, e.g. '{\"interval_s\": 600}'")
    _open(args.db).close()
    try:
        row = request_downlink(args.db, eui, {"config": config, "confirmed": args.confirmed})
    except (LnsError, sqlite3.DatabaseError) as exc:
        raise UsageError(f"lns queue: {exc}") from None
    print(json.dumps({"queued": row, "dev_eui": eui, "config": config}))
    return 0


def _last(sql, args, limit):
    if limit and limit > 0:
        return f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(limit)}) ORDER BY id", args
    return sql + " ORDER BY id", args


def _devices(args):
    db = _open(args.db)
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


def _readings(args):
    db = _open(args.db)
    where, params = [], []
    if args.dev_eui:
        where.append("r.dev_eui = ?")
        params.append(_eui(args.dev_eui))
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


def _events(args):
    db = _open(args.db)
    sql = "SELECT id, time_us, kind, dev_eui, reason, detail FROM events"
    params = []
    if args.kind:
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


def run(args):
    return {"queue": _queue, "devices": _devices, "readings": _readings, "events": _events}[
        args.action
    ](args)
