"""What an emulated field is made of, the default town, and the SCENARIO.toml loader.

Positions are metres on a flat town map (x east, y north); the fleet file gets them as
latitude/longitude around `ORIGIN`. Every problem in a scenario file is a `ScenarioError`
naming the file, the table and the key.
"""

import math
import os
import random
import tomllib
from dataclasses import dataclass, field

from lorafield_gateway.toml_text import toml_value
from lorafield_hw.plans import DEFAULT_SUB_BANDS, PlanError, plan_of
from lorafield_node.deploy import ConfigError
from lorafield_node.region import NAMES
from lorafield_node.settings import check_settings

from . import setups

KINDS = ("parking", "water_level", "temperature")
RUNTIMES = ("cpython", "micropython")  # where a node's firmware runs (field/vm_runtime.py)
ORIGIN = (52.0, 5.0)  # lat, lon of the map's (0, 0): a made-up town
JOIN_EUI = "70b3d57ed00000ff"

# Urban log-distance path loss for sensors at street level (kerb, manhole, bridge rail):
# exponent 2.7 and 94.5 dB at 40 m (about 31 dB over free space there), so SF7 at 14 dBm
# (137 dB budget against the SX1276's -123 dBm) reaches about 1.5 km and SF12 about 4.5 km,
# the ranges reported for city deployments. LoRaSim's default (2.08, 127.41 dB) models
# rural Bor et al. measurements with a harsh d0 and gives SF7 only ~116 m.
URBAN_PATH_LOSS = {
    "exponent": 2.7,
    "reference_loss_db": 94.5,
    "reference_distance_m": 40.0,
    "shadowing_db": 3.0,
}


class ScenarioError(ValueError):
    """A scenario file problem: one line naming the file, table and key."""


@dataclass
class NodeSpec:
    name: str
    kind: str
    position: tuple
    board: str = ""  # a setup (lorafield_tools.field.setups); "" = the kind's field-grade one
    settings: dict = field(default_factory=dict)  # deploy-time app settings, over the setup's
    scenario: dict = field(default_factory=dict)  # the physical world at this node
    start_s: float = 0.0  # installation (power on)
    power_cycles: list = field(default_factory=list)  # (at_s, off_s)
    runtime: str = "cpython"  # or "micropython": the deployed firmware in a MicroPython VM

    def __post_init__(self):
        self.board = self.board or setups.FIELD_GRADE[self.kind]

    @property
    def setup(self):
        return setups.get(self.board, self.kind)

    def device_settings(self):
        """The settings `lorafield deploy` would write: the setup's, then the node's own."""
        return dict(self.setup.settings, **self.settings)


@dataclass
class GatewaySpec:
    name: str
    position: tuple
    gateway_id: str = ""


@dataclass
class DownlinkSpec:
    node: str
    at_s: float
    config: dict


@dataclass
class FieldSpec:
    name: str
    hours: float
    seed: int = 1
    start_hour: float = 0.0  # local time at t = 0 (temperature cycle, plots)
    region: str = "EU868"  # lorafield_node.region.NAMES: nodes, gateways and the server
    sub_bands: list | None = None  # US915/AU915: the gateways' (and nodes') sub-bands
    path_loss: dict = field(default_factory=lambda: dict(URBAN_PATH_LOSS))
    nodes: list = field(default_factory=list)
    gateways: list = field(default_factory=list)
    downlinks: list = field(default_factory=list)
    streets: list = field(default_factory=list)  # polylines for the map: [(x, y), ...]
    river: list = field(default_factory=list)

    def radio_settings(self):
        """The device settings every node gets from the field (`lorafield_node.settings`):
        the region and sub-bands, none for EU868 (the firmware's default)."""
        out = {}
        if self.region != "EU868":
            out["region"] = self.region
        if self.sub_bands:
            out["sub_bands"] = list(self.sub_bands)
        return out

    def device_settings(self, node):
        """What `lorafield deploy` writes for `node`: the field's radio settings, the
        setup's settings, then the node's own."""
        return dict(self.radio_settings(), **node.device_settings())

    def plan(self):
        """The region object of the field (its sub-bands enabled)."""
        return plan_of(self.region, self.sub_bands)

    def gateway_sub_bands(self):
        """The sub-bands the gateways listen on and the server keeps its devices on (US915,
        AU915): the field's, else FSB2 (`lorafield_hw.plans.DEFAULT_SUB_BANDS`); None in the
        other regions."""
        if not self.plan().fixed:
            return None
        return list(self.sub_bands or DEFAULT_SUB_BANDS)

    def check(self, where="field"):
        if not self.gateways:
            raise ScenarioError(f"{where}: needs at least one [[gateway]]")
        if not self.nodes:
            raise ScenarioError(f"{where}: needs at least one [[node]]")
        names = set()
        for node in self.nodes:
            if node.name in names:
                raise ScenarioError(f"{where}: node name {node.name!r} used twice")
            names.add(node.name)
        for down in self.downlinks:
            if down.node not in names:
                raise ScenarioError(f"{where}: downlink for unknown node {down.node!r}")
        ids = [g.gateway_id for g in self.gateways]
        if len(set(ids)) != len(ids):
            raise ScenarioError(f"{where}: gateway ids must be unique")
        return self

    def warnings(self):
        """What the scenario schedules at or after its own end (it never happens)."""
        end = self.hours * 3600
        late = []
        for node in self.nodes:
            for at_s, _ in node.power_cycles:
                if at_s >= end:
                    late.append(f"{node.name}: power_cycle at {at_s:g} s")
            for start, *_ in node.scenario.get("floods", ()):
                if start >= end:
                    late.append(f"{node.name}: flood at {start:g} s")
            for at_s, what in node.scenario.get("events", ()):
                if at_s >= end:
                    late.append(f"{node.name}: {what} at {at_s:g} s")
            if node.start_s >= end:
                late.append(f"{node.name}: start_s {node.start_s:g} s")
        for down in self.downlinks:
            if down.at_s >= end:
                late.append(f"downlink for {down.node} at {down.at_s:g} s")
        out = [
            f"{what}: at or after the end of the run ({end:g} s), never happens" for what in late
        ]
        return out + self._gate_warnings()

    def _gate_warnings(self):
        """A TPL5110's period is set by a resistor: an interval that is not a whole number of
        periods makes the node sleep on its MCU between them (an RP2040 at 0.8 mA)."""
        nodes = {node.name: node for node in self.nodes}
        asked = [(n.name, "settings", n.settings.get("interval_s")) for n in self.nodes]
        asked += [(d.node, "downlink", d.config.get("interval_s")) for d in self.downlinks]
        out = []
        for name, where, interval in asked:
            gate = nodes[name].device_settings().get("tpl5110")
            if interval is None or gate is None or interval % gate["period_s"] == 0:
                continue
            out.append(
                f"{name}: {where} interval_s {interval} is not a multiple of its TPL5110's "
                f"{gate['period_s']} s period: it sleeps on its MCU between the timer's periods"
            )
        return out


def gateway_id(index):
    return f"0016c001ff{index + 1:06x}"


def latlon(position):
    x, y = position
    lat0, lon0 = ORIGIN
    lat = lat0 + y / 111_320.0
    lon = lon0 + x / (111_320.0 * math.cos(math.radians(lat0)))
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


# -- the default town -----------------------------------------------------------------------
FARM = (3900, 650)  # the default town's out-of-town temperature sensor


def default_town(nodes=None, hours=24.0, seed=1, gateways=2):
    """A small town: parking bays along Market Street, water-level gauges on the river,
    temperature sensors around town, gateways on the town hall and the water tower.
    `nodes` scales the 12 : 4 : 8 mix; one temperature sensor gets a config downlink (a
    30-minute interval) at 06:00 and one parking sensor is power-cycled at 10:00. Every
    node is the field-grade setup of its kind (setups.FIELD_GRADE), but one temperature
    sensor (with three or more), which is the development board as shipped, for contrast."""
    rnd = random.Random(f"town/{seed}")
    total = 24 if nodes is None else int(nodes)
    if total < 3:
        raise ScenarioError("the town needs at least 3 nodes (one of each kind)")
    n_water = max(1, round(total * 4 / 24))
    n_temp = max(1, round(total * 8 / 24))
    n_park = max(1, total - n_water - n_temp)
    spec = FieldSpec(name="Lorafield town", hours=float(hours), seed=seed, start_hour=0.0)
    spec.streets = [
        [(100, 300), (1700, 300)],  # Market Street
        [(900, 60), (900, 760)],  # Station Road
        [(200, 560), (1500, 600)],  # Quay
    ]
    spec.river = [(0, 820), (400, 790), (800, 840), (1200, 800), (1700, 830)]
    sites = [(450, 420), (1300, 480), (900, 120), (150, 650), (1650, 200), (700, 700)]
    for i in range(max(1, int(gateways))):
        spare = (rnd.uniform(100, 1600), rnd.uniform(100, 750))
        position = sites[i] if i < len(sites) else spare
        name = ("town-hall", "water-tower")[i] if i < 2 else f"gw-{i + 1}"
        spec.gateways.append(GatewaySpec(name, position, gateway_id(i)))
    # Parking: blocks of 12 bays 6 m apart on both sides of Market Street, then of the Quay;
    # a bigger town (--nodes) fills in further blocks at random places in town.
    blocks = [(600 + 250 * k, 300) for k in range(5)] + [(250 + 250 * k, 585) for k in range(5)]
    for i in range(n_park):
        block, col = divmod(i, 12)
        if block < len(blocks):
            x0, y0 = blocks[block]
        else:
            x0, y0 = rnd.uniform(200, 1500), rnd.uniform(120, 700)
        x = x0 + 6 * (col % 6)
        y = y0 + (-6 if col < 6 else 6)
        spec.nodes.append(
            NodeSpec(
                f"bay-{i + 1}",
                "parking",
                (round(x, 1), round(y, 1)),
                scenario={"arrivals_per_hour": 0.8, "mean_stay_min": 50.0},
                start_s=30.0 + 5.0 * i,
            )
        )
    # Water level along the river; the one furthest downstream sees the flood wave first.
    for i in range(n_water):
        x = 150 + (1500 / max(1, n_water - 1)) * i if n_water > 1 else 800
        y = _river_y(spec.river, x) - 10
        flood_start = 9 * 3600.0 + 600.0 * i  # the wave travels downstream
        spec.nodes.append(
            NodeSpec(
                f"river-{i + 1}",
                "water_level",
                (round(x), round(y)),
                settings={"thresholds": {"high_mm": 1200}, "mount_height_mm": 3000},
                scenario={
                    "mount_height_mm": 3000,
                    "base_level_mm": 400 + 40 * i,
                    "floods": [[flood_start, 1800.0, 1500.0, 4 * 3600.0]],
                },
                start_s=20.0 + 7.0 * i,
            )
        )
    # Temperature: scattered over the town; the last one (with two or more) on a farm 2.6 km
    # east of the water tower, beyond SF7 and SF8 reach: its first join attempts are lost to
    # range until the join's data-rate sweep gets to SF9/SF10.
    for i in range(n_temp):
        position = (round(rnd.uniform(150, 1600)), round(rnd.uniform(120, 760)))
        if i == n_temp - 1 and n_temp > 1:
            position = FARM
        spec.nodes.append(
            NodeSpec(
                f"temp-{i + 1}",
                "temperature",
                position,
                board=setups.DEV_BOARD if i == 1 and n_temp >= 3 else "",
                scenario={"mean_c": 12.0 + rnd.uniform(-1, 1), "amplitude_c": 6.0},
                start_s=10.0 + 11.0 * i,
            )
        )
    temps = [n for n in spec.nodes if n.kind == "temperature"]
    if hours >= 7:
        # 30 min: a whole number of its TPL5110's 15-minute periods (_gate_warnings)
        spec.downlinks.append(DownlinkSpec(temps[0].name, 6 * 3600.0, {"interval_s": 1800}))
    parks = [n for n in spec.nodes if n.kind == "parking"]
    if hours >= 11:
        parks[min(2, len(parks) - 1)].power_cycles.append((10 * 3600.0, 1800.0))
    elif hours >= 1:
        parks[0].power_cycles.append((hours * 3600.0 / 2, 300.0))
    return spec.check("default town")


def _river_y(river, x):
    for (x0, y0), (x1, y1) in zip(river, river[1:], strict=False):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return river[-1][1]


# -- SCENARIO.toml ----------------------------------------------------------------------------
_FIELD_KEYS = {"name", "hours", "seed", "start_hour", "region", "sub_bands", "path_loss"}
_FIELD_KEYS |= {"streets", "river"}
# What a [[node]] says about the node itself, and what it says about the world at the node.
_NODE_OWN_KEYS = {
    "kind",
    "name",
    "position",
    "count",
    "step",
    "board",
    "settings",
    "start_s",
    "power_cycle",
    "runtime",
}
_SCENARIO_KEYS = {
    "events",
    "arrivals_per_hour",
    "mean_stay_min",
    "mount_height_mm",
    "base_level_mm",
    "floods",
    "mean_c",
    "amplitude_c",
    "peak_hour",
}
_NODE_KEYS = _NODE_OWN_KEYS | _SCENARIO_KEYS
_PATH_LOSS_KEYS = set(URBAN_PATH_LOSS)


def load_scenario(path):
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:  # tomllib reads UTF-8 only
        raise ScenarioError(f"{path}: not UTF-8 text") from None
    return parse_scenario(raw, str(path))


def parse_scenario(raw, source="scenario"):
    unknown = set(raw) - {"field", "gateway", "node", "downlink"}
    if unknown:
        raise ScenarioError(f"{source}: unknown table {sorted(unknown)[0]!r}")
    top = raw.get("field", {})
    where = f"{source}: [field]"
    _table(top, where)
    _known(top, _FIELD_KEYS, where)
    spec = FieldSpec(
        name=_str(top.get("name", "field"), where, "name"),
        hours=_number(top.get("hours", 24), where, "hours", 0.01, 24 * 366),
        seed=_int(top.get("seed", 1), where, "seed"),
        start_hour=_number(top.get("start_hour", 0), where, "start_hour", 0, 24),
    )
    _radio(top, spec, where)
    if "path_loss" in top:
        loss = top["path_loss"]
        _table(loss, f"{where} path_loss")
        _known(loss, _PATH_LOSS_KEYS, f"{where} path_loss")
        for key, value in loss.items():
            spec.path_loss[key] = _number(value, f"{where} path_loss", key, 0, 1000)
    if "streets" in top:
        spec.streets = [
            _points(s, where, "streets") for s in _list(top["streets"], where, "streets")
        ]
    if "river" in top:
        spec.river = _points(top["river"], where, "river")
    for i, entry in enumerate(_list(raw.get("gateway", []), source, "gateway")):
        w = f"{source}: gateway {i + 1}"
        _table(entry, w)
        _known(entry, {"name", "position", "id"}, w)
        name = _str(entry.get("name", f"gw-{i + 1}"), w, "name")
        gid = _str(entry.get("id", gateway_id(i)), w, "id").lower()
        try:
            ok = len(bytes.fromhex(gid)) == 8
        except ValueError:
            ok = False
        if not ok:
            raise ScenarioError(f"{w} ({name}): id must be 16 hex digits (an EUI-64)")
        spec.gateways.append(GatewaySpec(name, _position(entry, f"{w} ({name})"), gid))
    for i, entry in enumerate(_list(raw.get("node", []), source, "node")):
        spec.nodes.extend(_nodes(entry, f"{source}: node {i + 1}", spec.radio_settings()))
    for i, entry in enumerate(_list(raw.get("downlink", []), source, "downlink")):
        w = f"{source}: downlink {i + 1}"
        _table(entry, w)
        _known(entry, {"node", "at_s", "config"}, w)
        for key in ("node", "at_s", "config"):
            if key not in entry:
                raise ScenarioError(f"{w}: {key} is missing")
        _table(entry["config"], f"{w} config")
        _check_config(entry["config"], w)
        spec.downlinks.append(
            DownlinkSpec(
                _str(entry["node"], w, "node"),
                _number(entry["at_s"], w, "at_s", 0, 1e9),
                dict(entry["config"]),
            )
        )
    return spec.check(source)


def _radio(top, spec, where):
    """[field] region (one of lorafield_node.region.NAMES) and sub_bands (US915/AU915: a
    list of 1..8, the gateways' sub-bands and the nodes' channels)."""
    name = top.get("region", "EU868")
    if name not in NAMES:
        raise ScenarioError(f"{where}: region must be one of {', '.join(NAMES)}, got {name!r}")
    spec.region = name
    if "sub_bands" in top:
        bands = top["sub_bands"]
        if not (
            isinstance(bands, list)
            and bands
            and all(isinstance(b, int) and not isinstance(b, bool) for b in bands)
        ):
            raise ScenarioError(f"{where}: sub_bands must be a list of sub-band numbers 1..8")
        spec.sub_bands = list(bands)
    try:
        spec.plan()
    except PlanError as exc:
        raise ScenarioError(f"{where}: sub_bands: {exc}") from None


def _nodes(entry, where, radio=None):
    _table(entry, where)
    _known(entry, _NODE_KEYS, where)
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ScenarioError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = _str(entry.get("name", kind), where, "name")
    where = f"{where} ({name})"
    position = _position(entry, where)
    count = _int(entry.get("count", 1), where, "count")
    if not 1 <= count <= 100_000:
        raise ScenarioError(f"{where}: count must be 1..100000")
    step = _points([entry.get("step", [10, 0])], where, "step")[0]
    board = _str(entry.get("board", setups.FIELD_GRADE[kind]), where, "board")
    try:
        setup = setups.get(board, kind)
    except setups.SetupError as exc:
        raise ScenarioError(f"{where}: board {exc}") from None
    settings = entry.get("settings", {})
    _table(settings, f"{where} settings")
    if "region" in settings and settings["region"] != (radio or {}).get("region", "EU868"):
        raise ScenarioError(f"{where}: settings: region is the field's ([field] region)")
    try:  # the device's own check (lorafield_node.deploy), as `lorafield deploy` runs it
        check_settings(kind, dict(radio or {}, **dict(setup.settings, **settings)))
    except ConfigError as exc:
        raise ScenarioError(f"{where}: settings: {exc}") from None
    scenario = {k: entry[k] for k in _SCENARIO_KEYS if k in entry}
    _check_world(kind, scenario, where)
    start_s = _number(entry.get("start_s", 0), where, "start_s", 0, 1e9)
    runtime = entry.get("runtime", "cpython")
    if runtime not in RUNTIMES:
        raise ScenarioError(
            f"{where}: runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}"
        )
    cycles = []
    for cycle in _list(entry.get("power_cycle", []), where, "power_cycle"):
        if not (isinstance(cycle, list) and len(cycle) == 2):
            raise ScenarioError(f"{where}: power_cycle entries must be [at_s, off_s]")
        cycles.append(
            (
                _number(cycle[0], where, "power_cycle at_s", 0, 1e9),
                _number(cycle[1], where, "power_cycle off_s", 0.001, 1e9),
            )
        )
    out = []
    for i in range(count):
        out.append(
            NodeSpec(
                name if count == 1 else f"{name}-{i + 1}",
                kind,
                (position[0] + step[0] * i, position[1] + step[1] * i),
                board=board,
                settings=dict(settings),
                scenario=dict(scenario),
                start_s=start_s + (1.7 * i if count > 1 else 0.0),
                power_cycles=list(cycles),
                runtime=runtime,
            )
        )
    return out


def _check_world(kind, scenario, where):
    allowed = {
        "parking": {"events", "arrivals_per_hour", "mean_stay_min"},
        "water_level": {"mount_height_mm", "base_level_mm", "floods"},
        "temperature": {"mean_c", "amplitude_c", "peak_hour"},
    }[kind]
    for key in scenario:
        if key not in allowed:
            raise ScenarioError(f"{where}: {key} does not apply to a {kind} node")
        if key == "events":
            events = scenario[key]
            if not isinstance(events, list) or not all(
                isinstance(e, list) and len(e) == 2 and e[1] in ("arrive", "depart") for e in events
            ):
                raise ScenarioError(f'{where}: events must be [[t_s, "arrive"|"depart"], ...]')
            expected = "arrive"
            for t, what in sorted(events, key=lambda e: e[0]):
                _number(t, where, "events time", 0, 1e9)
                if what != expected:
                    raise ScenarioError(f"{where}: events must alternate, starting with arrive")
                expected = "depart" if what == "arrive" else "arrive"
        elif key == "floods":
            floods = scenario[key]
            if not isinstance(floods, list) or not all(
                isinstance(f, list) and len(f) == 4 for f in floods
            ):
                raise ScenarioError(
                    f"{where}: floods must be [[start_s, rise_s, peak_mm, fall_s], ...]"
                )
            for start, rise, peak, fall in floods:
                _number(start, where, "flood start_s", 0, 1e9)
                _number(rise, where, "flood rise_s", 1, 1e9)
                _number(peak, where, "flood peak_mm", 0, 1e5)
                _number(fall, where, "flood fall_s", 1, 1e9)
        else:
            _number(scenario[key], where, key, -1e6, 1e6)


def _check_config(config, where):
    import lorafield_codec

    try:
        lorafield_codec.encode("config", config)
    except lorafield_codec.CodecError as exc:
        raise ScenarioError(f"{where}: config is not a valid config command ({exc})") from None


def _table(value, where):
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: must be a table")


def _list(value, where, key):
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: {key} must be a list")
    return value


def _known(table, keys, where):
    unknown = set(table) - keys
    if unknown:
        raise ScenarioError(f"{where}: unknown key {sorted(unknown)[0]!r}")


def _str(value, where, key):
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{where}: {key} must be a non-empty string")
    return value


def _int(value, where, key):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: {key} must be an integer, got {value!r}")
    return value


def _number(value, where, key, low, high):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ScenarioError(f"{where}: {key} must be in {low:g}..{high:g}, got {value!r}")
    return float(value)


def _points(value, where, key):
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"{where}: {key} must be a list of [x, y] points in metres")
    out = []
    for point in value:
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        ):
            raise ScenarioError(f"{where}: {key} must be a list of [x, y] points in metres")
        out.append((float(point[0]), float(point[1])))
    return out


def _position(entry, where):
    if "position" not in entry:
        raise ScenarioError(f"{where}: position is missing ([x, y] in metres)")
    return _points([entry["position"]], where, "position")[0]


# -- writing a scenario and the shipped examples ---------------------------------------------
EXAMPLES_DIR = os.path.join(os.path.dirname(__file__), "examples")


def _plain(value):
    """Whole floats as ints, recursively (1800.0 -> 1800), for a readable file."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def scenario_toml(spec, comment=""):
    """SCENARIO.toml text that loads back to `spec` (one [[node]] table per node)."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    top = {"name": spec.name, "hours": spec.hours, "seed": spec.seed}
    if spec.region != "EU868":
        top["region"] = spec.region
    if spec.sub_bands:
        top["sub_bands"] = list(spec.sub_bands)
    top.update(start_hour=spec.start_hour, path_loss=spec.path_loss)
    if spec.streets:
        top["streets"] = spec.streets
    if spec.river:
        top["river"] = spec.river
    lines += ["", "[field]"] + [f"{k} = {toml_value(_plain(v))}" for k, v in top.items()]
    for gateway in spec.gateways:
        lines += ["", "[[gateway]]", f"name = {toml_value(gateway.name)}"]
        lines.append(f"position = {toml_value(_plain(gateway.position))}")
        lines.append(f"id = {toml_value(gateway.gateway_id)}")
    for node in spec.nodes:
        table = {"kind": node.kind, "name": node.name, "position": node.position}
        table["board"] = node.board
        if node.settings:
            table["settings"] = node.settings
        table["start_s"] = node.start_s
        if node.power_cycles:
            table["power_cycle"] = node.power_cycles
        if node.runtime != "cpython":
            table["runtime"] = node.runtime
        table.update(node.scenario)
        lines += ["", "[[node]]"] + [f"{k} = {toml_value(_plain(v))}" for k, v in table.items()]
    for down in spec.downlinks:
        lines += ["", "[[downlink]]", f"node = {toml_value(down.node)}"]
        lines += [f"at_s = {toml_value(_plain(down.at_s))}", f"config = {toml_value(down.config)}"]
    return "\n".join(lines).lstrip("\n") + "\n"


TOWN_COMMENT = """The demo town: what `lorafield demo` runs (`lorafield emulate town`).
Written by lorafield_tools.field.spec.scenario_toml(default_town()); a test keeps it so."""


def examples():
    """{name: (path, first comment line)} of the scenarios shipped with lorafield."""
    out = {}
    for entry in sorted(os.listdir(EXAMPLES_DIR)):
        if entry.endswith(".toml"):
            path = os.path.join(EXAMPLES_DIR, entry)
            with open(path, encoding="utf-8") as handle:
                first = handle.readline().lstrip("#").strip()
            out[entry[: -len(".toml")]] = (path, first)
    return out
