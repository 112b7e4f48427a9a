"""What the console shows, read from the network server's SQLite database (read-only).

Plain dicts and lists, the same for the HTML pages and the JSON API. Every figure comes from
index seeks, not scans, so a page costs the same with ten million readings as with ten
(`lorafield bench console`): a device's newest reading of a kind (readings_dev_kind), its
newest frames (frames_dev_time), its events by kind (events_dev), the gateways' hourly
counts (gateway_hours). No key column
(nwk_s_key, app_s_key, mac_state) is ever selected.
"""

import json
import math
import time

from ..lns.sqlite_store import StoreError, connect
from .errors import ConsoleError, NotFound

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
# A device is silent when it has not been heard for this many of its intervals.
SILENT_INTERVALS = 2
# Each kind's interval when neither the device's status nor the fleet gives one (the apps'
# defaults, firmware/lib/lorafield_node/apps).
DEFAULT_INTERVAL_S = {"parking": 3600, "water_level": 900, "temperature": 900}
# Samples per uplink of a water gauge when the fleet sets no `batch` (apps/water_level.py).
WATER_BATCH = 4
# Where a battery is spent when the fleet sets no thresholds.low_battery_mv: 2 x AA alkaline
# at 1.1 V per cell (the nodes' battery, hardware/README.md).
LOW_BATTERY_MV = 2200
# The battery trend is taken over this much of the newest status history.
BATTERY_TREND_US = 7 * DAY_US
MIN_TREND_US = 6 * HOUR_US
# The kinds of readings the server decodes (codecs), plus undecodable ones (kind NULL).
READING_KINDS = ("parking", "water_level", "temperature", "status", "config")
EVENTS_PAGE = 50
_EVENT_KINDS = (
    "WITH RECURSIVE k(kind) AS (SELECT min(kind) FROM events UNION ALL"
    " SELECT (SELECT min(kind) FROM events WHERE kind > k.kind) FROM k WHERE k.kind IS NOT NULL)"
    " SELECT kind FROM k WHERE kind IS NOT NULL"
)
MAX_READINGS = 20_000  # per API call; `until` pages further


def open_db(path):
    """A read-only connection to a lorafield network server database, or ConsoleError."""
    try:
        db = connect(path, readonly=True)
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    except StoreError as exc:
        raise ConsoleError(str(exc)) from None
    except Exception as exc:  # sqlite3.DatabaseError: no meta table, not a database
        raise ConsoleError(f"{path}: not a lorafield network server database ({exc})") from None
    if row is None:
        raise ConsoleError(f"{path}: not a lorafield network server database (no schema)")
    return db


def iso(time_us):
    if time_us is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time_us // 1_000_000))


def parse_time(text, name):
    """ISO 8601 in UTC (2026-01-01T06:00:00Z, or a date) or Unix seconds -> microseconds."""
    text = (text or "").strip()
    if not text:
        raise ConsoleError(f"{name}: empty")
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not -(2**40) < seconds < 2**40:  # also nan, inf; SQLite holds 64-bit integers
            raise ConsoleError(f"{name}: out of range, got {text[:40]!r}")
        return round(seconds * 1_000_000)
    import datetime

    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConsoleError(
            f"{name}: not a time, got {text[:40]!r} (ISO 8601 like 2026-01-01T06:00:00Z, "
            "or Unix seconds)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return round(moment.timestamp() * 1_000_000)


def check_eui(text):
    text = (text or "").lower()
    if len(text) != 16 or any(c not in "0123456789abcdef" for c in text):
        raise ConsoleError(f"DevEUI must be 16 hex digits, got {text[:40]!r}")
    return text


class FleetInfo:
    """What the console uses of the fleet file: positions, boards and settings (intervals,
    thresholds). Never a key: the FleetDevice objects are dropped here."""

    def __init__(self, devices=()):
        self.by_eui = {}
        for device in devices:
            location = device.location or None
            if location is not None:
                location = {"lat": float(location["lat"]), "lon": float(location["lon"])}
            self.by_eui[device.dev_eui_hex] = {
                "location": location,
                "board": device.board,
                "settings": dict(device.settings or {}),
            }

    @classmethod
    def load(cls, path):
        if not path:
            return cls()
        from ..fleet import FleetError, load_fleet

        try:
            return cls(load_fleet(path).devices)
        except (FleetError, OSError) as exc:
            raise ConsoleError(f"fleet: {exc}") from None

    def get(self, eui):
        return self.by_eui.get(eui, {"location": None, "board": None, "settings": {}})


class ReadModel:
    """The queries, on one read-only connection (one per thread: see app.py)."""

    def __init__(self, db, fleet=None):
        self.db = db
        self.fleet = fleet or FleetInfo()

    # -- time -------------------------------------------------------------------------------
    def emulated(self):
        row = self.db.execute("SELECT value FROM meta WHERE key='clock'").fetchone()
        return row is not None and row[0] == "emulated"

    def now_us(self):
        """The wall clock; for an emulated field's database its newest frame (its times are
        emulated time, and a field that stopped is not a field that went silent)."""
        if self.emulated():
            row = self.db.execute("SELECT max(last_us) FROM gateway_hours").fetchone()
            newest = row[0] if row else None
            if newest is None:
                newest = self.db.execute("SELECT max(time_us) FROM readings").fetchone()[0]
            if newest is not None:
                return newest
        return time.time_ns() // 1000

    def version(self):
        """Changes whenever the server stored something the pages show (O(1): newest ids)."""
        one = self.db.execute
        readings = one("SELECT max(id) FROM readings").fetchone()[0] or 0
        events = one("SELECT max(id) FROM events").fetchone()[0] or 0
        downlinks = one("SELECT max(id), count(*) FROM downlinks WHERE status != 'sent'")
        down = downlinks.fetchone()
        sessions = one("SELECT count(*) FROM sessions").fetchone()[0]
        return f"{readings}.{events}.{down[0] or 0}.{down[1]}.{sessions}"

    # -- devices ----------------------------------------------------------------------------
    def _latest(self, eui, kind, before_us=None):
        if before_us is None:
            row = self.db.execute(
                "SELECT time_us, data FROM readings WHERE dev_eui=? AND kind=?"
                " ORDER BY time_us DESC LIMIT 1",
                (eui, kind),
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT time_us, data FROM readings WHERE dev_eui=? AND kind=? AND time_us>=?"
                " ORDER BY time_us LIMIT 1",
                (eui, kind, before_us),
            ).fetchone()
        if row is None:
            return None, None
        return row[0], _loads(row[1])

    def _last_seen(self, eui):
        """The newest frame's time (MAC-only frames count: the device was heard)."""
        row = self.db.execute("SELECT max(time_us) FROM frames WHERE dev_eui=?", (eui,))
        return row.fetchone()[0]

    def devices(self, now_us=None, kind=None):
        now_us = self.now_us() if now_us is None else now_us
        rows = self.db.execute(
            "SELECT d.dev_eui, d.name, d.kind, d.activation, s.dev_addr_hex, s.uplinks,"
            " s.fcnt_up_next, s.fcnt_down, s.dr FROM devices d"
            " LEFT JOIN sessions s ON s.dev_eui = d.dev_eui ORDER BY d.name, d.dev_eui"
        ).fetchall()
        out = []
        for eui, name, dkind, activation, addr, uplinks, fcnt_up, fcnt_down, dr in rows:
            if kind is not None and dkind != kind:
                continue
            out.append(
                self._summary(
                    now_us, eui, name, dkind, activation, addr, uplinks, fcnt_up, fcnt_down, dr
                )
            )
        return out

    def _summary(self, now, eui, name, kind, activation, addr, uplinks, fcnt_up, fcnt_down, dr):
        fleet = self.fleet.get(eui)
        settings = fleet["settings"]
        last_seen = self._last_seen(eui)
        state_us, state = self._latest(eui, kind) if kind in DEFAULT_INTERVAL_S else (None, None)
        status_us, status = self._latest(eui, "status")
        status = status or {}
        interval_s = status.get("interval_s") or _fleet_interval(settings)
        interval_s = interval_s or DEFAULT_INTERVAL_S.get(kind, 3600)
        if kind == "water_level":  # a gauge samples every interval and sends a batch
            batch = settings.get("batch")
            interval_s *= batch if isinstance(batch, int) and batch > 0 else WATER_BATCH
        silent = last_seen is None or now - last_seen > SILENT_INTERVALS * interval_s * 1e6
        alarms = []
        if kind == "water_level" and state and state.get("alarm"):
            alarms.append(f"water {state['alarm']}")
        errors = list(status.get("errors") or ())
        alarms += [f"device error: {e}" for e in errors]
        battery = self._battery(eui, status_us, status, settings)
        summary = {
            "dev_eui": eui,
            "name": name or eui,
            "kind": kind,
            "activation": activation,
            "dev_addr": addr,
            "joined": addr is not None,
            "uplinks": uplinks or 0,
            "fcnt_up_next": fcnt_up,
            "fcnt_down": fcnt_down,
            "dr": dr,
            "last_seen": iso(last_seen),
            "last_seen_us": last_seen,
            "interval_s": interval_s,
            "silent": silent,
            "silent_for_s": None if last_seen is None else max(0, (now - last_seen) // 1_000_000),
            "state": state,
            "state_time": iso(state_us),
            "battery": battery,
            "firmware": status.get("fw"),
            "errors": errors,
            "alarms": alarms,
            "location": fleet["location"],
            "board": fleet["board"],
        }
        if kind == "water_level":
            summary["level_mm"] = _newest_level(state)
            summary["high_mm"] = _threshold(settings, "high_mm")
        elif kind == "parking":
            summary["bay"] = _bay_state(state, silent)
        return summary

    def _battery(self, eui, status_us, status, settings):
        mv = status.get("battery_mv")
        if mv is None:
            return None
        low = _threshold(settings, "low_battery_mv") or LOW_BATTERY_MV
        out = {"mv": mv, "time": iso(status_us), "low_mv": low, "mv_per_day": None, "days": None}
        then_us, then = self._latest(eui, "status", status_us - BATTERY_TREND_US)
        if then and then.get("battery_mv") is not None and status_us - then_us >= MIN_TREND_US:
            per_day = (then["battery_mv"] - mv) / ((status_us - then_us) / DAY_US)
            out["mv_per_day"] = round(per_day, 2)
            if mv <= low:
                out["days"] = 0
            elif per_day > 0:
                out["days"] = round((mv - low) / per_day)
        return out

    def device(self, eui, now_us=None):
        eui = check_eui(eui)
        now_us = self.now_us() if now_us is None else now_us
        row = self.db.execute(
            "SELECT d.dev_eui, d.name, d.kind, d.activation, s.dev_addr_hex, s.uplinks,"
            " s.fcnt_up_next, s.fcnt_down, s.dr FROM devices d"
            " LEFT JOIN sessions s ON s.dev_eui = d.dev_eui WHERE d.dev_eui=?",
            (eui,),
        ).fetchone()
        if row is None:
            raise NotFound(f"unknown DevEUI {eui}")
        summary = self._summary(now_us, *row)
        join = self.db.execute(
            "SELECT max(time_us) FROM events WHERE dev_eui=? AND kind='join'", (eui,)
        ).fetchone()[0]
        summary["last_join"] = iso(join)
        summary["radio"] = self.radio(eui)
        summary["settings"] = _public_settings(self.fleet.get(eui)["settings"])
        return summary

    def radio(self, eui, limit=20):
        rows = self.db.execute(
            "SELECT time_us, fcnt, fport, gateway_id, rssi_dbm, snr_db, sf, dr, frequency_hz,"
            " copies FROM frames WHERE dev_eui=? ORDER BY time_us DESC, id DESC LIMIT ?",
            (eui, limit),
        ).fetchall()
        out = []
        for t, fcnt, fport, gw, rssi, snr, sf, dr, freq, copies in rows:
            heard = _loads(copies)
            out.append(
                {
                    "time": iso(t),
                    "fcnt": fcnt,
                    "fport": fport,
                    "gateway_id": gw,
                    "rssi_dbm": rssi,
                    "snr_db": snr,
                    "sf": sf,
                    "dr": dr,
                    "frequency_hz": freq,
                    "gateways": len(heard) if isinstance(heard, list) else None,
                }
            )
        return out

    # -- readings ---------------------------------------------------------------------------
    def readings(self, eui, since_us, until_us=None, kind=None, limit=MAX_READINGS):
        eui = check_eui(eui)
        if self.db.execute("SELECT 1 FROM devices WHERE dev_eui=?", (eui,)).fetchone() is None:
            raise NotFound(f"unknown DevEUI {eui}")
        if kind is not None and kind not in READING_KINDS:
            raise ConsoleError(f"kind: must be one of {', '.join(READING_KINDS)}, got {kind!r}")
        until_us = (1 << 62) if until_us is None else until_us
        kinds = (kind,) if kind else READING_KINDS
        marks = ",".join("?" * len(kinds))
        sql = (
            "SELECT id, time_us, fcnt, fport, kind, data, error FROM readings"
            f" WHERE dev_eui=? AND kind IN ({marks}) AND time_us>=? AND time_us<?"
        )
        args = [eui, *kinds, since_us, until_us]
        if kind is None:  # undecodable uplinks too (kind NULL)
            sql += (
                " UNION ALL SELECT id, time_us, fcnt, fport, kind, data, error FROM readings"
                " WHERE dev_eui=? AND kind IS NULL AND time_us>=? AND time_us<?"
            )
            args += [eui, since_us, until_us]
        sql += " ORDER BY time_us, id LIMIT ?"
        rows = self.db.execute(sql, (*args, limit)).fetchall()
        return [
            {
                "time": iso(t),
                "time_us": t,
                "fcnt": fcnt,
                "fport": fport,
                "kind": rkind,
                "data": _loads(data),
                "error": error,
            }
            for _id, t, fcnt, fport, rkind, data, error in rows
        ]

    # -- events, downlinks, gateways ---------------------------------------------------------
    def events(self, kind=None, dev_eui=None, before=None, limit=EVENTS_PAGE):
        where, args = [], []
        if kind:
            where.append("kind=?")
            args.append(kind)
        if dev_eui:
            where.append("dev_eui=?")
            args.append(check_eui(dev_eui))
        if before is not None:
            where.append("id<?")
            args.append(before)
        # The page's ids first, from the index alone (events_dev, events_kind hold the rowid):
        # sorting a device's ids costs little, fetching its every row to sort them did not
        # (tens of ms for a device with 10,000s of events); then only the page's rows.
        ids = "SELECT id FROM events"
        if where:
            ids += " WHERE " + " AND ".join(where)
        sql = (
            "SELECT id, time_us, kind, dev_eui, reason, detail FROM events"
            f" WHERE id IN ({ids} ORDER BY id DESC LIMIT ?) ORDER BY id DESC"
        )
        rows = self.db.execute(sql, (*args, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        names = self._names({r[3] for r in rows if r[3]})
        events = [
            {
                "id": row_id,
                "time": iso(t),
                "kind": ekind,
                "dev_eui": eui,
                "name": names.get(eui),
                "reason": reason,
                "detail": _loads(detail),
            }
            for row_id, t, ekind, eui, reason, detail in rows
        ]
        return {"events": events, "next_before": events[-1]["id"] if more else None}

    def event_kinds(self):
        """One seek of events_kind per kind (DISTINCT would read the whole index)."""
        return [k for (k,) in self.db.execute(_EVENT_KINDS)]

    def _names(self, euis):
        if not euis:
            return {}
        marks = ",".join("?" * len(euis))
        rows = self.db.execute(
            f"SELECT dev_eui, name FROM devices WHERE dev_eui IN ({marks})", tuple(euis)
        )
        return dict(rows.fetchall())

    def downlinks(self, eui, limit=20):
        rows = self.db.execute(
            "SELECT id, ref, fport, payload_hex, confirmed, status, request, fcnt_down, window,"
            " error FROM downlinks WHERE dev_eui=? ORDER BY id DESC LIMIT ?",
            (check_eui(eui), limit),
        ).fetchall()
        out = []
        for row_id, ref, fport, payload, confirmed, status, request, fcnt, window, error in rows:
            request = _loads(request) if request else None
            out.append(
                {
                    "id": row_id,
                    "ref": ref,
                    "fport": fport,
                    "payload_hex": payload,
                    "confirmed": bool(confirmed),
                    "status": status,
                    "config": request.get("config") if isinstance(request, dict) else None,
                    "fcnt_down": fcnt,
                    "window": window,
                    "error": error,
                }
            )
        return out

    def gateways(self, now_us=None):
        now_us = self.now_us() if now_us is None else now_us
        hour = now_us // HOUR_US
        # One row per gateway and hour: a few thousand rows a year per gateway.
        rows = self.db.execute(
            "SELECT gateway_id, max(last_us),"
            " sum(CASE WHEN hour >= ? THEN frames ELSE 0 END),"
            " sum(CASE WHEN hour >= ? THEN frames ELSE 0 END)"
            " FROM gateway_hours GROUP BY gateway_id ORDER BY gateway_id",
            (hour - 1, hour - 23),
        ).fetchall()
        out = []
        for gw, last, recent, day in rows:
            # frames/h: the current hour and the one before it, scaled to an hour
            span_h = 1 + (now_us - hour * HOUR_US) / HOUR_US
            out.append(
                {
                    "gateway_id": gw,
                    "last_seen": iso(last),
                    "last_seen_s_ago": max(0, (now_us - last) // 1_000_000),
                    "frames_per_hour": round(recent / span_h, 1),
                    "frames_24h": day,
                }
            )
        return out

    # -- the overview -----------------------------------------------------------------------
    def overview(self, now_us=None):
        now_us = self.now_us() if now_us is None else now_us
        devices = self.devices(now_us)
        kinds = {}
        for d in devices:
            entry = kinds.setdefault(d["kind"], {"devices": 0, "silent": 0, "alarms": 0})
            entry["devices"] += 1
            entry["silent"] += d["silent"]
            entry["alarms"] += bool(d["alarms"])
        batteries = [d for d in devices if d["battery"]]
        batteries.sort(key=_battery_order)
        bays = [d["bay"] for d in devices if d["kind"] == "parking"]
        return {
            "now": iso(now_us),
            "emulated": self.emulated(),
            "gateways": self.gateways(now_us),
            "kinds": kinds,
            "bays": {s: bays.count(s) for s in ("free", "occupied", "unknown")},
            "alarms": [_brief(d, alarms=d["alarms"]) for d in devices if d["alarms"]],
            "silent": [
                _brief(d, last_seen=d["last_seen"], interval_s=d["interval_s"])
                for d in devices
                if d["silent"]
            ],
            "lowest_batteries": [_brief(d, battery=d["battery"]) for d in batteries[:10]],
            "devices": len(devices),
        }


def _brief(device, **extra):
    out = {"dev_eui": device["dev_eui"], "name": device["name"], "kind": device["kind"]}
    out.update(extra)
    return out


def _battery_order(device):
    battery = device["battery"]
    days = battery["days"]
    return (math.inf if days is None else days, battery["mv"])


def _loads(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _threshold(settings, name):
    value = (settings.get("thresholds") or {}).get(name)
    return value if isinstance(value, int | float) else None


def _fleet_interval(settings):
    for value in (settings.get("interval_s"), (settings.get("tpl5110") or {}).get("period_s")):
        if isinstance(value, int) and value > 0:
            return value
    return None


def _newest_level(state):
    if not state:
        return None
    if "level_mm" in state:
        return state["level_mm"]
    levels = state.get("levels_mm") or ()
    return levels[-1] if levels else None


def _bay_state(state, silent):
    if not state or silent or "occupied" not in state:
        return "unknown"
    return "occupied" if state["occupied"] else "free"


def _public_settings(settings):
    """Fleet settings shown on a device page: app settings only (no key ever lives here,
    but a fleet could put anything in `settings`: drop whatever names a key or secret)."""
    return {
        k: v
        for k, v in settings.items()
        if not any(word in k.lower() for word in ("key", "secret", "password", "token"))
    }


def level_points(readings):
    """(time_us, level_mm) of water readings: a series (`levels_mm`, oldest first, one per
    `interval_s`) ends at the reading's time."""
    points = []
    for r in readings:
        data = r["data"] or {}
        if "level_mm" in data:
            points.append((r["time_us"], data["level_mm"]))
        elif data.get("levels_mm"):
            step = int(data.get("interval_s") or 0) * 1_000_000
            levels = data["levels_mm"]
            for i, level in enumerate(levels):
                points.append((r["time_us"] - (len(levels) - 1 - i) * step, level))
    points.sort()
    return points
