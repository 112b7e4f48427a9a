"""`lorafield console`: the field console on a network server database.

    lorafield console --db lorafield-demo/lns.sqlite3 --fleet lorafield-demo/fleet.toml
    lorafield console --config /etc/lorafield/gateway.toml     # the gateway's database

Serves the overview, map, device pages, events and the JSON API (gateway/lorafield_gateway/
console/README.md) on http://127.0.0.1:8080/ until Ctrl-C. The database is opened
read-only; a queued downlink is a request row, as `lorafield lns queue` writes it. Any
--host other than loopback requires signing in with the token (console.token beside the
database unless --token-file says otherwise; created 0600 on first start).
"""

import logging
import sys

from lorafield_tools.cli import UsageError

from .lns import DEFAULT_GATEWAY_CONFIG, _open

HELP = "field console: web pages (overview, map, devices, events) and a JSON API on a database"


def _port(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {text!r}")
    return value


def add_arguments(parser):
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="PATH", help="the network server's SQLite file")
    where.add_argument(
        "--config",
        metavar="FILE",
        help="gateway configuration: its database, fleet and [console] settings "
        f"(default {DEFAULT_GATEWAY_CONFIG} when --db is not given)",
    )
    parser.add_argument("--fleet", metavar="FLEET", help="fleet file: positions for the map")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="TCP port (default 8080; 0: any free one)")
    parser.add_argument("--token-file", metavar="PATH", help="token file (default: beside the db)")
    parser.add_argument(
        "--tiles", metavar="URL", help="map tiles, e.g. https://.../{z}/{x}/{y}.png"
    )


def _settings(args):
    """db, fleet, host, port, token file and tiles from the options and the configuration."""
    from lorafield_gateway.config import ConfigError, ConsoleSection, load

    section = ConsoleSection()
    fleet, token_file, db = args.fleet or "", args.token_file or "", args.db
    if not db:
        path = args.config or DEFAULT_GATEWAY_CONFIG
        try:
            config = load(path)
        except ConfigError as exc:
            if args.config is None:
                raise UsageError(
                    f"which database? give --db PATH or --config FILE (no gateway "
                    f"configuration at {path})"
                ) from None
            text = str(exc)
            raise UsageError(text if path in text else f"{path}: {text}") from None
        if not config.local.enabled:
            raise UsageError(f"{path}: [local] enabled = false: the gateway keeps no database")
        section = config.console
        db = config.lns_path
        fleet = fleet or config.local.fleet
        token_file = token_file or config.console_token_path
    host = args.host or section.host
    port = section.port if args.port is None else args.port
    tiles = section.tiles if args.tiles is None else args.tiles
    from lorafield_gateway.config import _tile_url

    if _tile_url(tiles):
        raise UsageError(f"--tiles: {_tile_url(tiles)}")
    return db, fleet, host, port, token_file, tiles


def run(args):
    from lorafield_gateway.console import Console, ConsoleError

    db, fleet, host, port, token_file, tiles = _settings(args)
    _open(db).close()  # the same one-line reasons as `lorafield lns`
    try:
        console = Console(
            db, host=host, port=port, token_file=token_file, fleet_path=fleet, tiles_url=tiles
        )
    except ConsoleError as exc:
        raise UsageError(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(f"console: {console.url}  (Ctrl-C stops it)")
    print(
        f"token: in {console.token_file} (cat it to sign in; "
        + (
            "required for every page on this address)"
            if console.login_required
            else "needed here only to queue a downlink)"
        )
    )
    sys.stdout.flush()
    try:
        console.run()
    except KeyboardInterrupt:
        pass
    finally:
        console.close()
    return 0
