"""Open data: lorafield's devices and readings on an OGC SensorThings API 1.1 server (FROST and
others). `vocabulary` (quantities: ObservedProperty, UCUM unit, observation type), `mapping`
(fleet device -> Thing, Location, Datastreams; reading -> Observations), `client` (HTTP, typed
errors), `sync` (idempotent create/update of the fleet's entities), `outbox` (the durable
queue: at least once, in order per Datastream, never twice), `lns_source` (readings of the
local network server). `lorafield sensorthings sync|push` drive them.
"""
