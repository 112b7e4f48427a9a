"""Schema table of the temperature sensor (fPort 12, uplink): temperature, humidity, pressure.

Loaded on first use by schema.table(); its fPort is in schema.PORTS. The layout of the
table: schema.py and codecs/README.md.
"""

SPEC = {
    "direction": "uplink",
    "items": (
        {
            "pack": "item",
            "field": {
                "name": "temperature_c",
                "type": "int",
                "optional": 0,
                "min": -40,
                "max": 85,
                "scale": 100,
            },
        },
        {
            "pack": "item",
            "field": {
                "name": "humidity_pct",
                "type": "int",
                "optional": 1,
                "min": 0,
                "max": 100,
                "scale": 10,
            },
        },
        {
            "pack": "item",
            "field": {
                "name": "pressure_hpa",
                "type": "int",
                "optional": 1,
                "min": 300,
                "max": 1100,
                "scale": 10,
            },
        },
    ),
}
