"""The console as a WSGI application: routes, credentials, JSON and HTML responses.

Reads through `ReadModel` on one read-only SQLite connection per server thread; the one
write, a queued downlink, goes through `request_downlink` (what `lorafield lns queue`
does: same validation, a `requested` row the running server takes at its next call).

Credentials (auth.py): with `login_required` (any bind but loopback) every page and API call
needs the session cookie or `Authorization: Bearer TOKEN`; queueing a downlink needs them
always. Forms carry a CSRF field and the session cookie is SameSite=Strict; the JSON API
accepts a POST only with the bearer header (a browser never sends one by itself).
"""

import json
import logging
import mimetypes
import sqlite3
import threading
import time
from http import HTTPStatus
from importlib import resources
from urllib.parse import parse_qs, urlencode, urlsplit

from ..lns import LnsError
from ..lns.sqlite_store import config_request, request_downlink
from . import pages
from .auth import COOKIE, Guard
from .errors import ConsoleError, Forbidden, MethodNotAllowed, NotFound, Unauthorized
from .readmodel import DAY_US, FleetInfo, ReadModel, check_eui, iso, open_db, parse_time

log = logging.getLogger("lorafield.console")

MAX_BODY = 16 * 1024
STATIC = ("console.css", "console.js")
EVENTS_MAX = 500


class Response:
    def __init__(self, status, body, content_type="text/html; charset=utf-8", headers=()):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = [("Content-Type", content_type), *headers]


def _json(data, status=200, headers=()):
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(status, text, "application/json; charset=utf-8", headers)


def _redirect(location, headers=()):
    return Response(303, "", "text/plain", [("Location", location), *headers])


class Request:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        self.api = self.path.startswith("/api/")
        self._form = None

    def header(self, name):
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), "")

    def cookie(self, name):
        for part in self.header("cookie").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return ""

    def bearer(self):
        scheme, _, value = self.header("authorization").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def body(self):
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ConsoleError("bad Content-Length") from None
        if length > MAX_BODY:
            raise ConsoleError(f"request body over {MAX_BODY} bytes")
        return self.environ["wsgi.input"].read(length) if length > 0 else b""

    def form(self):
        if self._form is None:
            try:
                text = self.body().decode("utf-8")
            except UnicodeDecodeError:
                raise ConsoleError("form is not UTF-8") from None
            self._form = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
        return self._form

    def same_origin(self):
        """A browser's POST names its origin; one from another site is refused (the CSRF
        field is checked as well: a client that sends no Origin still needs it)."""
        host = self.header("host")
        origin = self.header("origin")
        if origin:
            return origin != "null" and urlsplit(origin).netloc == host
        referer = self.header("referer")
        return not referer or urlsplit(referer).netloc == host


class ConsoleApp:
    def __init__(self, db_path, *, token, login_required=False, fleet_path="", tiles_url=""):
        self.db_path = db_path
        self.guard = Guard(token)
        self.login_required = login_required
        self.tiles_url = tiles_url
        self.fleet = FleetInfo.load(fleet_path)
        open_db(db_path).close()  # a database that cannot be read stops the start here
        self._local = threading.local()
        self._csp = _content_security_policy(tiles_url)

    # -- plumbing ---------------------------------------------------------------------------
    def model(self):
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = ReadModel(open_db(self.db_path), self.fleet)
        return model

    def __call__(self, environ, start_response):
        request = Request(environ)
        started = time.perf_counter()
        try:
            response = self.handle(request)
        except ConsoleError as exc:
            response = self._error(request, exc.status, str(exc))
        except sqlite3.OperationalError as exc:  # locked for longer than busy_timeout, ...
            log.warning("database: %s", exc)
            response = self._error(request, 503, f"database busy or unavailable ({exc})")
        except Exception:
            log.exception("console: %s %s failed", request.method, request.path)
            response = self._error(request, 500, "internal error (see the console's log)")
        headers = response.headers + [
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            # Not no-referrer: with it a browser's every form POST says `Origin: null`, which
            # same_origin() refuses; same-origin keeps the Origin (and Referer) on this site.
            ("Referrer-Policy", "same-origin"),
            ("Content-Security-Policy", self._csp),
            ("Content-Length", str(len(response.body))),
        ]
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, headers)
        log.debug(
            "%s %s %d %.1f ms",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return [response.body]

    def _error(self, request, status, message):
        if request.api:
            return _json({"error": message}, status)
        ctx = self._ctx(request, now=None)
        return Response(status, pages.layout(ctx, str(status), pages.error_page(status, message)))

    def signed_in(self, request):
        return self.guard.token_ok(request.bearer()) or self.guard.session_ok(
            request.cookie(COOKIE)
        )

    def _ctx(self, request, now=None, version=""):
        model_ok = True
        try:
            model = self.model()
            now = model.now_us() if now is None else now
            emulated = model.emulated()
        except (ConsoleError, sqlite3.Error):
            model_ok, emulated = False, False
        return {
            "now": iso(now) if model_ok and now else "—",
            "emulated": emulated,
            "version": version,
            "signed_in": self.signed_in(request),
            "csrf": self.guard.csrf_token(),
        }

    # -- routing ----------------------------------------------------------------------------
    def handle(self, request):
        path, method = request.path, request.method
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        if path == "/login":
            return self._login(request)
        if self.login_required and not self.signed_in(request):
            if request.api:
                raise Unauthorized("sign in: send Authorization: Bearer TOKEN")
            if method != "GET":
                raise Unauthorized("sign in first")
            return _redirect("/login?" + urlencode({"next": _local_path(request)}))
        if path == "/logout" and method == "POST":
            return self._logout(request)
        if request.api:
            return self._api(request)
        parts = [p for p in path.split("/") if p]
        if len(parts) == 3 and parts[0] == "devices" and parts[2] == "queue":
            if method == "POST":
                return self._queue_form(request, parts[1])
            # After a refused form the browser is here; its live refresh and reload land on
            # the device page.
            return _redirect(f"/devices/{check_eui(parts[1])}#downlinks")
        if method != "GET":
            raise MethodNotAllowed(f"{method} {path}: not allowed")
        if path == "/":
            return self._page(request, "Overview", "overview", self._overview_html)
        if path == "/map":
            return self._page(request, "Map", "map", self._map_html)
        if path == "/devices":
            return self._page(request, "Devices", "devices", self._devices_html)
        if len(parts) == 2 and parts[0] == "devices":
            return self._device_page(request, parts[1])
        if path == "/events":
            return self._page(request, "Events", "events", self._events_html)
        raise NotFound(f"{path}: no such page")

    def _page(self, request, title, active, render, after=""):
        model = self.model()
        version = model.version()  # before the reads: a change during them shows next time
        now = model.now_us()
        main = render(request, model, now)
        if request.header("x-console-partial"):
            return Response(200, main, headers=[("X-Console-Version", version)])
        ctx = self._ctx(request, now, version)
        ctx["after_main"] = after() if callable(after) else after
        return Response(200, pages.layout(ctx, title, main, active))

    def _overview_html(self, request, model, now):
        return pages.overview(model.overview(now))

    def _map_html(self, request, model, now):
        return pages.map_page(model.devices(now), self.tiles_url)

    def _devices_html(self, request, model, now):
        kind = request.query.get("kind") or None
        if kind is not None and kind not in pages.KIND_LABELS:
            raise ConsoleError(f"kind: must be one of {', '.join(pages.KIND_LABELS)}")
        return pages.devices_page(model.devices(now, kind), kind or "")

    def _events_html(self, request, model, now):
        kind, eui, before = _event_filters(request)
        data = model.events(kind, eui, before)
        return pages.events_page(data, model.event_kinds(), kind, eui, before)

    def _device_page(self, request, eui, form=None, status=200):
        eui = check_eui(eui)
        days = pages.RANGES.get(request.query.get("days", "1"))
        if days is None:
            raise ConsoleError(f"days: one of {', '.join(pages.RANGES)}")
        model = self.model()
        device = model.device(eui)  # NotFound for an unknown DevEUI

        def render(request, model, now):
            t0, t1 = pages.time_range(now, days)
            readings = model.readings(eui, t0 - DAY_US, t1 + 1, kind=device["kind"])
            status = model.readings(eui, t0, t1 + 1, kind="status")
            return pages.device_page(model.device(eui, now), readings, status, t0, t1, days)

        signed_in = self.signed_in(request)
        form = {**(form or {}), "csrf": self.guard.csrf_token(), "signed_in": signed_in}
        if "queued" in request.query:
            form.setdefault("queued", request.query["queued"])

        def after():
            return pages.device_queue(
                device, model.downlinks(eui), model.events(dev_eui=eui, limit=20)["events"], form
            )

        response = self._page(request, device["name"], "devices", render, after)
        response.status = status
        return response

    # -- writes -----------------------------------------------------------------------------
    def _queue(self, eui, config_text, confirmed):
        try:
            request = config_request(config_text, confirmed)
            return request_downlink(self.db_path, eui, request)
        except LnsError as exc:
            raise ConsoleError(str(exc)) from None
        except sqlite3.Error as exc:
            raise ConsoleError(f"database: {exc}") from None

    def _queue_form(self, request, eui):
        eui = check_eui(eui)
        form = request.form()
        if not request.same_origin() or not self.guard.csrf_ok(form.get("csrf", "")):
            raise Forbidden("form expired or from another site: reload the page and try again")
        if not (self.signed_in(request) or self.guard.token_ok(form.get("token", ""))):
            return self._device_page(
                request,
                eui,
                {"error": "wrong or missing token", "config": form.get("config", "")},
                401,
            )
        try:
            row = self._queue(eui, form.get("config", ""), form.get("confirmed") == "1")
        except NotFound:
            raise
        except ConsoleError as exc:
            return self._device_page(
                request, eui, {"error": str(exc), "config": form.get("config", "")}, 400
            )
        log.info("console: downlink #%d queued for %s", row, eui)
        return _redirect(f"/devices/{eui}?{urlencode({'queued': row})}#downlinks")

    def _login(self, request):
        next_path = request.query.get("next") or "/"
        if request.method == "POST":
            form = request.form()
            next_path = form.get("next") or "/"
            if not request.same_origin() or not self.guard.csrf_ok(form.get("csrf", "")):
                raise Forbidden("form expired or from another site: reload the page")
            if self.guard.token_ok(form.get("token", "")):
                cookie = (
                    f"{COOKIE}={self.guard.session_cookie()}; Path=/; HttpOnly; SameSite=Strict"
                )
                return _redirect(_safe_next(next_path), [("Set-Cookie", cookie)])
            error, status = "wrong token", 401
        elif request.method == "GET":
            error, status = None, 200
        else:
            raise MethodNotAllowed("/login: GET or POST")
        ctx = self._ctx(request)
        body = pages.login_page(error, _safe_next(next_path), self.guard.csrf_token())
        return Response(status, pages.layout(ctx, "Sign in", body))

    def _logout(self, request):
        if not self.guard.csrf_ok(request.form().get("csrf", "")):
            raise Forbidden("form expired: reload the page")
        cookie = f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        return _redirect("/login", [("Set-Cookie", cookie)])

    # -- the JSON API -----------------------------------------------------------------------
    def _api(self, request):
        model = self.model()
        parts = [p for p in request.path.split("/") if p][1:]
        method = request.method
        if parts and parts[0] == "devices" and len(parts) == 3 and parts[2] == "queue":
            if method != "POST":
                raise MethodNotAllowed(
                    'queue: POST a JSON object {"config": {...}, "confirmed": false}'
                )
            return self._api_queue(request, parts[1])
        if method != "GET":
            raise MethodNotAllowed(f"{method} {request.path}: not allowed")
        if parts == ["version"]:
            return _json({"version": model.version(), "now": iso(model.now_us())})
        if parts == ["overview"]:
            return _json(model.overview())
        if parts == ["gateways"]:
            return _json({"gateways": model.gateways()})
        if parts == ["devices"]:
            kind = request.query.get("kind") or None
            return _json({"devices": model.devices(kind=kind)})
        if parts and parts[0] == "devices" and len(parts) == 2:
            return _json(model.device(parts[1]))
        if parts and parts[0] == "devices" and len(parts) == 3 and parts[2] == "readings":
            return self._api_readings(request, model, parts[1])
        if parts and parts[0] == "devices" and len(parts) == 3 and parts[2] == "downlinks":
            model.device(parts[1])
            return _json({"downlinks": model.downlinks(parts[1])})
        if parts == ["events"]:
            kind, eui, before = _event_filters(request)
            limit = _int(request.query.get("limit", "50"), "limit", 1, EVENTS_MAX)
            return _json(model.events(kind, eui, before, limit))
        raise NotFound(f"{request.path}: no such API")

    def _api_readings(self, request, model, eui):
        now = model.now_us()
        q = request.query
        since = parse_time(q["since"], "since") if "since" in q else now - 7 * DAY_US
        until = parse_time(q["until"], "until") if "until" in q else None
        limit = _int(q.get("limit", "20000"), "limit", 1, 20000)
        readings = model.readings(eui, since, until, q.get("kind") or None, limit)
        body = {
            "dev_eui": check_eui(eui),
            "since": iso(since),
            "until": iso(until),
            "readings": readings,
        }
        if len(readings) == limit:  # more: the next call starts after the last one
            body["next_since"] = f"{(readings[-1]['time_us'] + 1) / 1e6:.6f}"
        return _json(body)

    def _api_queue(self, request, eui):
        eui = check_eui(eui)
        if not self.guard.token_ok(request.bearer()):
            raise Unauthorized("queueing a downlink needs Authorization: Bearer TOKEN")
        try:
            data = json.loads(request.body() or b"null")
        except ValueError as exc:
            raise ConsoleError(f"JSON is not valid: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            raise ConsoleError('body must be {"config": {...}, "confirmed": false}')
        self.model().device(eui)
        row = self._queue(eui, json.dumps(data["config"]), bool(data.get("confirmed")))
        log.info("console: downlink #%d queued for %s (API)", row, eui)
        return _json({"queued": row, "dev_eui": eui, "config": data["config"]}, 201)

    def _static(self, name):
        if name not in STATIC:
            raise NotFound(f"/static/{name}: no such file")
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        charset = (
            "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
        )
        return Response(200, body, kind + charset)


def _int(text, name, low, high):
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ConsoleError(f"{name}: must be an integer, got {str(text)[:20]!r}") from None
    if not low <= value <= high:
        raise ConsoleError(f"{name}: must be in {low}..{high}, got {value}")
    return value


def _event_filters(request):
    q = request.query
    eui = check_eui(q["dev_eui"]) if q.get("dev_eui") else None
    before = _int(q["before"], "before", 1, 2**62) if q.get("before") else None
    kind = q.get("kind") or None
    if kind is not None and (len(kind) > 40 or not kind.replace("_", "").isalnum()):
        raise ConsoleError(f"kind: not an event kind, got {kind[:40]!r}")
    return kind, eui, before


def _local_path(request):
    query = request.environ.get("QUERY_STRING", "")
    return request.path + ("?" + query if query else "")


def _safe_next(path):
    """Only a path on this console (no //host, no scheme): a sign-in cannot send anyone away."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _content_security_policy(tiles_url):
    images = "'self' data:"
    if tiles_url:
        parts = urlsplit(tiles_url.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
