"""The console's JSON API and pages over HTTP (waitress, a real socket), against a short
emulated field's database: what it returns is what SQLite holds (checked with our own SQL,
not the read model), bad input is one typed error, the token is needed where it must be, no
key is ever in a response, and the database is never written but for a queued downlink."""

import hashlib
import http.client
import json
import os
import sqlite3
import urllib.parse
from pathlib import Path

import pytest
from console_helpers import SCRIPT_NAME, token_of
from lorafield_gateway.console import ConsoleError
from lorafield_gateway.console.auth import load_or_create_token
from lorafield_tools.cli import main

DAY_US = 86_400_000_000


def request(console, method, path, body=None, headers=None):
    """(status, headers dict, body text) of one request to `console`."""
    conn = http.client.HTTPConnection("127.0.0.1", console.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def get_json(console, path, **headers):
    status, _, body = request(console, "GET", path, headers=headers)
    return status, json.loads(body)


def rows(db_path, sql, *args):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def newest_us(db_path):
    return rows(db_path, "SELECT max(last_us) FROM gateway_hours")[0][0]


@pytest.fixture
def served(field_db, console_factory):
    db, fleet = field_db
    return console_factory(db, fleet), db


def test_devices_are_what_the_database_holds(served):
    console, db = served
    status, body = get_json(console, "/api/devices")
    assert status == 200
    devices = {d["dev_eui"]: d for d in body["devices"]}
    stored = rows(db, "SELECT dev_eui, name, kind FROM devices")
    assert {e: (n, k) for e, n, k in stored} == {
        e: (d["name"], d["kind"]) for e, d in devices.items()
    }
    for eui, _name, kind in stored:
        (data,) = rows(
            db,
            "SELECT data FROM readings WHERE dev_eui=? AND kind=? ORDER BY time_us DESC LIMIT 1",
            eui,
            kind,
        )[0]
        assert devices[eui]["state"] == json.loads(data)
        newest = rows(db, "SELECT max(time_us) FROM frames WHERE dev_eui=?", eui)[0][0]
        assert devices[eui]["last_seen_us"] == newest
        assert devices[eui]["location"] is not None  # from the fleet file
    # A gauge reports its 15-min sampling interval and sends 4 samples an hour: silent after 2 h.
    gauges = [d for d in devices.values() if d["kind"] == "water_level"]
    assert gauges and {d["interval_s"] for d in gauges} == {3600}
    # Six hours of a field whose intervals are 15 min to 1 h: nobody is silent.
    assert [d["name"] for d in devices.values() if d["silent"]] == []
    parking = [d for d in devices.values() if d["kind"] == "parking"]
    occupied = sum(1 for d in parking if d["state"]["occupied"])
    status, overview = get_json(console, "/api/overview")
    assert overview["bays"] == {
        "free": len(parking) - occupied,
        "occupied": occupied,
        "unknown": 0,
    }
    assert overview["emulated"] is True and overview["devices"] == len(stored)


def test_a_device_week_of_readings_and_its_filters(served):
    console, db = served
    eui = rows(db, "SELECT dev_eui FROM devices WHERE kind='water_level' LIMIT 1")[0][0]
    since = (newest_us(db) - 7 * DAY_US) / 1e6
    status, body = get_json(console, f"/api/devices/{eui}/readings?since={since}")
    assert status == 200
    stored = rows(
        db, "SELECT time_us, kind, data FROM readings WHERE dev_eui=? ORDER BY time_us, id", eui
    )
    assert [(r["time_us"], r["kind"], r["data"]) for r in body["readings"]] == [
        (t, k, json.loads(d)) for t, k, d in stored
    ]
    status, body = get_json(console, f"/api/devices/{eui}/readings?since={since}&kind=status")
    assert {r["kind"] for r in body["readings"]} == {"status"}
    assert len(body["readings"]) == sum(1 for _, k, _ in stored if k == "status")
    # ISO 8601 too; `until` excludes; `limit` pages on with next_since
    middle = stored[len(stored) // 2][0]
    iso_middle = urllib.parse.quote("2026-01-01T00:00:00Z")
    status, body = get_json(console, f"/api/devices/{eui}/readings?since={iso_middle}&limit=3")
    assert len(body["readings"]) == 3 and "next_since" in body
    status, body = get_json(
        console, f"/api/devices/{eui}/readings?since=0&until={middle / 1e6:.6f}"
    )
    assert all(r["time_us"] < middle for r in body["readings"])


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/devices/70b3d57ed0ffffff/readings", 404, "unknown DevEUI 70b3d57ed0ffffff"),
        ("/api/devices/nothex/readings", 400, "DevEUI must be 16 hex digits"),
        ("/api/devices/70b3d57ed0000001/readings?since=yesterday", 400, "since: not a time"),
        ("/api/devices/70b3d57ed0000001/readings?kind=nope", 400, "kind: must be one of"),
        ("/api/devices/70b3d57ed0000001/readings?limit=0", 400, "limit: must be in 1..20000"),
        ("/api/devices/70b3d57ed0000001/readings?since=inf", 400, "since: out of range"),
        ("/api/devices/70b3d57ed0000001/readings?since=1e300", 400, "since: out of range"),
        ("/api/devices/70b3d57ed0000001/readings?until=nan", 400, "until: out of range"),
        ("/api/events?before=x", 400, "before: must be an integer"),
        ("/api/events?limit=100000", 400, "limit: must be in 1..500"),
        ("/api/events?kind=%3Cscript%3E", 400, "kind: not an event kind"),
        ("/api/nope", 404, "/api/nope: no such API"),
        ("/api/devices/70b3d57ed0000001/queue", 405, "queue: POST a JSON object"),
    ],
)
def test_bad_requests_get_one_typed_error(served, path, status, message):
    console, _ = served
    got, body = get_json(console, path)
    assert got == status and message in body["error"]
    assert "Traceback" not in body["error"]


def test_other_methods_are_not_allowed(served):
    console, _ = served
    for method, path in (("PUT", "/api/devices"), ("DELETE", "/"), ("PATCH", "/login")):
        status, _, body = request(console, method, path)
        assert status == 405 and ("not allowed" in body or "GET or POST" in body), method


def test_events_page_through_every_row_once(served):
    console, db = served
    seen = []
    path = "/api/events?kind=uplink&limit=7"
    while path:
        status, body = get_json(console, path)
        assert status == 200
        seen += [e["id"] for e in body["events"]]
        nxt = body["next_before"]
        path = f"/api/events?kind=uplink&limit=7&before={nxt}" if nxt else None
    stored = [r[0] for r in rows(db, "SELECT id FROM events WHERE kind='uplink' ORDER BY id DESC")]
    assert seen == stored and len(stored) > 7


def _secrets(db, fleet):
    keys = set()
    for nwk, app in rows(db, "SELECT nwk_s_key, app_s_key FROM sessions"):
        keys |= {nwk.lower(), app.lower()}
    for line in Path(fleet).read_text(encoding="utf-8").splitlines():
        if line.startswith("app_key"):
            keys.add(line.split('"')[1].lower())
    return keys


def test_no_key_or_token_in_any_page_or_response(served, field_db):
    console, db = served
    keys = _secrets(db, field_db[1])
    assert len(keys) > 20
    token = token_of(console)
    paths = ["/", "/map", "/devices", "/events", "/api/overview", "/api/devices", "/api/events"]
    paths += ["/api/gateways", "/api/version", "/login"]
    for (eui,) in rows(db, "SELECT dev_eui FROM devices"):
        paths += [f"/devices/{eui}", f"/devices/{eui}?days=30", f"/api/devices/{eui}"]
        paths += [f"/api/devices/{eui}/readings?since=0", f"/api/devices/{eui}/downlinks"]
    for path in paths:
        status, _, body = request(console, "GET", path)
        assert status == 200, path
        text = body.lower()
        assert [k for k in keys if k in text] == [], path
        assert token.lower() not in text, path


def test_the_console_never_writes_the_database(field_copy, console_factory):
    db, fleet = field_copy

    def digest():
        h = hashlib.sha256()
        for suffix in ("", "-wal"):
            if os.path.exists(f"{db}{suffix}"):
                h.update(Path(f"{db}{suffix}").read_bytes())
        return h.hexdigest()

    before = digest()
    console = console_factory(db, fleet)
    for path in ("/", "/map", "/devices", "/events", "/api/devices", "/api/overview"):
        assert request(console, "GET", path)[0] == 200
    assert digest() == before


def test_escaped_output_a_script_name_is_text(served, field_db):
    console, db = served
    (eui,) = rows(db, "SELECT dev_eui FROM devices WHERE name=?", SCRIPT_NAME)[0]
    for path in ("/devices", f"/devices/{eui}", f"/events?dev_eui={eui}", "/"):
        status, headers, body = request(console, "GET", path)
        assert status == 200
        if path != "/":
            assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body, path
        assert SCRIPT_NAME not in body, path
        # Every script is a file of the console's own, and the policy allows no other.
        assert body.count("<script") == 1 and '<script src="/static/console.js"' in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, body = get_json(console, f"/api/devices/{eui}")
    assert body["name"] == SCRIPT_NAME  # JSON carries it as data


def _queue_form(console, eui, fields, origin=True):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin:
        headers["Origin"] = f"http://127.0.0.1:{console.port}"
        headers["Host"] = f"127.0.0.1:{console.port}"
    return request(
        console, "POST", f"/devices/{eui}/queue", urllib.parse.urlencode(fields), headers
    )


def _csrf(console, eui):
    _, _, page = request(console, "GET", f"/devices/{eui}")
    start = page.index('name="csrf" value="') + len('name="csrf" value="')
    return page[start : page.index('"', start)]


def _requested(db):
    return rows(db, "SELECT dev_eui, request, status FROM downlinks")


def test_queueing_needs_the_token_even_on_localhost(field_copy, console_factory, capsys):
    db, fleet = field_copy
    console = console_factory(db, fleet)
    assert not console.login_required
    token = token_of(console)
    eui = rows(db, "SELECT dev_eui FROM devices WHERE kind='temperature' LIMIT 1")[0][0]
    body = json.dumps({"config": {"interval_s": 600}})
    api = f"/api/devices/{eui}/queue"
    assert request(console, "POST", api, body)[0] == 401
    assert request(console, "POST", api, body, {"Authorization": "Bearer wrong"})[0] == 401
    csrf = _csrf(console, eui)
    config = '{"interval_s": 600}'
    # a form without the CSRF field, or from another site, or without the token
    assert _queue_form(console, eui, {"config": config, "token": token})[0] == 403
    status, _, _ = request(
        console,
        "POST",
        f"/devices/{eui}/queue",
        urllib.parse.urlencode({"config": config, "token": token, "csrf": csrf}),
        {"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403
    status, _, page = _queue_form(console, eui, {"config": config, "csrf": csrf})
    assert status == 401 and "wrong or missing token" in page
    assert _requested(db) == []
    # the token, by API and by form
    status, _, reply = request(console, "POST", api, body, {"Authorization": f"Bearer {token}"})
    assert status == 201 and json.loads(reply)["config"] == {"interval_s": 600}
    status, headers, _ = _queue_form(
        console, eui, {"config": config, "csrf": csrf, "token": token, "confirmed": "1"}
    )
    assert status == 303 and headers["Location"].startswith(f"/devices/{eui}?queued=")
    stored = _requested(db)
    assert [(e, json.loads(r), s) for e, r, s in stored] == [
        (eui, {"config": {"interval_s": 600}, "confirmed": False}, "requested"),
        (eui, {"config": {"interval_s": 600}, "confirmed": True}, "requested"),
    ]
    _, page = get_json(console, f"/api/devices/{eui}/downlinks")
    assert [d["status"] for d in page["downlinks"]] == ["requested", "requested"]
    # the same validation as `lorafield lns queue`, word for word
    for bad in ('{"interval_s": 0}', "{not json", "[1]", '{"colour": 1}'):
        assert main(["lns", "queue", eui, bad, "--db", str(db)]) == 2
        cli_error = capsys.readouterr().err.strip().split(": ", 2)[-1]
        status, _, page = _queue_form(console, eui, {"config": bad, "csrf": csrf, "token": token})
        assert status == 400 and cli_error.replace("'", "&#x27;") in page.replace('"', "&quot;")
        status, _, reply = request(
            console,
            "POST",
            api,
            json.dumps({"config": json.loads(bad)}) if bad.startswith('{"') else bad,
            {"Authorization": f"Bearer {token}"},
        )
        assert status == 400 and "error" in json.loads(reply)
    assert len(_requested(db)) == 2


def test_any_other_bind_needs_the_token(field_db, console_factory):
    db, fleet = field_db
    console = console_factory(db, fleet, host="0.0.0.0")
    assert console.login_required
    token = token_of(console)
    status, headers, _ = request(console, "GET", "/map")
    assert status == 303 and headers["Location"] == "/login?next=%2Fmap"
    assert get_json(console, "/api/devices")[0] == 401
    assert get_json(console, "/api/devices", Authorization=f"Bearer {token}")[0] == 200
    # the sign-in form sets the session cookie, which then opens the pages
    _, _, page = request(console, "GET", "/login")
    start = page.index('name="csrf" value="') + len('name="csrf" value="')
    csrf = page[start : page.index('"', start)]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    wrong = urllib.parse.urlencode({"token": "x" * 43, "csrf": csrf, "next": "/map"})
    assert request(console, "POST", "/login", wrong, form)[0] == 401
    fields = urllib.parse.urlencode({"token": token, "csrf": csrf, "next": "//evil.example/"})
    status, headers, _ = request(console, "POST", "/login", fields, form)
    assert status == 303 and headers["Location"] == "/"  # never off-site
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    assert token not in headers["Set-Cookie"]
    assert request(console, "GET", "/map", headers={"Cookie": cookie})[0] == 200
    assert request(console, "GET", "/map", headers={"Cookie": cookie[:-2] + "00"})[0] == 303


def test_the_token_file(tmp_path):
    path = tmp_path / "state" / "console.token"
    token = load_or_create_token(str(path))
    assert os.stat(path).st_mode & 0o777 == 0o600 and len(token) >= 40
    assert load_or_create_token(str(path)) == token  # kept across starts
    os.chmod(path, 0o644)
    with pytest.raises(ConsoleError, match="readable by others"):
        load_or_create_token(str(path))


def test_the_command_line_refuses_what_it_cannot_serve(field_db, tmp_path, capsys):
    db, fleet = field_db
    loose = tmp_path / "loose.token"
    loose.write_text("a" * 40)
    os.chmod(loose, 0o644)
    cases = [
        (["--db", str(tmp_path / "none.sqlite3")], "no such database"),
        (["--db", str(db), "--port", "70000"], "must be 0..65535"),
        (["--db", str(db), "--host", "0.0.0.0", "--token-file", str(loose)], "readable by others"),
        (["--db", str(db), "--tiles", "ftp://x/{z}"], "--tiles: must be"),
        (["--db", str(db), "--fleet", str(tmp_path / "none.toml")], "fleet"),
        (["--config", str(tmp_path / "none.toml")], "none.toml"),
    ]
    for argv, message in cases:
        assert main(["console", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("lorafield console: ") and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1


def test_a_live_update_is_a_new_version_and_the_main_part(field_copy, console_factory):
    db, fleet = field_copy
    console = console_factory(db, fleet)
    _, first = get_json(console, "/api/version")
    status, headers, main_part = request(
        console, "GET", "/events", headers={"X-Console-Partial": "1"}
    )
    assert status == 200 and main_part.startswith("<h1>Events</h1>")
    assert headers["X-Console-Version"] == first["version"] and "<header>" not in main_part
    conn = sqlite3.connect(db)
    with conn:  # what the network server writes for a new uplink (its own SQL, one row)
        conn.execute(
            "INSERT INTO events (time_us, kind, dev_eui, reason, detail) VALUES"
            " (?, 'uplink', '70b3d57ed0000001', NULL, '{}')",
            (newest_us(db) + 1,),
        )
    conn.close()
    _, second = get_json(console, "/api/version")
    assert second["version"] != first["version"]


def test_only_pages_with_data_are_live(served):
    console, db = served
    eui = rows(db, "SELECT dev_eui FROM devices LIMIT 1")[0][0]
    for path in ("/", "/map", f"/devices/{eui}", "/events"):
        assert '<main id="live" data-version="' in request(console, "GET", path)[2], path
    for path in ("/login", "/nope"):  # nothing to refresh: no live region, no polling badge
        body = request(console, "GET", path)[2]
        assert 'id="live"' not in body and "live-status" not in body, path
    # where a refused queue form leaves the browser, a reload (or a live refresh) goes on
    status, headers, _ = request(console, "GET", f"/devices/{eui}/queue")
    assert status == 303 and headers["Location"] == f"/devices/{eui}#downlinks"


def test_credentials_that_are_not_ascii_are_wrong_not_a_crash(served):
    console, db = served
    eui = rows(db, "SELECT dev_eui FROM devices LIMIT 1")[0][0]
    cookie = {"Cookie": "lorafield_console=%C3%A9t%C3%A9; x=\u00e9"}
    assert request(console, "GET", "/", headers=cookie)[0] == 200
    fields = urllib.parse.urlencode({"config": "{}", "csrf": "été", "token": "été"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = request(console, "POST", f"/devices/{eui}/queue", fields, form)
    assert status == 403
    status, _, _ = request(
        console,
        "POST",
        f"/api/devices/{eui}/queue",
        "{}",
        {"Authorization": "Bearer \u00e9t\u00e9"},
    )
    assert status == 401
