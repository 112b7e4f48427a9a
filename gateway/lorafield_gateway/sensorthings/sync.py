"""`lorafield sensorthings sync`: the fleet's Things, Locations, Sensors, ObservedProperties
and Datastreams on a SensorThings server, created or updated idempotently.

`plan(client, devices)` reads what the server has (Things by `properties/dev_eui`,
Datastreams by their Thing and `properties/quantity`, ObservedProperties by definition,
Sensors by name) and returns the actions that make it hold what the fleet says; `apply`
carries them out in order (shared entities first). A second run plans nothing. Entities the
fleet does not name are never touched (a platform holds other publishers' data too).
"""

from dataclasses import dataclass, field

from . import mapping
from .client import path

EXPAND = "Locations,Datastreams($expand=Sensor,ObservedProperty)"


@dataclass
class Action:
    verb: str  # create | update
    entity: str  # Thing, Location, Datastream, Sensor, ObservedProperty
    name: str
    body: dict
    target: object = None  # the id an update changes
    needs: dict = field(default_factory=dict)  # filled at apply time: {"thing": dev_eui, ...}

    def line(self):
        return f"{self.verb} {self.entity} {self.name!r}"


class Remote:
    """What the server holds, indexed the way sync finds things again."""

    def __init__(self, client):
        self.things = {}  # dev_eui -> Thing (expanded)
        for thing in client.list("Things", {"$expand": EXPAND}):
            eui = (thing.get("properties") or {}).get("dev_eui")
            if isinstance(eui, str):
                self.things[eui.lower()] = thing
        self.properties = {}  # definition -> id
        for prop in client.list("ObservedProperties"):
            self.properties.setdefault(prop.get("definition"), prop["@iot.id"])
        self.sensors = {}  # name -> id
        for sensor in client.list("Sensors"):
            self.sensors.setdefault(sensor.get("name"), sensor["@iot.id"])

    def datastreams(self, dev_eui):
        thing = self.things.get(dev_eui) or {}
        out = {}
        for ds in thing.get("Datastreams") or ():
            quantity = (ds.get("properties") or {}).get("quantity")
            if quantity:
                out[quantity] = ds
        return out


def _differs(current, wanted, keys):
    return any(current.get(k) != wanted.get(k) for k in keys)


def plan(client, devices):
    remote = Remote(client)
    actions = []
    new_properties, new_sensors = set(), set()
    for device in devices:
        eui = device.dev_eui_hex
        wanted = mapping.thing(device)
        current = remote.things.get(eui)
        if current is None:
            body = dict(wanted)
            loc = mapping.location(device)
            if loc:
                body["Locations"] = [loc]
            actions.append(Action("create", "Thing", wanted["name"], body, needs={"eui": eui}))
        else:
            if _differs(current, wanted, ("name", "description", "properties")):
                actions.append(
                    Action("update", "Thing", wanted["name"], wanted, current["@iot.id"])
                )
            loc = mapping.location(device)
            locations = current.get("Locations") or []
            if loc and not locations:
                actions.append(
                    Action(
                        "update", "Thing", wanted["name"], {"Locations": [loc]}, current["@iot.id"]
                    )
                )
            elif loc and locations[0].get("location") != loc["location"]:
                actions.append(
                    Action("update", "Location", loc["name"], loc, locations[0]["@iot.id"])
                )
        existing = remote.datastreams(eui)
        for quantity, ds in mapping.datastreams(device).items():
            prop, sensor = ds.pop("ObservedProperty"), ds.pop("Sensor")
            if (
                prop["definition"] not in remote.properties
                and prop["definition"] not in new_properties
            ):
                new_properties.add(prop["definition"])
                actions.insert(0, Action("create", "ObservedProperty", prop["name"], prop))
            if sensor["name"] not in remote.sensors and sensor["name"] not in new_sensors:
                new_sensors.add(sensor["name"])
                actions.insert(0, Action("create", "Sensor", sensor["name"], sensor))
            have = existing.get(quantity)
            if have is None:
                needs = {"eui": eui, "property": prop["definition"], "sensor": sensor["name"]}
                actions.append(Action("create", "Datastream", ds["name"], ds, needs=needs))
            elif _differs(
                have, ds, ("name", "description", "observationType", "unitOfMeasurement")
            ):
                body = {
                    k: ds[k]
                    for k in ("name", "description", "observationType", "unitOfMeasurement")
                }
                actions.append(Action("update", "Datastream", ds["name"], body, have["@iot.id"]))
    return actions, remote


def apply(client, actions, remote):
    things = {eui: t["@iot.id"] for eui, t in remote.things.items()}
    properties, sensors = dict(remote.properties), dict(remote.sensors)
    sets = {
        "Thing": "Things",
        "Location": "Locations",
        "Datastream": "Datastreams",
        "Sensor": "Sensors",
        "ObservedProperty": "ObservedProperties",
    }
    for action in actions:
        entity_set = sets[action.entity]
        if action.verb == "update":
            client.patch(entity_set, action.target, action.body)
            continue
        body = dict(action.body)
        if action.entity == "Datastream":
            body["Thing"] = {"@iot.id": things[action.needs["eui"]]}
            body["ObservedProperty"] = {"@iot.id": properties[action.needs["property"]]}
            body["Sensor"] = {"@iot.id": sensors[action.needs["sensor"]]}
        new_id = client.create(entity_set, body)
        if action.entity == "Thing":
            things[action.needs["eui"]] = new_id
        elif action.entity == "ObservedProperty":
            properties[body["definition"]] = new_id
        elif action.entity == "Sensor":
            sensors[body["name"]] = new_id


def datastream_ids(client):
    """{(dev_eui, quantity): Datastream id} of every lorafield Datastream on the server."""
    out = {}
    for ds in client.list("Datastreams"):
        props = ds.get("properties") or {}
        eui, quantity = props.get("dev_eui"), props.get("quantity")
        if isinstance(eui, str) and quantity:
            out[(eui.lower(), quantity)] = ds["@iot.id"]
    return out


__all__ = ["Action", "apply", "datastream_ids", "path", "plan"]
