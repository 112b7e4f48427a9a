"""From our fleet and readings to SensorThings entities and Observations.

A device is a Thing (name, properties: DevEUI, kind, board) with one Location (its fleet
position as a GeoJSON Point) and one Datastream per quantity of its kind (vocabulary.py),
each with its Sensor (the device's board and kind) and ObservedProperty. The Thing is found
again by `properties/dev_eui`, a Datastream by its Thing and `properties/quantity`: a sync
changes only what differs.

A reading becomes one Observation per quantity it carries. phenomenonTime is when the value
was true: the reading's time, or for a water gauge's series (`levels_mm`, oldest first,
`interval_s` apart) each sample's own time. resultTime is when the network server received it.
`parameters` carry the radio figures (RSSI, SNR, gateway, FCnt) and `lorafield_key`
(DevEUI/quantity/phenomenonTime in µs): a re-sent Observation is recognised by it.
"""

import time

from .vocabulary import QUANTITIES, quantities_of

SENSOR_DOCS = "https://github.com/lorafield/lorafield/blob/main/firmware/README.md"


def iso(time_us):
    seconds, micros = divmod(int(time_us), 1_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{micros:06d}Z"


def thing(device):
    """The Thing of a fleet device (FleetDevice: no key is read)."""
    properties = {"dev_eui": device.dev_eui_hex, "kind": device.kind}
    if device.board:
        properties["board"] = device.board
    body = {
        "name": device.name or device.dev_eui_hex,
        "description": f"lorafield {device.kind.replace('_', ' ')} sensor",
        "properties": properties,
    }
    return body


def location(device):
    if not device.location:
        return None
    lat, lon = float(device.location["lat"]), float(device.location["lon"])
    return {
        "name": device.name or device.dev_eui_hex,
        "description": "position from the lorafield fleet file",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }


def datastream(device, quantity):
    """A Datastream (with its Sensor and ObservedProperty inline) of `device` for `quantity`."""
    spec = QUANTITIES[quantity]
    name = device.name or device.dev_eui_hex
    board = device.board or "unknown board"
    return {
        "name": f"{name} {spec['property']['name']}",
        "description": f"{spec['property']['name']} of {name}",
        "observationType": spec["observation_type"],
        "unitOfMeasurement": dict(spec["unit"]),
        "properties": {"dev_eui": device.dev_eui_hex, "quantity": quantity},
        "Sensor": {
            "name": f"lorafield {device.kind} on {board}",
            "description": f"lorafield {device.kind} firmware on a {board} board",
            # STA 1.1 allows PDF, SensorML or text/html: the firmware's documentation page.
            "encodingType": "text/html",
            "metadata": SENSOR_DOCS,
        },
        "ObservedProperty": dict(spec["property"]),
    }


def datastreams(device):
    return {q: datastream(device, q) for q in quantities_of(device.kind)}


def observations(reading, radio=None):
    """[(quantity, observation body)] of a stored reading: {"dev_eui", "time_us", "kind",
    "data", "fcnt"}; `radio`: {"rssi_dbm", "snr_db", "gateway_id"} of its frame, or None."""
    data = reading.get("data")
    if not isinstance(data, dict):
        return []
    eui, received = reading["dev_eui"], reading["time_us"]
    parameters = {"dev_eui": eui, "fcnt": reading.get("fcnt")}
    if radio:
        parameters.update({k: radio.get(k) for k in ("rssi_dbm", "snr_db", "gateway_id")})
    out = []
    for quantity, spec in QUANTITIES.items():
        if spec["reading"] != reading.get("kind"):
            continue
        if quantity == "water_level":
            samples = _levels(data, received)
        elif spec["field"] in data:
            samples = [(received, data[spec["field"]])]
        else:
            samples = []
        for when, value in samples:
            params = dict(parameters, lorafield_key=f"{eui}/{quantity}/{when}")
            body = {
                "phenomenonTime": iso(when),
                "resultTime": iso(received),
                "result": value,
                "parameters": params,
            }
            out.append((quantity, body))
    return out


def _levels(data, received):
    if "level_mm" in data:
        return [(received, data["level_mm"])]
    levels = data.get("levels_mm") or ()
    step = int(data.get("interval_s") or 0) * 1_000_000
    if step <= 0:  # no spacing (the codec never sends that): only the newest is placed
        return [(received, levels[-1])] if levels else []
    return [(received - (len(levels) - 1 - i) * step, v) for i, v in enumerate(levels)]
