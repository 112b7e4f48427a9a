"""The emulated board's MicroPython as the native interpreter (MicroPython's unix port)."""

from .vm import INSTALL_HINT, NativeBoardVM, find_micropython, native_available

__all__ = ["INSTALL_HINT", "NativeBoardVM", "find_micropython", "native_available"]
