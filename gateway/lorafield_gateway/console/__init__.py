"""The field console: a web page on the gateway for the people who run the sensors.

Overview, map, device pages with charts, events and a JSON API, read from the local
network server's SQLite database through a read-only connection (README.md of this folder:
routes, security, figures). `lorafield console --db PATH` serves it; so does the gateway
service with `[console] enabled = true`.
"""

from .app import ConsoleApp
from .errors import ConsoleError
from .server import Console, default_token_path

__all__ = ["Console", "ConsoleApp", "ConsoleError", "default_token_path"]
