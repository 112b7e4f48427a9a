"""A thin ChirpStack v4 gRPC client over the `chirpstack-api` stubs.

Every call carries the API key as `authorization: Bearer <key>` metadata (what ChirpStack's API
expects) and a deadline; every gRPC failure becomes a `ChirpstackError` with one line that says
what was being done and the status (the key itself never appears in it).
"""

import grpc
from chirpstack_api.api import (
    application_pb2_grpc,
    device_pb2_grpc,
    device_profile_pb2_grpc,
)


class ChirpstackError(Exception):
    """One-line failure talking to ChirpStack (`code` is the grpc.StatusCode or None)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class NotFound(ChirpstackError):
    """NOT_FOUND: callers that probe for existence catch this one."""


def _one_line(text, secret):
    text = " ".join(str(text or "").split())
    if secret:
        text = text.replace(secret, "***")
    return text[:200]


class ChirpstackClient:
    def __init__(self, server, api_key, tls=False, ca_file=None, timeout_s=10.0):
        if not api_key:
            raise ChirpstackError("the API key is empty")
        self.server = server
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._metadata = (("authorization", "Bearer " + api_key),)
        if tls or ca_file:
            roots = None
            if ca_file:
                try:
                    with open(ca_file, "rb") as handle:
                        roots = handle.read()
                except OSError as exc:
                    raise ChirpstackError(
                        f"cannot read CA file {ca_file} ({exc.strerror})"
                    ) from None
            self._channel = grpc.secure_channel(server, grpc.ssl_channel_credentials(roots))
        else:
            self._channel = grpc.insecure_channel(server)
        self.profiles = device_profile_pb2_grpc.DeviceProfileServiceStub(self._channel)
        self.applications = application_pb2_grpc.ApplicationServiceStub(self._channel)
        self.devices = device_pb2_grpc.DeviceServiceStub(self._channel)

    def call(self, method, request, what):
        """`method(request)` with auth and deadline; `what` names the action for errors."""
        try:
            return method(request, metadata=self._metadata, timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise self._error(exc, what) from None

    def _error(self, exc, what):
        code = exc.code() if hasattr(exc, "code") else None
        details = _one_line(exc.details() if hasattr(exc, "details") else exc, self._api_key)
        name = code.name if code is not None else "ERROR"
        status = f"{name}: {details}" if details else name
        if code == grpc.StatusCode.UNAUTHENTICATED:
            text = f"ChirpStack refused the API key ({status}); check --api-key-file"
        elif code == grpc.StatusCode.PERMISSION_DENIED:
            text = f"{what}: the API key is not allowed to ({status})"
        elif code == grpc.StatusCode.NOT_FOUND:
            return NotFound(f"{what}: not found ({status})", code)
        elif code == grpc.StatusCode.ALREADY_EXISTS:
            text = (
                f"{what}: already exists in ChirpStack ({status}); "
                "it may belong to another application or tenant"
            )
        elif code == grpc.StatusCode.UNAVAILABLE:
            text = f"cannot reach ChirpStack at {self.server} ({status})"
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
            text = f"{what}: no answer from ChirpStack at {self.server} in {self.timeout_s:g} s"
        else:
            text = f"{what}: {status}"
        return ChirpstackError(text, code)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
