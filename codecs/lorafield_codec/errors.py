"""The one error type of the codec (encode and decode)."""

# Reasons (the `reason` attribute): a short fixed vocabulary so callers can branch on it.
TRUNCATED = "truncated"
TRAILING = "trailing bytes"
WRONG_TYPE = "wrong type"
OUT_OF_RANGE = "out of range"
UNKNOWN_FPORT = "unknown fPort"
UNKNOWN_KIND = "unknown kind"
UNKNOWN_FIELD = "unknown field"
MISSING = "missing field"
CONFLICT = "conflicting fields"
TOO_DEEP = "nesting too deep"
NOT_CANONICAL = "not canonical"
UNSUPPORTED = "unsupported"
MALFORMED = "malformed"


class CodecError(ValueError):
    """Raised for every encode or decode failure.

    `reason` is one of the constants above; `field` names the offending field (or None).
    The message never contains payload secrets: only the reason, the field and a short detail.
    """

    def __init__(self, reason, field=None, detail=None):
        msg = reason
        if field is not None:
            msg = msg + ": " + str(field)
        if detail is not None:
            msg = msg + " (" + str(detail) + ")"
        super().__init__(msg)
        self.reason = reason
        self.field = field
        self.detail = detail
