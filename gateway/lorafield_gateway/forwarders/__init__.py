"""Forwarders: each drains its own copy of the durable queue to one backend and passes
downlinks back to the service. `semtech_udp` (Semtech UDP v2), `chirpstack_mqtt`
(ChirpStack v4 over MQTT), `local` (the embedded network server)."""
