"""Schema table of the config downlink (fPort 30): interval, flags, thresholds.

Loaded on first use by schema.table(); its fPort is in schema.PORTS. The layout of the
table: schema.py and codecs/README.md.
"""

# Threshold keys of the config downlink; each sensor kind reads the ones that concern it
# (water_level: *_mm, temperature: *_c, parking: mag_uT, every node: low_battery_mv).
THRESHOLDS = (
    {"code": 0, "name": "high_mm", "min": -100000, "max": 100000, "scale": 1},
    {"code": 1, "name": "low_mm", "min": -100000, "max": 100000, "scale": 1},
    {"code": 2, "name": "rise_mm", "min": 1, "max": 100000, "scale": 1},
    {"code": 3, "name": "high_c", "min": -40, "max": 85, "scale": 100},
    {"code": 4, "name": "low_c", "min": -40, "max": 85, "scale": 100},
    {"code": 5, "name": "mag_uT", "min": 1, "max": 32767, "scale": 1},
    {"code": 6, "name": "low_battery_mv", "min": 0, "max": 65535, "scale": 1},
)

SPEC = {
    "direction": "downlink",
    "require_any": 1,
    "items": (
        {
            "pack": "item",
            "field": {
                "name": "interval_s",
                "type": "int",
                "optional": 1,
                "min": 60,
                "max": 86400,
                "scale": 1,
            },
        },
        {
            "pack": "bits",
            "fields": (
                {"name": "reboot", "type": "flag", "optional": 1, "bits": 1},
                {"name": "request_status", "type": "flag", "optional": 1, "bits": 1},
                {"name": "rejoin", "type": "flag", "optional": 1, "bits": 1},
            ),
        },
        {
            "pack": "item",
            "field": {
                "name": "thresholds",
                "type": "map",
                "optional": 1,
                "keys": THRESHOLDS,
                "min_len": 1,
            },
        },
    ),
}
