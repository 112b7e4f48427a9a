"""Observations from the local network server's database (source 1 of 3).

`new_observations(db, after_id, limit)` reads the readings stored after `after_id` (the
outbox's cursor) with their frame's radio figures (the frame the server stored with the same
device and time), and maps them: [(dev_eui, quantity, body)], and the last readings id read.
"""

import json

from .mapping import observations


def new_observations(db, after_id, limit=5000):
    rows = db.execute(
        "SELECT id, time_us, dev_eui, kind, data, fcnt FROM readings"
        " WHERE id > ? AND error IS NULL ORDER BY id LIMIT ?",
        (after_id, limit),
    ).fetchall()
    out = []
    last = after_id
    for row_id, time_us, eui, kind, data, fcnt in rows:
        last = row_id
        try:
            data = json.loads(data)
        except (TypeError, ValueError):
            continue
        frame = db.execute(
            "SELECT rssi_dbm, snr_db, gateway_id FROM frames WHERE dev_eui=? AND time_us=?"
            " ORDER BY id DESC LIMIT 1",
            (eui, time_us),
        ).fetchone()
        radio = (
            dict(zip(("rssi_dbm", "snr_db", "gateway_id"), frame, strict=True)) if frame else None
        )
        reading = {"dev_eui": eui, "time_us": time_us, "kind": kind, "data": data, "fcnt": fcnt}
        out += [(eui, quantity, body) for quantity, body in observations(reading, radio)]
    return out, last


def first_id_at(db, since_us):
    """The readings id just before the first reading at or after `since_us` (a backlog's
    start): readings are stored in time order."""
    row = db.execute("SELECT min(id) FROM readings WHERE time_us >= ?", (since_us,)).fetchone()
    return (row[0] or 1) - 1 if row[0] is not None else None
