"""Schema table of the parking sensor (fPort 10, uplink): occupied, since_s, mag_uT.

Loaded on first use by schema.table(); its fPort is in schema.PORTS. The layout of the
table: schema.py and codecs/README.md.
"""

SPEC = {
    "direction": "uplink",
    "items": (
        {
            "pack": "bits",
            "fields": (
                {"name": "occupied", "type": "bool", "optional": 0, "bits": 1},
                # Seconds the previous state lasted; sent as since_s + 1 (0 = absent).
                {
                    "name": "since_s",
                    "type": "int",
                    "optional": 1,
                    "min": 0,
                    "max": 4294967295,  # 2**32 - 1
                    "scale": 1,
                    "bits": 0,
                },
            ),
        },
        {
            "pack": "item",
            "field": {
                "name": "mag_uT",
                "type": "int",
                "optional": 1,
                "min": -32768,
                "max": 32767,
                "scale": 1,
            },
        },
    ),
}
