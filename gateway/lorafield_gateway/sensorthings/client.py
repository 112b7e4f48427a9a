"""A small OGC SensorThings API 1.1 client over HTTP (urllib: no dependency on the gateway).

`StaClient(url, auth)`: `get`, `list` (follows `@iot.nextLink` on the same server), `create`
(POST; returns the new entity's id from its Location header), `patch`, `create_observations`
(the Data Array extension's CreateObservations). Ids are the server's (integers on FROST,
strings elsewhere): `path(entity_set, id)` quotes them as the standard says.

Errors: `StaUnavailable` when the server cannot be reached, times out or answers 5xx (try
again later: nothing is lost), `StaRejected` for a 4xx (this request will never succeed: the
message has the server's reason, cut to one line), `StaError` (their base) for an answer that
is not what the standard says (no JSON, no Location). No credential is ever in a message.
"""

import base64
import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request


class StaError(Exception):
    """A SensorThings server's answer that cannot be used."""


class StaUnavailable(StaError):
    """Unreachable, timed out, or a 5xx: retry later."""


class StaRejected(StaError):
    """A 4xx: the request itself is refused."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def load_auth(path):
    """The Authorization header value from a file holding `user:password` (Basic) or
    `Bearer TOKEN`; refused when others may read the file."""
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except OSError as exc:
        raise StaError(f"auth file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StaError(f"auth file {path}: readable by others; chmod 600 {path}")
    if text.lower().startswith("bearer "):
        return "Bearer " + text[7:].strip()
    if ":" not in text:
        raise StaError(f"auth file {path}: must hold user:password or 'Bearer TOKEN'")
    return "Basic " + base64.b64encode(text.encode()).decode()


def path(entity_set, entity_id):
    if isinstance(entity_id, int):
        return f"{entity_set}({entity_id})"
    return f"{entity_set}('{str(entity_id).replace(chr(39), chr(39) * 2)}')"


def _one_line(text, limit=200):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class StaClient:
    def __init__(self, url, authorization=None, timeout=30):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise StaError(f"not an http(s) URL: {_one_line(url, 80)}")
        self.base = url.rstrip("/") + "/"
        self._netloc = parts.netloc
        self._authorization = authorization
        self.timeout = timeout

    def _request(self, method, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            detail = _one_line(exc.read()[:2000].decode("utf-8", "replace"))
            message = f"{method} {url.removeprefix(self.base)}: HTTP {exc.code} {detail}"
            if exc.code >= 500 or exc.code in (408, 429):
                raise StaUnavailable(message) from None
            raise StaRejected(message, exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StaUnavailable(f"{method} {url}: {_one_line(reason)}") from None

    def _json(self, raw, what):
        try:
            return json.loads(raw)
        except ValueError:
            raise StaError(f"{what}: the server's answer is not JSON") from None

    def get(self, resource, params=None):
        url = self.base + resource
        if params:
            url += "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        _, _, raw = self._request("GET", url)
        return self._json(raw, f"GET {resource}")

    def list(self, resource, params=None):
        """Every entity of a collection, page by page (`@iot.nextLink`)."""
        page = self.get(resource, params)
        while True:
            values = page.get("value") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise StaError(f"GET {resource}: no 'value' list in the answer")
            yield from values
            link = page.get("@iot.nextLink")
            if not link:
                return
            if urllib.parse.urlsplit(link).netloc != self._netloc:
                raise StaError(f"GET {resource}: nextLink to another server refused")
            _, _, raw = self._request("GET", link)
            page = self._json(raw, f"GET {resource}")

    def create(self, entity_set, body):
        """POST a new entity; returns its id."""
        _, headers, raw = self._request("POST", self.base + entity_set, body)
        location = headers.get("Location")
        if location:
            inside = location[location.rfind("(") + 1 : location.rfind(")")]
            return int(inside) if inside.isdigit() else inside.strip("'")
        entity = self._json(raw, f"POST {entity_set}")
        if isinstance(entity, dict) and "@iot.id" in entity:
            return entity["@iot.id"]
        raise StaError(f"POST {entity_set}: no Location and no @iot.id in the answer")

    def patch(self, entity_set, entity_id, body):
        self._request("PATCH", self.base + path(entity_set, entity_id), body)

    def create_observations(self, groups):
        """Data Array extension: `groups` [(datastream id, components, rows)]; returns the
        answer's list (one URL, or "error", per row)."""
        body = [
            {
                "Datastream": {"@iot.id": ds},
                "components": list(components),
                "dataArray@iot.count": len(rows),
                "dataArray": rows,
            }
            for ds, components, rows in groups
        ]
        _, _, raw = self._request("POST", self.base + "CreateObservations", body)
        answer = self._json(raw, "POST CreateObservations")
        if not isinstance(answer, list):
            raise StaError("POST CreateObservations: the answer is not a list")
        return answer

    def conformance(self):
        root = self.get("")
        return (root.get("serverSettings") or {}).get("conformance") or []
