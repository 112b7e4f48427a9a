"""`lorafield bench codec`: payload bytes per message beside CayenneLPP, and codec speed.

The CayenneLPP column is a size model, not an encoder: every LPP value costs a 2-byte header
(channel, type) plus the data size of its IPSO type (LPP_TYPES below). Values LPP has no type
for are modelled with the nearest type a device maker would use; the table says which.
"""

import timeit

from lorafield_codec import decode, encode, fport_of

HELP = "payload bytes per message kind vs CayenneLPP, encode/decode microseconds (CPython)"

LPP_HEADER = 2  # channel + type byte, per value

# LPP type name -> (IPSO id, data bytes, resolution) from the CayenneLPP reference
# (myDevices, "Cayenne Low Power Payload"; distance is from the extended ElectronicCats list).
LPP_TYPES = {
    "digital": (0, 1, "1"),
    "analog": (2, 2, "0.01 signed"),
    "generic": (100, 4, "1 unsigned"),
    "presence": (102, 1, "1"),
    "temperature": (103, 2, "0.1 C signed"),
    "humidity": (104, 1, "0.5 %"),
    "barometer": (115, 2, "0.1 hPa"),
    "voltage": (116, 2, "0.01 V"),
    "distance": (130, 4, "1 mm"),
}

# Field -> LPP type used to carry the same information.
LPP_FIELD_TYPES = {
    "occupied": "presence",
    "since_s": "generic",
    "mag_uT": "analog",
    "level_mm": "distance",
    "levels_mm": "distance",  # one value per sample; LPP has no place for interval_s
    "alarm": "digital",
    "distance_mm": "distance",
    "temperature_c": "temperature",
    "humidity_pct": "humidity",
    "pressure_hpa": "barometer",
    "battery_mv": "voltage",
    "uptime_s": "generic",
    "fw": "generic",
    "reset_cause": "digital",
    "errors": "digital",  # one per code
    "interval_s": "generic",
}
LPP_NO_FIELD = ("interval_s",)  # dropped when it only qualifies a series (LPP cannot say it)

# (label, kind, data, size target from issue 2 or None)
MESSAGES = (
    ("parking change", "parking", {"occupied": True}, 2),
    ("parking change, since 9 h", "parking", {"occupied": False, "since_s": 32400}, 3),
    ("parking, since + mag", "parking", {"occupied": True, "since_s": 125, "mag_uT": -48}, None),
    ("temperature", "temperature", {"temperature_c": 21.55}, 3),
    ("temperature + humidity", "temperature", {"temperature_c": 21.55, "humidity_pct": 45.5}, 7),
    (
        "temperature + hum + pressure",
        "temperature",
        {"temperature_c": 18.37, "humidity_pct": 62.1, "pressure_hpa": 998.6},
        None,
    ),
    ("water level", "water_level", {"level_mm": 1234}, 3),
    (
        "water level + alarm + raw",
        "water_level",
        {"level_mm": 150, "alarm": "low", "distance_mm": 2850},
        None,
    ),
    (
        "water levels x16 + interval",
        "water_level",
        {
            "levels_mm": [1200, 1201, 1203, 1204, 1204, 1206, 1209, 1210]
            + [1212, 1215, 1215, 1218, 1220, 1221, 1223, 1226],
            "interval_s": 900,
        },
        24,
    ),
    (
        "water levels x32 + interval",
        "water_level",
        {"levels_mm": [1000 + 5 * i for i in range(32)], "interval_s": 60},
        None,
    ),
    ("status, battery only", "status", {"battery_mv": 3300}, 4),
    (
        "status, every field",
        "status",
        {
            "battery_mv": 3300,
            "uptime_s": 604800,
            "fw": "1.2.3",
            "reset_cause": "watchdog",
            "errors": ["sensor"],
            "interval_s": 900,
        },
        18,
    ),
    ("config interval (downlink)", "config", {"interval_s": 900}, None),
    (
        "config everything (downlink)",
        "config",
        {
            "interval_s": 3600,
            "request_status": True,
            "thresholds": {"high_mm": 2000, "rise_mm": 50},
        },
        None,
    ),
)


def lpp_size(kind, data):
    """(bytes, types) of the same information in CayenneLPP; (None, reason) if LPP has none."""
    if kind == "config":
        return None, "downlink: no LPP"
    size = 0
    used = []
    for name, value in data.items():
        if name in LPP_NO_FIELD and "levels_mm" in data:
            continue
        lpp = LPP_FIELD_TYPES[name]
        count = len(value) if isinstance(value, list) else 1
        size += count * (LPP_HEADER + LPP_TYPES[lpp][1])
        used.append(lpp if count == 1 else f"{count}x{lpp}")
    return size, "+".join(used)


def _microseconds(fn, number):
    best = min(timeit.repeat(fn, number=number, repeat=3))
    return best / number * 1e6


def measure(number=2000):
    """One dict per message: sizes, LPP model and CPython encode/decode microseconds."""
    rows = []
    for label, kind, data, target in MESSAGES:
        payload = encode(kind, data)
        port = fport_of(kind)
        lpp, lpp_types = lpp_size(kind, data)
        rows.append(
            {
                "label": label,
                "kind": kind,
                "fport": port,
                "bytes": len(payload),
                "target": target,
                "lpp": lpp,
                "lpp_types": lpp_types,
                "encode_us": _microseconds(lambda k=kind, d=data: encode(k, d), number),
                "decode_us": _microseconds(lambda p=port, b=payload: decode(p, b), number),
            }
        )
    return rows


def add_arguments(parser):
    parser.add_argument(
        "--number", type=int, default=2000, help="calls per timing run (best of 3 runs)"
    )


def run(args):
    if args.number < 1:
        from lorafield_tools.cli import UsageError

        raise UsageError("--number must be >= 1")
    rows = measure(args.number)
    head = (
        f"{'message':<30} {'kind':<12} {'fPort':>5} {'bytes':>5} {'target':>6} "
        f"{'LPP':>4}  {'enc us':>7} {'dec us':>7}  LPP types"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        target = f"<={r['target']}" if r["target"] is not None else "-"
        lpp = str(r["lpp"]) if r["lpp"] is not None else "-"
        print(
            f"{r['label']:<30} {r['kind']:<12} {r['fport']:>5} {r['bytes']:>5} {target:>6} "
            f"{lpp:>4}  {r['encode_us']:>7.1f} {r['decode_us']:>7.1f}  {r['lpp_types']}"
        )
    print()
    print(f"LPP model: {LPP_HEADER}-byte header per value + data bytes of its type:")
    print("  " + ", ".join(f"{n} {v[1]} ({v[2]})" for n, v in LPP_TYPES.items()))
    missed = [r["label"] for r in rows if r["target"] is not None and r["bytes"] > r["target"]]
    print("size targets: " + ("all met" if not missed else "MISSED: " + ", ".join(missed)))
    return 0 if not missed else 1
