# The unix port's built-in `os` refuses new attributes; --real-boards sets some (its
# _machine_time.py): this module, found on sys.path before the built-in, extends it instead.
import sys

_path = sys.path
sys.path = ()  # now the import below can only find the built-in
try:
    from os import *  # noqa: F403
finally:
    sys.path = _path
    del _path
