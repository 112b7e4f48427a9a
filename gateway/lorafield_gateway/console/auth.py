"""The console's token: one secret per console, in a file only its owner can read.

Generated on first start (32 random bytes, URL-safe text) and kept in a file of mode 0600; a
file that group or others can read is refused, as ssh refuses such a key. A person signs in
once with it (the session cookie is an HMAC of the token, so changing the token ends every
session); a program sends it as `Authorization: Bearer ...`. Every comparison is
constant-time (hmac.compare_digest). The token is never logged or printed: the console says
where the file is.
"""

import hashlib
import hmac
import ipaddress
import os
import secrets
import stat

from .errors import ConsoleError

TOKEN_BYTES = 32
COOKIE = "lorafield_console"


def is_loopback(host):
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_or_create_token(path):
    """The token in `path`, created (0600) if there is none; ConsoleError if it cannot be
    used (a console without its token does not start)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.exists(path):
            os.makedirs(directory, exist_ok=True)
            token = secrets.token_urlsafe(TOKEN_BYTES)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(token + "\n")
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConsoleError(
                f"token file {path}: readable by others (mode {stat.S_IMODE(mode):o}); "
                f"chmod 600 {path}"
            )
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise ConsoleError(f"token file {path}: {exc.strerror}") from None
    if len(token) < 16:
        raise ConsoleError(f"token file {path}: too short (16 characters at least)")
    return token


class Guard:
    """Checks a request's credentials against the token: bearer header, session cookie or
    a form's token field; and the forms' CSRF field."""

    def __init__(self, token):
        self._token = token.encode()
        self._session = hmac.new(self._token, b"session", hashlib.sha256).hexdigest()
        self._csrf = hmac.new(self._token, b"csrf", hashlib.sha256).hexdigest()

    def token_ok(self, given):
        return bool(given) and hmac.compare_digest(given.encode(), self._token)

    def session_cookie(self):
        return self._session

    def session_ok(self, cookie_value):
        return _same(cookie_value, self._session)

    def csrf_token(self):
        return self._csrf

    def csrf_ok(self, given):
        return _same(given, self._csrf)


def _same(given, expected):
    """Constant-time, and as bytes: compare_digest refuses a str that is not ASCII."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
