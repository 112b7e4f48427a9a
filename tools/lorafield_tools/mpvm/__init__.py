"""The real MicroPython VM (npm @micropython/micropython-webassembly-pyscript) under node."""

from .project import project_files, project_vm
from .vm import (
    HeapLimitExceeded,
    MicroPythonError,
    MicroPythonTimeout,
    MicroPythonUnavailable,
    MicroPythonVM,
)

__all__ = [
    "HeapLimitExceeded",
    "MicroPythonError",
    "MicroPythonTimeout",
    "MicroPythonUnavailable",
    "MicroPythonVM",
    "project_files",
    "project_vm",
]
