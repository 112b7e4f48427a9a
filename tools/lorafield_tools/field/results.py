"""What happened in a field run: per node, per kind, and the summary table.

Air accounting per uplink frame comes from the medium itself (each node chip's `tx`
counters). A frame is *received* if any gateway got it intact; else it is lost, to the
first of these causes that applies (LOSS_CAUSES, the summary's columns):

* collision: a gateway was receiving it when another frame on the channel destroyed it;
* range: it reached a gateway below the sensitivity of its spreading factor;
* gateway busy: every demodulator of the gateways in range was taken by other frames;
* unheard: no gateway was listening on its channel and data rate (e.g. each was
  transmitting a downlink, which a half-duplex gateway cannot do while it receives).

Joins, readings and downlinks come from the network server's SQLite database, so the
table shows what a user of the server would see. Battery life: lorafield_tools.field.battery.
"""

import json
import math
import sqlite3
from dataclasses import dataclass, field

from lorafield_hw.emulated_gateway import EMULATION_EPOCH_US

from . import setups
from .battery import project
from .gateway import delivered

FAIR_USE_S_PER_DAY = 30.0  # The Things Network fair-use policy: 30 s uplink airtime a day
KIND_ORDER = ("parking", "water_level", "temperature")


@dataclass
class NodeResult:
    name: str
    kind: str
    setup: str
    dev_eui: str
    position: tuple
    sent: int = 0
    received: int = 0
    lost_collision: int = 0
    lost_range: int = 0
    lost_busy: int = 0
    unheard: int = 0
    joins: int = 0
    readings: int = 0
    downlinks_sent: int = 0
    downlinks_delivered: int = 0
    airtime_s: float = 0.0
    battery: object = None  # battery.Projection
    boots: int = 0
    gateways: set = field(default_factory=set)
    runtime: str = "cpython"  # or "micropython" (field/vm_runtime.py)
    vm: object = None  # a micropython node's vm_runtime.VmNodeStats
    heap_kib: int = 0  # a micropython node's heap


@dataclass
class FieldResults:
    hours: float
    wall_s: float
    nodes: list
    readings: list  # (time_s, dev_eui, kind, data) from the database
    events: dict  # kind -> count
    gateway_rx: dict  # gateway id -> the medium's rx counters
    requested: list  # (at_s, node, config, row id, status)
    db_path: str
    capacity_mah: float = 0.0  # every node's battery

    def by_kind(self):
        """{(kind, setup): nodes}, kinds in KIND_ORDER, a kind's field-grade setup first."""
        out = {}
        for node in self.nodes:
            out.setdefault((node.kind, node.setup), []).append(node)

        def order(key):
            kind, setup = key
            rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
            return rank, kind, setup != setups.FIELD_GRADE.get(kind), setup

        return {key: out[key] for key in sorted(out, key=order)}

    def total(self, attribute):
        return sum(getattr(n, attribute) for n in self.nodes)

    @property
    def uplinks_per_wall_s(self):
        return self.total("received") / self.wall_s if self.wall_s else 0.0

    @property
    def speedup(self):
        return self.hours * 3600 / self.wall_s if self.wall_s else 0.0


def collect(field_run):
    spec = field_run.spec
    db = sqlite3.connect(field_run.db_path)
    try:
        joins = dict(
            db.execute("SELECT dev_eui, count(*) FROM events WHERE kind='join' GROUP BY 1")
        )
        counts = dict(db.execute("SELECT dev_eui, count(*) FROM readings GROUP BY 1"))
        sent = dict(
            db.execute(
                "SELECT dev_eui, count(*) FROM events WHERE kind IN"
                " ('downlink_sent', 'join_accept_sent') GROUP BY 1"
            )
        )
        events = dict(db.execute("SELECT kind, count(*) FROM events GROUP BY 1"))
        readings = [
            ((t - EMULATION_EPOCH_US) / 1e6, eui, kind, json.loads(data))
            for t, eui, kind, data in db.execute(
                "SELECT time_us, dev_eui, kind, data FROM readings ORDER BY id"
            )
        ]
        statuses = dict(db.execute("SELECT id, status FROM downlinks"))
        heard = {}
        for eui, copies in db.execute("SELECT dev_eui, copies FROM frames"):
            for copy in json.loads(copies):
                heard.setdefault(eui, set()).add(copy["gateway_id"])
    finally:
        db.close()
    airtime = field_run.air.airtime_us
    down_frames = {}
    for gateway in field_run.gateways:
        for dev_eui, frame in gateway.transmitted:
            down_frames.setdefault(dev_eui, []).append(frame)
    nodes = []
    for node in field_run.nodes:
        eui = node.dev_eui.hex()
        chip = node.chip
        tx = chip.tx
        result = NodeResult(node.name, node.kind, node.spec.board, eui, node.spec.position)
        result.sent = tx.sent
        result.received = tx.received
        result.lost_collision = tx.lost_collision
        result.lost_range = tx.lost_sensitivity
        result.lost_busy = tx.lost_busy
        result.unheard = tx.sent - tx.received - tx.lost_collision - tx.lost_sensitivity
        result.unheard -= tx.lost_busy
        result.joins = joins.get(eui, 0)
        result.readings = counts.get(eui, 0)
        result.downlinks_sent = sent.get(eui, 0)
        result.downlinks_delivered = sum(delivered(f, chip) for f in down_frames.get(eui, ()))
        result.airtime_s = airtime.get(chip, 0) / 1e6
        capacity = node.board.energy.battery.capacity_mah
        result.battery = project(node.spec, node.hourly_mah, capacity)
        result.boots = len(node.board.boots)
        result.gateways = heard.get(eui, set())
        result.runtime = node.runtime
        if node.vm is not None:
            result.vm = node.vm.stats
            result.heap_kib = node.vm.heap_kib
        nodes.append(result)
    gateway_rx = {g.gateway_id: g.radio.rx.as_dict() for g in field_run.gateways}
    requested = [
        (at, name, config, row, statuses.get(row)) for at, name, config, row in field_run.requested
    ]
    return FieldResults(
        spec.hours,
        field_run.wall_s,
        nodes,
        readings,
        events,
        gateway_rx,
        requested,
        field_run.db_path,
        max((n.board.energy.battery.capacity_mah for n in field_run.nodes), default=0.0),
    )


# -- the summary table ------------------------------------------------------------------------
LOSS_CAUSES = (  # NodeResult attribute, column title (the causes of the module docstring)
    ("lost_collision", "lost: collision"),
    ("lost_range", "lost: range"),
    ("lost_busy", "lost: gateway busy"),
    ("unheard", "lost: unheard"),
)
COLUMNS = (
    ("kind", "kind"),
    ("board", "board"),
    ("nodes", "nodes"),
    ("sent", "uplinks sent"),
    ("received", "received"),
    *LOSS_CAUSES,
    ("joins", "joins"),
    ("readings", "readings"),
    ("downlinks", "downlinks delivered/sent"),
    ("airtime", "airtime s/day (max)"),
    ("battery", "battery life (median)"),
)


RUNTIME_COLUMN = ("runtime", "runtime")


def columns(results):
    """COLUMNS, with a runtime column after the board when any node is not on CPython."""
    if all(n.runtime == "cpython" for n in results.nodes):
        return COLUMNS
    return COLUMNS[:2] + (RUNTIME_COLUMN,) + COLUMNS[2:]


def _runtimes(nodes):
    """'micropython', or '2 micropython, 4 cpython' for a mixed group."""
    counts = {}
    for node in nodes:
        counts[node.runtime] = counts.get(node.runtime, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {runtime}" for runtime, n in sorted(counts.items(), reverse=True))


def summary_rows(results):
    rows = []
    day = results.hours / 24.0
    for (kind, setup), nodes in results.by_kind().items():
        n = len(nodes)
        per_day = [node.airtime_s / day for node in nodes] if day else [0.0]
        life = sorted(node.battery.life_days for node in nodes)
        delivered_n = sum(node.downlinks_delivered for node in nodes)
        sent_n = sum(node.downlinks_sent for node in nodes)
        row = {
            "kind": kind,
            "board": setup if setups.get(setup).field_grade else f"{setup} (dev board)",
            "nodes": str(n),
            "sent": str(sum(node.sent for node in nodes)),
            "received": str(sum(node.received for node in nodes)),
            "joins": str(sum(node.joins for node in nodes)),
            "readings": str(sum(node.readings for node in nodes)),
            "downlinks": f"{delivered_n}/{sent_n}",
            "airtime": f"{sum(per_day) / n:.1f} ({max(per_day):.1f}) of {FAIR_USE_S_PER_DAY:g}",
            "battery": fmt_days(life[len(life) // 2]),
            "runtime": _runtimes(nodes),
        }
        for attribute, _ in LOSS_CAUSES:
            row[attribute] = str(sum(getattr(node, attribute) for node in nodes))
        rows.append(row)
    return rows


def summary_table(results):
    rows = summary_rows(results)
    shown = columns(results)
    headers = [title for _, title in shown]
    keys = [key for key, _ in shown]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for h, k in zip(headers, keys, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [
            row[k].rjust(w) if k not in ("kind", "board", "runtime") else row[k].ljust(w)
            for k, w in zip(keys, widths, strict=True)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def count(n, noun):
    """'1 gateway', '2 gateways'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def fmt_days(days):
    if math.isinf(days):
        return "-"
    return f"{days / 365.25:.1f} years" if days > 365 else f"{days:.0f} days"
