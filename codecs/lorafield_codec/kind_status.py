"""Schema table of every node's status (fPort 20, uplink): battery, uptime, boot, errors.

Loaded on first use by schema.table(); its fPort is in schema.PORTS. The layout of the
table: schema.py and codecs/README.md.
"""

from .schema import ERROR_CODES

RESET_CAUSES = ("power_on", "hard", "watchdog", "deep_sleep", "soft", "brownout", "other")

SPEC = {
    "direction": "uplink",
    "items": (
        {
            "pack": "item",
            "field": {
                "name": "battery_mv",
                "type": "int",
                "optional": 0,
                "min": 0,
                "max": 65535,
                "scale": 1,
            },
        },
        {
            "pack": "item",
            "field": {
                "name": "uptime_s",
                "type": "int",
                "optional": 1,
                "min": 0,
                "max": 4294967295,  # 2**32 - 1
                "scale": 1,
            },
        },
        {
            # Boot information: both sent once per boot, so one int (3 bytes for fw < 8.0.0).
            "pack": "bits",
            "fields": (
                {
                    "name": "reset_cause",
                    "type": "enum",
                    "optional": 1,
                    "values": RESET_CAUSES,
                    "bits": 3,
                },
                {
                    "name": "fw",
                    "type": "version",
                    "optional": 1,
                    "major_max": 255,
                    "minor_bits": 5,
                    "patch_bits": 5,
                    "bits": 0,
                },
            ),
        },
        {
            "pack": "item",
            "field": {
                "name": "errors",
                "type": "enum_list",
                "optional": 1,
                "values": ERROR_CODES,
                "min_len": 0,
                "max_len": 8,
            },
        },
        {
            "pack": "item",
            "field": {
                "name": "interval_s",
                "type": "int",
                "optional": 1,
                "min": 1,
                "max": 86400,
                "scale": 1,
            },
        },
    ),
}
