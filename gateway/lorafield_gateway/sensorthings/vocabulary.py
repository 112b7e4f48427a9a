"""What each quantity a lorafield device measures is in the SensorThings data model.

One entry per quantity: the device kinds that send it, the reading kind and field it comes
from, its ObservedProperty (name, a definition URI from a published vocabulary: the CF
standard names on the NERC vocabulary server, QUDT quantity kinds, the Smart Data Models
parking spot), its unitOfMeasurement (UCUM codes) and the O&M observation type. The README's
mapping table is this table.
"""

OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
UCUM = "http://unitsofmeasure.org/ucum.html"
CF = "http://vocab.nerc.ac.uk/standard_name/"
QUDT = "http://qudt.org/vocab/quantitykind/"

# A truth or category has no unit; servers (and STA 1.1's JSON schema) still want three
# strings: UCUM's dimensionless unity.
NO_UNIT = {"name": "dimensionless", "symbol": "1", "definition": UCUM}

QUANTITIES = {
    "occupancy": {
        "kinds": ("parking",),
        "reading": "parking",
        "field": "occupied",
        "observation_type": OM + "OM_TruthObservation",
        "unit": NO_UNIT,
        "property": {
            "name": "parking space occupancy",
            "definition": "https://smart-data-models.github.io/dataModel.Parking/ParkingSpot/",
            "description": "Whether a vehicle occupies the parking space (true) or not.",
        },
    },
    "water_level": {
        "kinds": ("water_level",),
        "reading": "water_level",
        "field": "level_mm",
        "observation_type": OM + "OM_Measurement",
        "unit": {"name": "millimetre", "symbol": "mm", "definition": UCUM + "#para-30"},
        "property": {
            "name": "water level",
            "definition": CF + "water_surface_height_above_reference_datum/",
            "description": "Height of the water surface above the gauge's reference datum.",
        },
    },
    "water_alarm": {
        "kinds": ("water_level",),
        "reading": "water_level",
        "field": "alarm",
        "observation_type": OM + "OM_CategoryObservation",
        "unit": NO_UNIT,
        "property": {
            "name": "water level alarm",
            "definition": "https://github.com/lorafield/lorafield/blob/main/codecs/README.md",
            "description": "The gauge's alarm: rise, high or low (lorafield codec).",
        },
    },
    "air_temperature": {
        "kinds": ("temperature",),
        "reading": "temperature",
        "field": "temperature_c",
        "observation_type": OM + "OM_Measurement",
        "unit": {"name": "degree Celsius", "symbol": "Cel", "definition": UCUM + "#para-30"},
        "property": {
            "name": "air temperature",
            "definition": CF + "air_temperature/",
            "description": "Air temperature at the sensor.",
        },
    },
    "relative_humidity": {
        "kinds": ("temperature",),
        "reading": "temperature",
        "field": "humidity_pct",
        "optional": True,
        "observation_type": OM + "OM_Measurement",
        "unit": {"name": "percent", "symbol": "%", "definition": UCUM + "#para-29"},
        "property": {
            "name": "relative humidity",
            "definition": CF + "relative_humidity/",
            "description": "Relative humidity of the air at the sensor.",
        },
    },
    "air_pressure": {
        "kinds": ("temperature",),
        "reading": "temperature",
        "field": "pressure_hpa",
        "optional": True,
        "observation_type": OM + "OM_Measurement",
        "unit": {"name": "hectopascal", "symbol": "hPa", "definition": UCUM + "#para-30"},
        "property": {
            "name": "air pressure",
            "definition": CF + "air_pressure/",
            "description": "Air pressure at the sensor.",
        },
    },
    "battery_voltage": {
        "kinds": ("parking", "water_level", "temperature"),
        "reading": "status",
        "field": "battery_mv",
        "observation_type": OM + "OM_Measurement",
        "unit": {"name": "millivolt", "symbol": "mV", "definition": UCUM + "#para-30"},
        "property": {
            "name": "battery voltage",
            "definition": QUDT + "Voltage",
            "description": "Voltage of the device's battery (status heartbeat).",
        },
    },
}


def quantities_of(kind):
    """The quantities a device of `kind` gets a Datastream for (optional ones included: a
    temperature sensor with a humidity chip sends them; a Datastream without observations
    costs nothing)."""
    return [q for q, spec in QUANTITIES.items() if kind in spec["kinds"]]
