"""SQLite storage tests reuse the LNS tests' scripted device (tests/lns/lns_helpers.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "lns"))
sys.path.insert(0, str(Path(__file__).parent))
