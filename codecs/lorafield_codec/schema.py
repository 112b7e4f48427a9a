"""Message kinds as plain data: one table per kind, interpreted by engine.py.

Each table is in its own module (kind_parking.py, kind_status.py, ...), imported by table() on
first use: a node holds in its heap only the tables of the kinds it sends or receives (on
MicroPython an imported module and every name in it stay in RAM). KINDS, every kind's table
with its fPort, is built on access (lorafield_codec.KINDS), for the server side and the
exporter.

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

# Status error codes (the status kind's "errors" values); the firmware keeps its error bits in
# this order, so it imports this tuple without loading the status table.
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

# (kind, fPort), in the order of KINDS. The fPort of each kind is fixed (LoRaWAN application
# ports 1..223); kind_of() reads it here without loading any table.
PORTS = (("parking", 10), ("water_level", 11), ("temperature", 12), ("status", 20), ("config", 30))


def table(kind):
    """The table of `kind` (a name in PORTS) without its fPort; loads its module on first use."""
    if kind == "parking":
        from .kind_parking import SPEC
    elif kind == "water_level":
        from .kind_water_level import SPEC
    elif kind == "temperature":
        from .kind_temperature import SPEC
    elif kind == "status":
        from .kind_status import SPEC
    elif kind == "config":
        from .kind_config import SPEC
    else:
        raise KeyError(kind)
    return SPEC


def kinds():
    """Kind name -> table with its "fport" first: what the package's KINDS gives (a new dict
    of the shared tables each time)."""
    out = {}
    for kind, port in PORTS:
        spec = {"fport": port}
        spec.update(table(kind))
        out[kind] = spec
    return out
