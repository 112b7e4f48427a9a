"""Schema table of the water level sensor (fPort 11, uplink): level or series, alarm, distance.

Loaded on first use by schema.table(); its fPort is in schema.PORTS. The layout of the
table: schema.py and codecs/README.md.
"""

ALARMS = ("rise", "high", "low")

SPEC = {
    "direction": "uplink",
    "items": (
        {
            "pack": "choice",
            "optional": 0,
            "options": (
                {
                    "pack": "item",
                    "field": {
                        "name": "level_mm",
                        "type": "int",
                        "optional": 0,
                        "min": -100000,
                        "max": 100000,
                        "scale": 1,
                    },
                },
                {
                    "pack": "delta",
                    "interval": {
                        "name": "interval_s",
                        "type": "int",
                        "optional": 0,
                        "min": 1,
                        "max": 86400,
                        "scale": 1,
                    },
                    "field": {
                        "name": "levels_mm",
                        "type": "int_list",
                        "optional": 0,
                        "min": -100000,
                        "max": 100000,
                        "min_len": 1,
                        "max_len": 32,
                    },
                },
            ),
        },
        {
            "pack": "item",
            "field": {"name": "alarm", "type": "enum", "optional": 1, "values": ALARMS},
        },
        {
            "pack": "item",
            "field": {
                "name": "distance_mm",
                "type": "int",
                "optional": 1,
                "min": 0,
                "max": 100000,
                "scale": 1,
            },
        },
    ),
}
