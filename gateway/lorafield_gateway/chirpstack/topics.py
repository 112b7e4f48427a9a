"""ChirpStack v4 MQTT topics (ChirpStack MQTT forwarder / Gateway Bridge defaults):
``{prefix}/gateway/{gateway_id}/event/{up|stats|ack}``, ``.../state/conn`` (retained, also
the last will) and ``.../command/down``."""


def event(prefix, gateway_id, kind):
    return f"{prefix}/gateway/{gateway_id}/event/{kind}"


def state_conn(prefix, gateway_id):
    return f"{prefix}/gateway/{gateway_id}/state/conn"


def command_down(prefix, gateway_id):
    return f"{prefix}/gateway/{gateway_id}/command/down"
