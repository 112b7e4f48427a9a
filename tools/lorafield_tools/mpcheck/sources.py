"""Which files are device code: every .py under firmware/ and codecs/."""

from __future__ import annotations

from pathlib import Path

DEVICE_DIRS = ("firmware", "codecs")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def device_sources(root: Path | None = None) -> list[Path]:
    """Sorted .py files under firmware/ and codecs/ (no caches, no build metadata)."""
    root = root or repo_root()
    found = []
    for top in DEVICE_DIRS:
        for path in (root / top).rglob("*.py"):
            rel = path.relative_to(root).parts
            if any(p == "__pycache__" or p.endswith(".egg-info") for p in rel):
                continue
            found.append(path)
    return sorted(found)
