"""An in-process ChirpStack v4 API for tests and `lorafield bench integration`.

The needed services from the chirpstack-api servicer base classes on a real grpc.server
(loopback, free port). It keeps state, checks the Bearer API key and records every call, so
tests can assert requests field by field and count writes. Not a ChirpStack: no network
server behind it, only the provisioning and status calls lorafield makes."""

import uuid
from concurrent import futures

import grpc
from chirpstack_api.api import (
    application_pb2,
    application_pb2_grpc,
    device_pb2,
    device_pb2_grpc,
    device_profile_pb2,
    device_profile_pb2_grpc,
)
from google.protobuf import empty_pb2

API_KEY = "test-api-key-0123456789abcdef"


def _copy(message):
    out = type(message)()
    out.CopyFrom(message)
    return out


class State:
    def __init__(self):
        self.calls = []  # (method, request copy)
        self.profiles = {}  # id -> DeviceProfile
        self.applications = {}  # id -> Application
        self.devices = {}  # dev_eui -> Device
        self.keys = {}  # dev_eui -> DeviceKeys
        self.activations = {}  # dev_eui -> DeviceActivation
        self.device_extra = {}  # dev_eui -> dict(last_seen_at=..., device_status=...)
        self.fail = {}  # method -> (StatusCode, details): injected errors

    def writes(self):
        return [(m, r) for m, r in self.calls if not m.split(".")[1].startswith(("Get", "List"))]

    def methods(self):
        return [m for m, _ in self.calls]


class _Base:
    service = ""

    def __init__(self, state):
        self.state = state

    def _enter(self, name, request, context):
        method = f"{self.service}.{name}"
        self.state.calls.append((method, _copy(request)))
        metadata = dict(context.invocation_metadata())
        if metadata.get("authorization") != "Bearer " + API_KEY:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")
        if method in self.state.fail:
            code, details = self.state.fail[method]
            context.abort(code, details)


class Profiles(_Base, device_profile_pb2_grpc.DeviceProfileServiceServicer):
    service = "DeviceProfileService"

    def Create(self, request, context):
        self._enter("Create", request, context)
        new_id = str(uuid.uuid4())
        profile = _copy(request.device_profile)
        profile.id = new_id
        self.state.profiles[new_id] = profile
        return device_profile_pb2.CreateDeviceProfileResponse(id=new_id)

    def Get(self, request, context):
        self._enter("Get", request, context)
        if request.id not in self.state.profiles:
            context.abort(grpc.StatusCode.NOT_FOUND, "Object does not exist")
        return device_profile_pb2.GetDeviceProfileResponse(
            device_profile=self.state.profiles[request.id]
        )

    def Update(self, request, context):
        self._enter("Update", request, context)
        if request.device_profile.id not in self.state.profiles:
            context.abort(grpc.StatusCode.NOT_FOUND, "Object does not exist")
        self.state.profiles[request.device_profile.id] = _copy(request.device_profile)
        return empty_pb2.Empty()

    def List(self, request, context):
        self._enter("List", request, context)
        items = [
            device_profile_pb2.DeviceProfileListItem(id=p.id, name=p.name)
            for p in self.state.profiles.values()
            if p.tenant_id == request.tenant_id and request.search.lower() in p.name.lower()
        ]
        return device_profile_pb2.ListDeviceProfilesResponse(total_count=len(items), result=items)


class Applications(_Base, application_pb2_grpc.ApplicationServiceServicer):
    service = "ApplicationService"

    def Create(self, request, context):
        self._enter("Create", request, context)
        new_id = str(uuid.uuid4())
        app = _copy(request.application)
        app.id = new_id
        self.state.applications[new_id] = app
        return application_pb2.CreateApplicationResponse(id=new_id)

    def Get(self, request, context):
        self._enter("Get", request, context)
        if request.id not in self.state.applications:
            context.abort(grpc.StatusCode.NOT_FOUND, "Object does not exist")
        return application_pb2.GetApplicationResponse(
            application=self.state.applications[request.id]
        )

    def List(self, request, context):
        self._enter("List", request, context)
        items = [
            application_pb2.ApplicationListItem(id=a.id, name=a.name)
            for a in self.state.applications.values()
            if a.tenant_id == request.tenant_id and request.search.lower() in a.name.lower()
        ]
        return application_pb2.ListApplicationsResponse(total_count=len(items), result=items)


class Devices(_Base, device_pb2_grpc.DeviceServiceServicer):
    service = "DeviceService"

    def _device(self, dev_eui, context):
        if dev_eui not in self.state.devices:
            context.abort(grpc.StatusCode.NOT_FOUND, "Object does not exist")
        return self.state.devices[dev_eui]

    def Create(self, request, context):
        self._enter("Create", request, context)
        eui = request.device.dev_eui
        if eui in self.state.devices:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "Object already exists")
        if request.device.application_id not in self.state.applications:
            context.abort(grpc.StatusCode.NOT_FOUND, "application does not exist")
        self.state.devices[eui] = _copy(request.device)
        return empty_pb2.Empty()

    def Get(self, request, context):
        self._enter("Get", request, context)
        device = self._device(request.dev_eui, context)
        extra = self.state.device_extra.get(request.dev_eui, {})
        return device_pb2.GetDeviceResponse(device=device, **extra)

    def Update(self, request, context):
        self._enter("Update", request, context)
        self._device(request.device.dev_eui, context)
        self.state.devices[request.device.dev_eui] = _copy(request.device)
        return empty_pb2.Empty()

    def CreateKeys(self, request, context):
        self._enter("CreateKeys", request, context)
        eui = request.device_keys.dev_eui
        self._device(eui, context)
        if eui in self.state.keys:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "Object already exists")
        self.state.keys[eui] = _copy(request.device_keys)
        return empty_pb2.Empty()

    def GetKeys(self, request, context):
        self._enter("GetKeys", request, context)
        if request.dev_eui not in self.state.keys:
            context.abort(grpc.StatusCode.NOT_FOUND, "Object does not exist")
        return device_pb2.GetDeviceKeysResponse(device_keys=self.state.keys[request.dev_eui])

    def UpdateKeys(self, request, context):
        self._enter("UpdateKeys", request, context)
        if request.device_keys.dev_eui not in self.state.keys:
            context.abort(grpc.StatusCode.NOT_FOUND, "Object does not exist")
        self.state.keys[request.device_keys.dev_eui] = _copy(request.device_keys)
        return empty_pb2.Empty()

    def Activate(self, request, context):
        self._enter("Activate", request, context)
        eui = request.device_activation.dev_eui
        self._device(eui, context)
        self.state.activations[eui] = _copy(request.device_activation)
        return empty_pb2.Empty()

    def GetActivation(self, request, context):
        self._enter("GetActivation", request, context)
        self._device(request.dev_eui, context)
        if request.dev_eui not in self.state.activations:
            return device_pb2.GetDeviceActivationResponse()  # not activated (yet)
        return device_pb2.GetDeviceActivationResponse(
            device_activation=self.state.activations[request.dev_eui]
        )


class FakeChirpstack:
    """`with FakeChirpstack() as cs:` -> cs.address ('127.0.0.1:PORT'), cs.state."""

    def __init__(self, credentials=None):
        self.state = State()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        device_profile_pb2_grpc.add_DeviceProfileServiceServicer_to_server(
            Profiles(self.state), self.server
        )
        application_pb2_grpc.add_ApplicationServiceServicer_to_server(
            Applications(self.state), self.server
        )
        device_pb2_grpc.add_DeviceServiceServicer_to_server(Devices(self.state), self.server)
        if credentials is None:
            port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.address = f"127.0.0.1:{port}"

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop(grace=None)
