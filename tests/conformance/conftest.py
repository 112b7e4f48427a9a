"""Conformance tests share their fakes and harness helpers (importable under
--import-mode=importlib via sys.path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
