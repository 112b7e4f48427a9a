"""Message kinds as plain data: one table per kind, interpreted by engine.py.

Only dicts, tuples, str and int, so an exporter (the JavaScript codec for ChirpStack/TTN) can
walk them. codecs/README.md documents the packing rules these tables drive.

Kind:  {"fport": int, "direction": "uplink"|"downlink", "items": (slot, ...),
        "require_any": 1 (optional: at least one field must be present)}
Slot (one positional CBOR item of the payload array):
  {"pack": "item", "field": F}             the field's own CBOR item
  {"pack": "bits", "fields": (F, ...)}     fields packed into one unsigned int, lowest bits first;
                                           each F has "bits" (0 = all high bits; last F only)
  {"pack": "delta", "interval": F, "field": F}
                                           [interval, first, first-to-second delta, ...]
  {"pack": "choice", "options": (slot, ...), "optional": 0|1}
                                           one of several slots, told apart by CBOR type
Field F: {"name": str, "type": str, "optional": 0|1, ...type keys}
  "int":       "min", "max" (in user units), "scale" (power of ten; value*scale is sent)
  "bool":      false/true
  "flag":      only `true` is valid; absence means not requested
  "enum":      "values": tuple of names; sent as the index
  "enum_list": "values", "min_len", "max_len"; array of indices
  "int_list":  "min", "max", "min_len", "max_len" (only inside "delta")
  "version":   "a.b.c" sent as a*2**(minor_bits+patch_bits) + b*2**patch_bits + c;
               "major_max", "minor_bits", "patch_bits"
  "map":       "keys": tuple of {"code", "name", "min", "max", "scale"} int entries,
               "min_len"; a CBOR map from code to scaled int
"""

U32_MAX = 4294967295

RESET_CAUSES = ("power_on", "hard", "watchdog", "deep_sleep", "soft", "brownout", "other")
ERROR_CODES = (
    "sensor",
    "radio",
    "storage",
    "i2c",
    "spi",
    "low_battery",
    "join",
    "clock",
    "memory",
    "config",
    "downlink",
    "overflow",
)
ALARMS = ("rise", "high", "low")

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

PARKING = {
    "fport": 10,
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
                    "max": U32_MAX,
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

WATER_LEVEL = {
    "fport": 11,
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

TEMPERATURE = {
    "fport": 12,
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

STATUS = {
    "fport": 20,
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
                "max": U32_MAX,
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

CONFIG = {
    "fport": 30,
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

# Kind name -> table. The fPort of each kind is fixed (LoRaWAN application ports 1..223).
KINDS = {
    "parking": PARKING,
    "water_level": WATER_LEVEL,
    "temperature": TEMPERATURE,
    "status": STATUS,
    "config": CONFIG,
}
