"""What a person sees in a real browser (headless Chromium), against the real console.

Each figure on the page is compared with the truth read from the SQLite database here,
independently of the console's read model: the map's occupied bays, the points of a
device's charts, the `<script>` name shown as text, a downlink queued through the form (and
refused with a wrong token or a config `lorafield lns queue` refuses, with the same words),
the sign-in of a console bound off loopback, and a live update while an emulated field
runs. Screenshots of the overview, map, a water gauge's page and the events page go to
tests/console/screenshots/.

Skipped, saying why, without Chromium and chromedriver (browser.py; `.ci/run` installs them).
"""

import html
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import browser  # tests/console is on sys.path (conftest.py)
import pytest
from console_helpers import SCRIPT_NAME, token_of
from lorafield_tools.cli import main as lorafield

_REASON = browser.unavailable()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

from selenium.common.exceptions import NoAlertPresentException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DAY_US = 86_400_000_000


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    chrome = browser.chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.quit()


@pytest.fixture
def page(driver):
    """The module's browser with no cookie from an earlier test's console (cookies ignore
    the port: every console here is on 127.0.0.1)."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    return driver


# -- the truth, from SQLite ------------------------------------------------------------------


def _ro(path):
    return closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def _now_us(db):
    """The console's "now" for an emulated field's database: its newest frame."""
    return db.execute("SELECT max(last_us) FROM gateway_hours").fetchone()[0]


def _first_device(db, kind, exclude_name=None):
    row = db.execute(
        "SELECT dev_eui FROM devices WHERE kind=? AND name IS NOT ? ORDER BY dev_eui LIMIT 1",
        (kind, exclude_name),
    ).fetchone()
    assert row, f"no {kind} device in the field"
    return row[0]


def _newest(db, eui, kind):
    row = db.execute(
        "SELECT time_us, data FROM readings WHERE dev_eui=? AND kind=?"
        " ORDER BY time_us DESC, id DESC LIMIT 1",
        (eui, kind),
    ).fetchone()
    return (None, None) if row is None else (row[0], json.loads(row[1]))


def _bays_truth(path):
    """{dev_eui: "occupied" | "free"} of the field's parking bays, from each one's newest
    parking reading; asserts the premise that none is silent (so none is "unknown")."""
    with _ro(path) as db:
        now = _now_us(db)
        parking = [eui for (eui,) in db.execute("SELECT dev_eui FROM devices WHERE kind='parking'")]
        truth = {}
        for eui in parking:
            _, state = _newest(db, eui, "parking")
            assert state is not None, f"bay {eui} never sent a parking reading"
            truth[eui] = "occupied" if state["occupied"] else "free"
            heard = db.execute("SELECT max(time_us) FROM readings WHERE dev_eui=?", (eui,))
            _, status = _newest(db, eui, "status")
            interval_s = (status or {}).get("interval_s") or 3600
            quiet_s = (now - heard.fetchone()[0]) / 1e6
            assert quiet_s <= 2 * interval_s, f"premise: bay {eui} silent for {quiet_s:.0f} s"
    return truth


def _chart_truth(path, eui, kind):
    """How many points of `kind` the database holds for the last day before "now"."""
    with _ro(path) as db:
        now = _now_us(db)
        rows = db.execute(
            "SELECT time_us, data FROM readings WHERE dev_eui=? AND kind=?", (eui, kind)
        ).fetchall()
    since = now - DAY_US
    times = []
    for time_us, text in rows:
        data = json.loads(text)
        if kind == "temperature" or "level_mm" in data:
            times.append(time_us)
        else:  # a series: the last level at the reading's time, the others interval_s apart
            levels = data["levels_mm"]
            step = data["interval_s"] * 1_000_000
            times += [time_us - (len(levels) - 1 - i) * step for i in range(len(levels))]
    return sum(since <= t <= now for t in times)


def _downlinks(path):
    with _ro(path) as db:
        return db.execute(
            "SELECT id, dev_eui, status, confirmed, request FROM downlinks ORDER BY id"
        ).fetchall()


# -- the page --------------------------------------------------------------------------------


def _text(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).text.strip()


def _count(driver, selector):
    return len(driver.find_elements(By.CSS_SELECTOR, selector))


def _submit(driver, form):
    """Submit `form` and wait for the page it leads to."""
    old = driver.find_element(By.TAG_NAME, "html")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 15).until(EC.staleness_of(old))


def _queue_rows(driver):
    """The rows of the device page's downlink queue as lists of cell texts."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#downlinks table.queue tbody tr")
    cells = [[td.text.strip() for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return [c for c in cells if c != ["none"]]


def _queue_form(driver, config, token=None, confirmed=False):
    form = driver.find_element(By.CSS_SELECTOR, "#downlinks form.queue-form")
    area = form.find_element(By.NAME, "config")
    area.clear()
    area.send_keys(config)
    if confirmed:
        form.find_element(By.NAME, "confirmed").click()
    if token is not None:
        form.find_element(By.NAME, "token").send_keys(token)
    _submit(driver, form)


def _no_alert(driver):
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 (the property raises when there is no alert)


# -- the tests -------------------------------------------------------------------------------


def test_map_shows_the_occupied_bays(page, field_db, console_factory):
    db, fleet = field_db
    truth = _bays_truth(db)
    occupied = sum(state == "occupied" for state in truth.values())
    assert 0 < occupied < len(truth), "premise: the field has occupied and free bays"
    console = console_factory(db, fleet)

    page.get(console.url + "map")

    assert _text(page, "#bays-occupied") == str(occupied)
    assert _text(page, "#bays-free") == str(len(truth) - occupied)
    assert _text(page, "#bays-unknown") == "0"
    assert _count(page, "svg.plan rect.bay.occupied") == occupied
    assert _count(page, "svg.plan rect.bay.free") == len(truth) - occupied
    assert _count(page, "svg.plan rect.bay.unknown") == 0
    # Each bay's colour is its own device's state (the fleet places every bay).
    shown = page.execute_script(
        "return Array.from(document.querySelectorAll('svg.plan rect.bay')).map(r =>"
        " [r.closest('[data-dev-eui]').dataset.devEui, r.dataset.state,"
        " r.classList.contains(r.dataset.state)])"
    )
    assert {eui: state for eui, state, _ in shown} == truth
    assert all(has_class for _, _, has_class in shown), "data-state differs from the class"
    browser.screenshot(page, "map")


@pytest.mark.parametrize(
    ("kind", "chart", "shot"),
    [("water_level", "water level", "device-water"), ("temperature", "temperature", None)],
)
def test_device_chart_has_the_stored_points(page, field_db, console_factory, kind, chart, shot):
    db, fleet = field_db
    with _ro(db) as con:
        eui = _first_device(con, kind, exclude_name=SCRIPT_NAME)
    expected = _chart_truth(db, eui, kind)
    assert expected > 0
    console = console_factory(db, fleet)

    page.get(f"{console.url}devices/{eui}?days=1")

    svg = page.find_element(By.CSS_SELECTOR, f'svg.chart[aria-label="{chart}"]')
    assert svg.get_attribute("data-points") == str(expected)
    assert len(svg.find_elements(By.CSS_SELECTOR, ".pt")) == expected
    if shot:
        browser.screenshot(page, shot)


def test_script_name_is_shown_as_text(page, field_db, console_factory):
    db, fleet = field_db
    with _ro(db) as con:
        (eui,) = con.execute("SELECT dev_eui FROM devices WHERE name=?", (SCRIPT_NAME,)).fetchone()
    console = console_factory(db, fleet)
    escaped = html.escape(SCRIPT_NAME)  # what the server must send: &lt;script&gt;...

    for path, selector in (
        (f"devices/{eui}", "main h1"),
        ("devices", f'table.devices a[href="/devices/{eui}"]'),
        (f"events?dev_eui={eui}", f'table.events a[href="/devices/{eui}"]'),
    ):
        page.get(console.url + path)
        shown = page.find_elements(By.CSS_SELECTOR, selector)
        assert shown, f"/{path}: no {selector}"
        assert all(SCRIPT_NAME in element.text for element in shown), f"/{path}"
        _no_alert(page)
        assert _count(page, "script:not([src])") == 0, f"/{path}: a script element from data"
        assert "&lt;script&gt;alert('x')&lt;/script&gt;" in page.page_source
        with urllib.request.urlopen(console.url + path, timeout=10) as response:
            sent = response.read().decode()
        assert escaped in sent and SCRIPT_NAME not in sent, f"/{path}: not escaped"
    page.get(f"{console.url}devices/{eui}")
    assert page.title.startswith(SCRIPT_NAME)


@pytest.fixture
def device_page(page, field_copy, console_factory):
    """A temperature device's page on a console of a database copy: (db, eui, console,
    downlinks rows before, queue rows shown before)."""
    db, fleet = field_copy
    with _ro(db) as con:
        eui = _first_device(con, "temperature")
    before = _downlinks(db)
    console = console_factory(db, fleet)
    page.get(f"{console.url}devices/{eui}")
    return db, eui, console, before, _queue_rows(page)


def test_queued_downlink_appears_in_the_queue(page, device_page):
    db, eui, console, before, rows = device_page

    _queue_form(page, '{"interval_s": 600}', token=token_of(console), confirmed=True)

    after = _downlinks(db)
    assert len(after) == len(before) + 1
    row_id, row_eui, status, confirmed, request = after[-1]
    assert (row_eui, status, confirmed) == (eui, "requested", 1)
    assert json.loads(request)["config"] == {"interval_s": 600}
    url = urlsplit(page.current_url)
    assert url.path == f"/devices/{eui}"
    assert parse_qs(url.query)["queued"] == [str(row_id)]
    assert f"#{row_id}" in _text(page, "#downlinks .ok")
    assert _count(page, "#downlinks .error") == 0
    newest, *older = _queue_rows(page)
    assert newest[:4] == [str(row_id), '{"interval_s": 600}', "yes", "requested"]
    assert older == rows[: len(older)]  # the queue shows the newest 20


def test_queue_refuses_a_wrong_token(page, device_page):
    db, eui, console, before, rows = device_page

    _queue_form(page, '{"interval_s": 600}', token="not-" + token_of(console))

    assert _text(page, "#downlinks .error") == "wrong or missing token"
    assert _count(page, "#downlinks .ok") == 0
    assert _queue_rows(page) == rows
    assert _downlinks(db) == before
    # What was typed is still there to correct.
    config = page.find_element(By.CSS_SELECTOR, "#downlinks textarea[name=config]")
    assert config.get_attribute("value") == '{"interval_s": 600}'


@pytest.mark.parametrize("config", ['{"interval_s": 0}', "interval 600", "[600]"])
def test_queue_shows_the_cli_error(page, field_copy, console_factory, capsys, config):
    db, fleet = field_copy
    with _ro(db) as con:
        eui = _first_device(con, "water_level")
    assert lorafield(["lns", "queue", eui, config, "--db", str(db)]) == 2
    cli_error = capsys.readouterr().err.strip()
    prefix = "lorafield lns queue: "
    assert cli_error.startswith(prefix), cli_error
    before = _downlinks(db)
    console = console_factory(db, fleet)
    page.get(f"{console.url}devices/{eui}")
    rows = _queue_rows(page)

    _queue_form(page, config, token=token_of(console))

    assert _text(page, "#downlinks .error") == cli_error.removeprefix(prefix)
    assert _count(page, "#downlinks .ok") == 0
    assert _queue_rows(page) == rows
    assert _downlinks(db) == before


def _api_status(url, token=None):
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_token_is_required_off_loopback(page, field_db, console_factory):
    db, fleet = field_db
    console = console_factory(db, fleet, host="0.0.0.0")
    assert console.login_required
    base = f"http://127.0.0.1:{console.port}/"
    token = token_of(console)

    page.get(base + "map")
    url = urlsplit(page.current_url)
    assert url.path == "/login"
    assert parse_qs(url.query)["next"] == ["/map"]
    assert _count(page, "#bays-occupied") == 0

    form = page.find_element(By.CSS_SELECTOR, "form.login")
    form.find_element(By.NAME, "token").send_keys(token[:-1])
    _submit(page, form)
    assert urlsplit(page.current_url).path == "/login"
    assert _text(page, "form.login .error") == "wrong token"
    assert _count(page, "#bays-occupied") == 0

    form = page.find_element(By.CSS_SELECTOR, "form.login")
    form.find_element(By.NAME, "token").send_keys(token)
    _submit(page, form)
    assert page.current_url == base + "map"  # back where the person was going
    assert _count(page, "#bays-occupied") == 1
    page.get(base)
    assert urlsplit(page.current_url).path == "/"
    assert _text(page, "main h1") == "Field overview"
    with _ro(db) as con:
        devices = con.execute("SELECT count(*) FROM devices").fetchone()[0]
    assert _text(page, "main .summary").startswith(f"{devices} devices")
    browser.screenshot(page, "overview")

    for path in ("api/devices", "api/version", "api/overview"):
        status, body = _api_status(base + path)
        assert status == 401 and "error" in body, path
        assert _api_status(base + path, token[:-1])[0] == 401, path
        status, body = _api_status(base + path, token)
        assert status == 200, path
    assert len(_api_status(base + "api/devices", token)[1]["devices"]) == devices


# -- a live update while an emulated field runs ------------------------------------------------

FIELD = ["demo", "--nodes", "24", "--hours", "48", "--quiet"]  # about 28 s here (2 cores)


def _readings(path):
    try:
        with _ro(path) as db:
            return db.execute("SELECT count(*) FROM readings").fetchone()[0]
    except sqlite3.OperationalError:  # not there yet, no such table yet
        return 0


@pytest.fixture
def running_field(tmp_path):
    """`lorafield demo` running in its own process, writing its database: (db path, process)
    once the database holds a few readings. Killed at teardown."""
    out = tmp_path / "live"
    log = (tmp_path / "field.log").open("wb")
    command = [sys.executable, "-m", "lorafield_tools", *FIELD, "--out", str(out)]
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    db = out / "lns.sqlite3"
    try:
        deadline = time.monotonic() + 60
        while _readings(db) < 20:
            assert process.poll() is None, (tmp_path / "field.log").read_text()
            assert time.monotonic() < deadline, "the field wrote no readings in 60 s"
            time.sleep(0.2)
        yield db, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        log.close()


def _newest_event(driver):
    return int(_text(driver, "main table.events tbody tr:first-child td:first-child"))


def test_live_update_while_the_field_runs(page, running_field, console_factory):
    db, process = running_field
    console = console_factory(db)
    page.get(console.url + "events")
    first = _newest_event(page)
    assert _text(page, "#live-status") == "live"
    assert page.find_element(By.ID, "live-status").get_attribute("data-updates") == "0"
    assert process.poll() is None, "premise: the field still runs when the page opens"
    started = time.monotonic()

    try:
        WebDriverWait(page, 30, poll_frequency=0.2).until(
            lambda d: int(d.find_element(By.ID, "live-status").get_attribute("data-updates")) >= 1
        )
    except TimeoutException:
        ended = "had ended" if process.poll() is not None else "was still running"
        pytest.fail(f"no live update in 30 s (the field {ended}; db has {_readings(db)} readings)")
    waited = time.monotonic() - started

    assert _newest_event(page) > first, "the page says it was refreshed but shows the same events"
    assert _text(page, "#live-status").startswith("updated")
    browser.screenshot(page, "events")
    print(f"live update {waited:.1f} s after the page opened")
