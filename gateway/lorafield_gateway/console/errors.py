"""The console's errors: each becomes one line for a person (HTML) or {"error": ...} (JSON)."""


class ConsoleError(ValueError):
    """Bad input or an unusable database/configuration (HTTP 400, or exit 2 at start)."""

    status = 400


class NotFound(ConsoleError):
    status = 404


class Unauthorized(ConsoleError):
    status = 401


class Forbidden(ConsoleError):
    status = 403


class MethodNotAllowed(ConsoleError):
    status = 405
