"""ChirpStack v4 gateway messages (`chirpstack-api` protobuf `gw` package): pure mapping
between the gateway's records and `gw.UplinkFrame`, `gw.GatewayStats`, `gw.DownlinkFrame`,
`gw.DownlinkTxAck` and `gw.ConnState` (`mapping`), and the MQTT topics (`topics`). The
MQTT transport is `lorafield_gateway.forwarders.chirpstack_mqtt`."""
