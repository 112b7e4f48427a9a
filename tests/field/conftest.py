"""Field tests reuse the gateway tests' MQTT/UDP helpers (tests/gateway/gw_helpers.py); the
`mqtt_broker` fixture is in tests/conftest.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "gateway"))
sys.path.insert(0, str(Path(__file__).parent.parent / "hardware" / "radio"))  # radio_helpers
