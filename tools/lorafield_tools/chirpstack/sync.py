"""Fleet -> ChirpStack v4: plan (read-only) first, then apply; idempotent by construction.

The planner reads what ChirpStack holds and compares it with what the fleet file wants, field
by field; only differences become create/update steps, so a second sync has nothing to do.
Keys are compared but never shown: a step names the key set, not its value.

What is created (names are fixed so a re-run finds them again):
- device profile `lorafield-otaa` (and `lorafield-abp` if the fleet has ABP devices): the
  fleet's region (EU868 unless its `region` says otherwise; another region's profiles are
  `lorafield-otaa-us915` etc., so fleets of two regions in one tenant do not fight over one
  profile), LoRaWAN 1.0.4, RP002-1.0.4 (the tables the firmware implements), class A only,
  payload codec = the exported JavaScript codec; ABP devices' RX2 is the region's. The
  profile's region configuration (`region_config_id`, e.g. ChirpStack's `us915_1` for
  FSB2) is left as set in ChirpStack;
- application `lorafield` in the tenant (or the one given with --application);
- each device (DevEUI, name, JoinEUI, profile, tags kind/board/location) and its keys:
  OTAA AppKey in `nwk_key` (ChirpStack's field for the LoRaWAN 1.0.x AppKey), ABP session via
  Activate (1.0.x: NwkSKey in all three network session key fields).
"""

from chirpstack_api.api import application_pb2, device_pb2, device_profile_pb2
from chirpstack_api.common import common_pb2
from lorafield_node.region import RECEIVE_DELAY1, eu868, region

from .client import ChirpstackError, NotFound

PROFILE_NAMES = {"otaa": "lorafield-otaa", "abp": "lorafield-abp"}
APPLICATION_NAME = "lorafield"
ZERO_KEY = "0" * 32  # DeviceKeys.app_key: only used by LoRaWAN 1.1 devices, must still parse
# EU868 defaults (RP002-1.0.4 §2.4.2 / LoRaWAN 1.0.4 §5): RX1 delay 1 s, RX2 869.525 MHz DR0,
# taken from the firmware's region table so the profile says what the devices do.
_EU868 = eu868()
EU868_RX2_FREQ_HZ = _EU868.rx2_frequency


# Fleet region (lorafield_node.region.NAMES) -> ChirpStack's common.Region.
CHIRPSTACK_REGIONS = {
    "EU868": common_pb2.Region.EU868,
    "US915": common_pb2.Region.US915,
    "AU915": common_pb2.Region.AU915,
    "AS923-1": common_pb2.Region.AS923,
    "AS923-2": common_pb2.Region.AS923_2,
    "AS923-3": common_pb2.Region.AS923_3,
    "AS923-4": common_pb2.Region.AS923_4,
    "IN865": common_pb2.Region.IN865,
    "KR920": common_pb2.Region.KR920,
}


def profile_name(mode, region_name="EU868"):
    """`lorafield-otaa` / `lorafield-abp`, with the region after it outside EU868."""
    name = PROFILE_NAMES[mode]
    if region_name != "EU868":
        name += "-" + region_name.lower()
    return name


def profile_fields(mode, codec_script, region_name="EU868"):
    """The device profile fields lorafield sets (other fields are left as the user set them)."""
    plan = _EU868 if region_name == "EU868" else region(region_name)
    fields = {
        "description": "lorafield field sensors (managed by `lorafield chirpstack sync`)",
        "region": CHIRPSTACK_REGIONS[region_name],
        "mac_version": common_pb2.MacVersion.LORAWAN_1_0_4,
        "reg_params_revision": common_pb2.RegParamsRevision.RP002_1_0_4,
        "adr_algorithm_id": "default",
        "supports_otaa": mode == "otaa",
        "supports_class_b": False,
        "supports_class_c": False,
        "payload_codec_runtime": device_profile_pb2.CodecRuntime.JS,
        "payload_codec_script": codec_script,
        # The slowest app reports hourly: ChirpStack marks a device inactive after this.
        "uplink_interval": 3600,
    }
    if mode == "abp":
        fields.update(
            abp_rx1_delay=RECEIVE_DELAY1,
            abp_rx1_dr_offset=0,
            abp_rx2_dr=plan.rx2_dr,
            abp_rx2_freq=plan.rx2_frequency,
        )
    return fields


def device_fields(device, application_id, profile_id):
    tags = {"lorafield_kind": device.kind}
    if device.board:
        tags["board"] = device.board
    if device.location:
        for axis in ("lat", "lon", "alt"):
            if axis in device.location:
                tags[axis] = repr(device.location[axis])
    return {
        "name": device.name or device.dev_eui_hex,
        "description": f"lorafield {device.kind} sensor",
        "application_id": application_id,
        "device_profile_id": profile_id,
        "join_eui": device.join_eui.hex() if device.otaa and device.join_eui else "",
        "tags": tags,
    }


def _differs(message, fields):
    """Names of `fields` whose value in `message` differs (hex compared case-insensitively)."""
    changed = []
    for name, want in fields.items():
        have = getattr(message, name)
        if name == "tags":
            have = dict(have)
        elif name in ("join_eui",):
            if not want:  # ABP: leave whatever ChirpStack reports
                continue
            have, want = have.lower(), want.lower()
        if have != want:
            changed.append(name)
    return changed


def _assign(message, fields):
    for name, value in fields.items():
        if name == "tags":
            message.tags.clear()
            message.tags.update(value)
        else:
            setattr(message, name, value)
    return message


class Step:
    """One line of the plan. `apply(ids)` performs it (ids: names -> ChirpStack ids)."""

    def __init__(self, op, what, label, changes=(), apply=None):
        self.op = op  # "create" | "update" | "unchanged"
        self.what = what
        self.label = label
        self.changes = list(changes)
        self.apply = apply

    def line(self, dry_run=False, done=False):
        verb = self.op
        if dry_run and self.op != "unchanged":
            verb = "would " + verb
        elif done and self.op != "unchanged":
            verb += "d"  # created, updated
        text = f"{self.what} {self.label}: {verb}"
        if self.changes:
            text += " (" + ", ".join(self.changes) + ")"
        return text


class Plan:
    def __init__(self, steps):
        self.steps = steps

    def count(self, op):
        return sum(1 for s in self.steps if s.op == op)

    @property
    def changes(self):
        return [s for s in self.steps if s.op != "unchanged"]

    def summary(self, dry_run=False, applied=False):
        created, updated, same = self.count("create"), self.count("update"), self.count("unchanged")
        if not created and not updated:
            return f"chirpstack sync: nothing to change ({same} unchanged)"
        if dry_run:
            return (
                f"chirpstack sync (dry run): would create {created}, update {updated}; "
                f"{same} unchanged; nothing written"
            )
        return f"chirpstack sync: created {created}, updated {updated}, {same} unchanged"


class Planner:
    def __init__(self, client, tenant_id, codec_script, application_id=None, region="EU868"):
        self.region = region
        self.client = client
        self.tenant_id = tenant_id
        self.codec_script = codec_script
        self.application_id = application_id
        self.ids = {}

    # -- profiles -------------------------------------------------------------------------
    def _find_profile(self, name):
        request = device_profile_pb2.ListDeviceProfilesRequest(
            tenant_id=self.tenant_id, search=name, limit=1000
        )
        listing = self.client.call(
            self.client.profiles.List,
            request,
            f"listing device profiles of tenant {self.tenant_id}",
        )
        found = [item.id for item in listing.result if item.name == name]
        if len(found) > 1:
            raise ChirpstackError(
                f"tenant {self.tenant_id} has {len(found)} device profiles {name}"
            )
        return found[0] if found else None

    def plan_profile(self, mode):
        name = profile_name(mode, self.region)
        fields = profile_fields(mode, self.codec_script, self.region)
        key = "profile:" + mode
        profile_id = self._find_profile(name)
        client = self.client
        if profile_id is None:
            wanted = _assign(
                device_profile_pb2.DeviceProfile(tenant_id=self.tenant_id, name=name), fields
            )

            def create(ids):
                request = device_profile_pb2.CreateDeviceProfileRequest(device_profile=wanted)
                ids[key] = client.call(client.profiles.Create, request, f"creating {name}").id

            return Step("create", "device profile", name, apply=create)
        self.ids[key] = profile_id
        current = client.call(
            client.profiles.Get,
            device_profile_pb2.GetDeviceProfileRequest(id=profile_id),
            f"reading device profile {name}",
        ).device_profile
        changed = _differs(current, fields)
        if not changed:
            return Step("unchanged", "device profile", name)
        wanted = _assign(current, fields)

        def update(ids):
            request = device_profile_pb2.UpdateDeviceProfileRequest(device_profile=wanted)
            client.call(client.profiles.Update, request, f"updating {name}")

        return Step("update", "device profile", name, changed, update)

    # -- application ----------------------------------------------------------------------
    def plan_application(self):
        client = self.client
        if self.application_id:
            app = client.call(
                client.applications.Get,
                application_pb2.GetApplicationRequest(id=self.application_id),
                f"application {self.application_id}",
            ).application
            if app.tenant_id and app.tenant_id != self.tenant_id:
                raise ChirpstackError(
                    f"application {self.application_id} belongs to tenant {app.tenant_id}, "
                    f"not {self.tenant_id}"
                )
            self.ids["application"] = app.id or self.application_id
            return Step("unchanged", "application", f"{app.name} ({self.ids['application']})")
        listing = client.call(
            client.applications.List,
            application_pb2.ListApplicationsRequest(
                tenant_id=self.tenant_id, search=APPLICATION_NAME, limit=1000
            ),
            f"listing applications of tenant {self.tenant_id}",
        )
        found = [item.id for item in listing.result if item.name == APPLICATION_NAME]
        if len(found) > 1:
            raise ChirpstackError(
                f"tenant {self.tenant_id} has {len(found)} applications named {APPLICATION_NAME}; "
                "pick one with --application ID"
            )
        if found:
            self.ids["application"] = found[0]
            return Step("unchanged", "application", f"{APPLICATION_NAME} ({found[0]})")
        wanted = application_pb2.Application(
            tenant_id=self.tenant_id,
            name=APPLICATION_NAME,
            description="lorafield field sensors (managed by `lorafield chirpstack sync`)",
        )

        def create(ids):
            request = application_pb2.CreateApplicationRequest(application=wanted)
            ids["application"] = client.call(
                client.applications.Create, request, f"creating application {APPLICATION_NAME}"
            ).id

        return Step("create", "application", APPLICATION_NAME, apply=create)

    # -- devices --------------------------------------------------------------------------
    def plan_device(self, device):
        client = self.client
        eui = device.dev_eui_hex
        mode = "otaa" if device.otaa else "abp"
        label = f"{eui} ({device.name})" if device.name else eui
        try:
            current = client.call(
                client.devices.Get, device_pb2.GetDeviceRequest(dev_eui=eui), f"device {eui}"
            ).device
        except NotFound:
            current = None

        def wanted_device(ids):
            fields = device_fields(device, ids["application"], ids["profile:" + mode])
            return _assign(device_pb2.Device(dev_eui=eui), fields)

        steps = []
        if current is None:

            def create(ids):
                request = device_pb2.CreateDeviceRequest(device=wanted_device(ids))
                client.call(client.devices.Create, request, f"creating device {eui}")

            steps.append(Step("create", "device", label, apply=create))
        else:
            app_id = self.ids.get("application")
            if current.application_id != app_id:
                raise ChirpstackError(
                    f"device {eui} is already in application {current.application_id}; "
                    "move or delete it there first"
                )
            fields = device_fields(device, app_id, self.ids.get("profile:" + mode, "<new>"))
            changed = _differs(current, fields)
            if changed:

                def update(ids):
                    # Start from what ChirpStack holds: keeps variables, is_disabled, ...
                    message = device_pb2.Device()
                    message.CopyFrom(current)
                    fields = device_fields(device, ids["application"], ids["profile:" + mode])
                    request = device_pb2.UpdateDeviceRequest(device=_assign(message, fields))
                    client.call(client.devices.Update, request, f"updating device {eui}")

                steps.append(Step("update", "device", label, changed, update))
            else:
                steps.append(Step("unchanged", "device", label))
        if device.otaa:
            steps.append(self._plan_keys(device, current is None))
        else:
            steps.append(self._plan_activation(device, current is None))
        return steps

    def _plan_keys(self, device, new):
        client = self.client
        eui = device.dev_eui_hex
        want = device_pb2.DeviceKeys(dev_eui=eui, nwk_key=device.app_key.hex(), app_key=ZERO_KEY)
        current = None
        if not new:
            try:
                current = client.call(
                    client.devices.GetKeys,
                    device_pb2.GetDeviceKeysRequest(dev_eui=eui),
                    f"keys of device {eui}",
                ).device_keys
            except NotFound:
                current = None
        if current is None:

            def create(ids):
                request = device_pb2.CreateDeviceKeysRequest(device_keys=want)
                client.call(client.devices.CreateKeys, request, f"setting keys of device {eui}")

            return Step("create", "OTAA keys", eui, ["AppKey"], create)
        if current.nwk_key.lower() == want.nwk_key:
            return Step("unchanged", "OTAA keys", eui)

        def update(ids):
            request = device_pb2.UpdateDeviceKeysRequest(device_keys=want)
            client.call(client.devices.UpdateKeys, request, f"updating keys of device {eui}")

        return Step("update", "OTAA keys", eui, ["AppKey"], update)

    def _plan_activation(self, device, new):
        client = self.client
        eui = device.dev_eui_hex
        nwk = device.nwk_s_key.hex()
        want = device_pb2.DeviceActivation(
            dev_eui=eui,
            dev_addr=f"{device.dev_addr:08x}",
            app_s_key=device.app_s_key.hex(),
            nwk_s_enc_key=nwk,
            s_nwk_s_int_key=nwk,
            f_nwk_s_int_key=nwk,
        )
        current = None
        if not new:
            try:
                response = client.call(
                    client.devices.GetActivation,
                    device_pb2.GetDeviceActivationRequest(dev_eui=eui),
                    f"activation of device {eui}",
                )
                if response.HasField("device_activation"):
                    current = response.device_activation
            except NotFound:
                current = None
        names = ("dev_addr", "app_s_key", "nwk_s_enc_key", "s_nwk_s_int_key", "f_nwk_s_int_key")
        if current is not None and all(
            getattr(current, n).lower() == getattr(want, n) for n in names
        ):
            return Step("unchanged", "ABP session", eui)

        def activate(ids):
            request = device_pb2.ActivateDeviceRequest(device_activation=want)
            client.call(client.devices.Activate, request, f"activating device {eui}")

        if current is None:
            return Step("create", "ABP session", eui, ["DevAddr", "session keys"], activate)
        return Step(
            "update", "ABP session", eui, ["DevAddr/session keys; frame counters reset"], activate
        )


def plan_sync(client, fleet, tenant_id, codec_script, application_id=None):
    """The Plan for `fleet` (reads ChirpStack, writes nothing), in the fleet's region."""
    region_name = getattr(fleet, "region", "EU868")
    planner = Planner(client, tenant_id, codec_script, application_id, region_name)
    modes = []
    if any(d.otaa for d in fleet):
        modes.append("otaa")
    if any(not d.otaa for d in fleet):
        modes.append("abp")
    steps = [planner.plan_profile(mode) for mode in modes]
    steps.append(planner.plan_application())
    for device in fleet:
        steps.extend(planner.plan_device(device))
    plan = Plan(steps)
    plan.ids = planner.ids
    return plan


def apply_plan(plan, report=print):
    """Perform every create/update step in order; `report` gets one line per change."""
    ids = dict(plan.ids)
    for step in plan.steps:
        if step.op == "unchanged":
            continue
        step.apply(ids)
        report(step.line(done=True))
    return ids
