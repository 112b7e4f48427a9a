"""`lorafield emulate board --pty`: the emulated board on a pseudo-terminal (see README.md)."""

from .board import PtyBoard
from .vm import BoardVM, VmGone

__all__ = ["BoardVM", "PtyBoard", "VmGone"]
