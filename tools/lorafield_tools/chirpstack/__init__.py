"""ChirpStack v4 provisioning over gRPC: `lorafield chirpstack sync` and `status`.

`client.ChirpstackClient` wraps the chirpstack-api stubs (Bearer API key, deadlines, one-line
errors); `sync.plan_sync` compares the fleet with ChirpStack and `sync.apply_plan` writes only
the differences; `status.fleet_status` reads last-seen, session and battery per device.
"""
