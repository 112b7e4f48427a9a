"""Open data: lorafield's devices and readings on an OGC SensorThings API 1.1 server (FROST and
others). `vocabulary` (quantities: ObservedProperty, UCUM unit, observation type), `mapping`
(fleet device -> Thing, Location, Datastreams; reading -> Observations), `client` (HTTP, typed
errors), `sync` (idempotent create/update of the fleet's entities), `outbox` (the durable
queue: at least once, in order per Datastream, never twice), and the three sources on that
one path: `lns_source` (the local network server's readings) with `publisher` (the gateway's
`[sensorthings]` forwarder), `mqtt_source` (ChirpStack v4 and The Things Stack uplink JSON)
with `bridge` (the MQTT service). `lorafield sensorthings sync|push|bridge` drive them.
"""
