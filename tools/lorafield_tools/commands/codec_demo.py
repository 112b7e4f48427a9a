"""`lorafield codec demo`: the shared payload codec's walk-through (it was `lorafield demo`
before the emulated field took that name).

Encodes one realistic message of each kind, prints its fPort, hex and size beside the
CayenneLPP size of the same information, decodes it back and checks the round trip.
"""

import json

from lorafield_codec import decode, encode, fport_of

from lorafield_tools.bench.codec import lpp_size

HELP = "the shared payload codec: one message of each kind, encoded and decoded"

# One realistic message per kind, as a node (or the server, for config) would send it.
EXAMPLES = (
    ("parking", {"occupied": True, "since_s": 5400}),
    ("water_level", {"levels_mm": [812, 815, 817, 822, 830, 841, 855, 872], "interval_s": 900}),
    ("temperature", {"temperature_c": 21.55, "humidity_pct": 48.5}),
    ("status", {"battery_mv": 3712, "uptime_s": 86400, "fw": "1.0.0", "reset_cause": "power_on"}),
    ("config", {"interval_s": 600, "thresholds": {"high_mm": 1500, "rise_mm": 40}}),
)


def run(args=None):
    failures = 0
    for kind, data in EXAMPLES:
        payload = encode(kind, data)
        port = fport_of(kind)
        back_kind, back = decode(port, payload)
        ok = back_kind == kind and back == data
        failures += not ok
        lpp, _ = lpp_size(kind, data)
        print(f"{kind} (fPort {port})")
        print(f"  data     {json.dumps(data)}")
        print(f"  payload  {payload.hex()}")
        lpp_text = f"CayenneLPP {lpp} bytes" if lpp is not None else "no CayenneLPP equivalent"
        print(f"  size     {len(payload)} bytes ({lpp_text})")
        print(f"  decoded  {json.dumps(back)}  {'round trip ok' if ok else 'ROUND TRIP FAILED'}")
    return 1 if failures else 0
