"""The region tests share `rp002` (RP002-1.0.4 facts), `regionfield` (the emulated field of
one region) and `decoder` (frames checked from the spec), importable under
--import-mode=importlib via sys.path; `decoder` reuses the reference implementation in
tests/lorawan/test_lorawan_frames.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "lorawan"))
