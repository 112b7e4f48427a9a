"""`lorafield sensorthings sync` and `push` against a real SensorThings server we did not
write (django-ogc-sensorthings on SQLite, its own process), read back with the FROST
project's Python client (frost-sta-client), value by value against the network server's
database (our own SQL, not the mapping module); a server outage loses nothing and a lost
answer duplicates nothing."""

import datetime
import json
import sqlite3

import frost_sta_client as fsc
import pytest
from lorafield_gateway.fleet import load_fleet
from lorafield_tools.cli import main
from sta_helpers import QUANTITY_FIELDS

# frost-sta-client's furl calls a deprecated API on every request
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:furl")


def cli(capsys, *argv):
    status = main(["sensorthings", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def expected_observations(db_path):
    """{(dev_eui, quantity, phenomenon µs): result} from the readings table."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT time_us, dev_eui, kind, data FROM readings WHERE error IS NULL"
    ).fetchall()
    db.close()
    out = {}
    for t, eui, kind, data in rows:
        data = json.loads(data)
        for quantity, name in QUANTITY_FIELDS.get(kind, ()):
            if name in data:
                out[(eui, quantity, t)] = data[name]
        if kind == "water_level":
            levels = [data["level_mm"]] if "level_mm" in data else data["levels_mm"]
            step = data.get("interval_s", 0) * 1_000_000
            for i, level in enumerate(levels):
                out[(eui, "water_level", t - (len(levels) - 1 - i) * step)] = level
    return out


def _us(text):
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1_000_000)


def on_server(url):
    """{(dev_eui, quantity, phenomenon µs): result} and the list of keys, through FROST's
    client. The time is the one in `lorafield_key` (µs), checked against phenomenonTime to
    the server's precision (this server keeps whole seconds)."""
    service = fsc.SensorThingsService(url)
    values, keys = {}, []
    for ds in service.datastreams().query().list():
        eui, quantity = ds.properties["dev_eui"], ds.properties["quantity"]
        for obs in ds.get_observations().query().list():
            key = obs.parameters["lorafield_key"]
            key_eui, key_quantity, t = key.split("/")
            assert (key_eui, key_quantity) == (eui, quantity)
            assert _us(obs.phenomenon_time) // 1_000_000 == int(t) // 1_000_000
            values[(eui, quantity, int(t))] = obs.result
            keys.append(key)
    return values, keys


def test_sync_creates_the_fleet_once_and_the_dry_run_nothing(sta_server, field, capsys):
    db, fleet = field
    status, out, _ = cli(
        capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet), "--dry-run"
    )
    assert status == 0 and "would create Thing 'bay-1'" in out
    service = fsc.SensorThingsService(sta_server.url)
    assert list(service.things().query().list()) == []
    status, out, err = cli(capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet))
    assert status == 0 and out.strip().endswith("change(s) done"), err
    status, out, _ = cli(capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet))
    assert (status, out) == (0, "6 devices: nothing to change\n")
    devices = {d.dev_eui_hex: d for d in load_fleet(fleet).devices}
    things = list(service.things().query().expand("Locations,Datastreams").list())
    assert {t.properties["dev_eui"] for t in things} == set(devices)
    for thing in things:
        device = devices[thing.properties["dev_eui"]]
        assert thing.name == device.name and thing.properties["kind"] == device.kind
        (loc,) = thing.locations
        lon, lat = loc.location["coordinates"]
        assert (lat, lon) == (device.location["lat"], device.location["lon"])
        quantities = {d.properties["quantity"] for d in thing.datastreams}
        assert "battery_voltage" in quantities and len(quantities) >= 2
    props = list(service.observed_properties().query().list())
    assert len({p.definition for p in props}) == len(props)  # shared, not one per Datastream


def test_push_delivers_every_reading_value_by_value(sta_server, field, capsys):
    db, fleet = field
    assert cli(capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet))[0] == 0
    outbox = db.parent / "outbox-1.sqlite3"
    status, out, err = cli(
        capsys, "push", "--url", sta_server.url, "--db", str(db), "--outbox", str(outbox)
    )
    assert status == 0, err
    expected = expected_observations(db)
    values, keys = on_server(sta_server.url)
    assert values == expected and len(keys) == len(set(keys)) == len(expected)
    assert f"delivered {len(expected)}," in out and "in the outbox 0" in out
    # a second push finds nothing new
    status, out, _ = cli(
        capsys, "push", "--url", sta_server.url, "--db", str(db), "--outbox", str(outbox)
    )
    assert out.startswith("queued 0, delivered 0,")
    assert len(on_server(sta_server.url)[1]) == len(expected)


def test_an_outage_loses_nothing_and_what_left_is_not_queued_again(sta_server, field, capsys):
    db, fleet = field
    assert cli(capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet))[0] == 0
    outbox = db.parent / "outbox-2.sqlite3"
    push = ("push", "--url", sta_server.url, "--db", str(db), "--outbox", str(outbox))
    sta_server.stop()
    status, _, err = cli(capsys, *push)
    assert status == 1 and "server unavailable" in err and "Traceback" not in err
    expected = expected_observations(db)
    waiting = sqlite3.connect(outbox).execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert waiting == len(expected)
    sta_server.start()
    status, out, _ = cli(capsys, *push)
    assert status == 0 and f"delivered {len(expected)}," in out
    values, keys = on_server(sta_server.url)
    assert values == expected and len(keys) == len(set(keys))
    # What the outbox delivered is remembered: queued again, it is not sent again.
    from lorafield_gateway.lns.sqlite_store import connect
    from lorafield_gateway.sensorthings.lns_source import new_observations
    from lorafield_gateway.sensorthings.outbox import Outbox

    again = Outbox(str(outbox))
    items, _ = new_observations(connect(str(db), readonly=True), 0)
    assert again.add(items) == 0 and again.waiting() == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sync", "--url", "ftp://x", "--fleet", "f.toml"), "not an http(s) URL"),
        (("sync", "--url", "http://127.0.0.1:9/sta", "--fleet", "none.toml"), "none.toml"),
        (("push", "--url", "http://127.0.0.1:9/sta", "--db", "none.sqlite3"), "none.sqlite3"),
        (("sync", "--url", "http://127.0.0.1:9/sta", "--fleet", "FLEET"), "server unavailable"),
    ],
)
def test_user_errors_are_one_line(field, capsys, argv, message):
    argv = [str(field[1]) if a == "FLEET" else a for a in argv]
    status, _, err = cli(capsys, *argv)
    assert status in (1, 2) and message in err and len(err.strip().splitlines()) == 1


class FlakyClient:
    """The real client, but the `fail_at`-th batch fails: before it reaches the server
    (`lost="request"`: the server is gone) or after the server stored it (`lost="answer"`:
    the answer never came back)."""

    def __init__(self, url, fail_at, lost):
        from lorafield_gateway.sensorthings.client import StaClient

        self.real = StaClient(url)
        self.fail_at, self.lost, self.calls = fail_at, lost, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def create_observations(self, groups):
        from lorafield_gateway.sensorthings.client import StaUnavailable

        self.calls += 1
        if self.calls == self.fail_at:
            if self.lost == "answer":
                self.real.create_observations(groups)
            raise StaUnavailable(f"injected: the {self.lost} was lost")
        return self.real.create_observations(groups)


@pytest.mark.parametrize("lost", ["request", "answer"])
def test_a_failure_in_the_middle_of_a_delivery(sta_server, field, tmp_path, lost, capsys):
    from lorafield_gateway.lns.sqlite_store import connect
    from lorafield_gateway.sensorthings.client import StaUnavailable
    from lorafield_gateway.sensorthings.lns_source import new_observations
    from lorafield_gateway.sensorthings.outbox import Outbox
    from lorafield_gateway.sensorthings.sync import datastream_ids

    db, fleet = field
    assert cli(capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet))[0] == 0
    outbox = Outbox(str(tmp_path / "outbox.sqlite3"))
    items, _ = new_observations(connect(str(db), readonly=True), 0)
    outbox.add(items)
    client = FlakyClient(sta_server.url, 3, lost)
    ids = datastream_ids(client.real)
    with pytest.raises(StaUnavailable):
        outbox.deliver(client, ids, batch=20)
    assert outbox.waiting() > 0
    stats = outbox.deliver(client, ids, batch=20)
    assert outbox.waiting() == 0 and stats["rejected"] == 0
    assert (stats["already"] > 0) == (lost == "answer")
    values, keys = on_server(sta_server.url)
    assert values == expected_observations(db) and len(keys) == len(set(keys))


def test_a_backlog_pushed_twice_is_on_the_server_once(sta_server, field, tmp_path, capsys):
    db, fleet = field
    assert cli(capsys, "sync", "--url", sta_server.url, "--fleet", str(fleet))[0] == 0
    expected = expected_observations(db)
    for outbox in ("a.sqlite3", "a.sqlite3", "b.sqlite3"):  # the same outbox, then a new one
        argv = ("push", "--url", sta_server.url, "--db", str(db), "--since", "0")
        status, out, err = cli(capsys, *argv, "--outbox", str(tmp_path / outbox))
        assert status == 0, err
    assert "already on the server" in out and f"already on the server {len(expected)}" in out
    values, keys = on_server(sta_server.url)
    assert values == expected and len(keys) == len(set(keys))


def test_one_deliverer_per_outbox(field, tmp_path, capsys):
    from lorafield_gateway.sensorthings.outbox import deliverer_lock

    db, _ = field
    held = deliverer_lock(str(tmp_path / "box.sqlite3"))
    try:
        argv = ("push", "--url", "http://127.0.0.1:9/sta", "--db", str(db))
        status, _, err = cli(capsys, *argv, "--outbox", str(tmp_path / "box.sqlite3"))
        assert status == 2 and "in use by another lorafield process" in err
    finally:
        held.close()
