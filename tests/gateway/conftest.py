"""Gateway test helpers: gw_helpers and tests/hardware/radio/radio_helpers, importable under
--import-mode=importlib via sys.path. The `mqtt_broker` fixture is in tests/conftest.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "hardware" / "radio"))  # radio_helpers
