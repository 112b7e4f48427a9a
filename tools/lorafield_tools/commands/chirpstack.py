"""`lorafield chirpstack sync|status`: the fleet file provisioned to ChirpStack v4 over gRPC.

lorafield chirpstack sync --fleet fleet.toml --server cs.example:8080 \\
    --api-key-file ~/.chirpstack-key --tenant 52f14cd4-... [--application ID] [--dry-run]
lorafield chirpstack status --fleet fleet.toml --server cs.example:8080 --api-key-file KEY

User errors (bad fleet file, unreadable key file) exit 2; ChirpStack refusing or unreachable
exits 1; both with one line on stderr. The API key is never printed.
"""

import argparse
import json

from lorafield_tools.cli import CommandError, UsageError

from .common import load_fleet_file, positive_float

HELP = "provision the fleet to ChirpStack v4 (sync) and show its devices there (status)"


def _connection_arguments(parser):
    parser.add_argument("--fleet", required=True, metavar="FILE", help="the fleet TOML file")
    parser.add_argument(
        "--server",
        required=True,
        type=_server,
        metavar="HOST:PORT",
        help="ChirpStack gRPC API (e.g. chirpstack.example.org:8080)",
    )
    parser.add_argument(
        "--api-key-file",
        required=True,
        metavar="FILE",
        help="file holding a ChirpStack API key (mode 0600; sent as a Bearer token, never"
        " printed), or a systemd credential name",
    )
    parser.add_argument("--tls", action="store_true", help="use TLS (system CA roots)")
    parser.add_argument("--ca-file", metavar="PEM", help="TLS with this CA certificate")
    parser.add_argument(
        "--timeout", type=positive_float, default=10.0, metavar="S", help="deadline per call (10 s)"
    )


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    sync = sub.add_parser("sync", help="create or update profile, application, devices, keys")
    _connection_arguments(sync)
    sync.add_argument("--tenant", required=True, metavar="ID", help="ChirpStack tenant id")
    sync.add_argument(
        "--application",
        metavar="ID",
        help="use this existing application (default: find or create 'lorafield')",
    )
    sync.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    sync.add_argument("-v", "--verbose", action="store_true", help="also list what is unchanged")
    status = sub.add_parser("status", help="last seen, DevAddr, frame counters, battery")
    _connection_arguments(status)
    status.add_argument("--json", action="store_true", help="JSON lines instead of a table")


def _server(text):
    """argparse type: HOST:PORT (gRPC's own `dns:` and `unix:` targets pass as they are)."""
    if text.startswith(("dns:", "unix:", "ipv4:", "ipv6:")):
        return text
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535 or "/" in host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (port 1..65535), got {text!r}")
    return text


def _check_ca_file(path):
    """gRPC would log its own lines about a file without a certificate and go on with none."""
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read CA file {path} ({exc.strerror})") from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise UsageError(f"CA file {path} holds no PEM certificate")


def _read_api_key(path):
    """The key from a private file (mode 0600; one every user may read is refused) or, for
    a bare name, from $CREDENTIALS_DIRECTORY (a systemd credential)."""
    from lorafield_gateway.credentials import CredentialError, read_secret

    try:
        key = read_secret(path)
    except CredentialError as exc:
        raise UsageError(f"API key file: {exc}") from None
    if len(key.split()) != 1:
        raise UsageError(f"API key file {path} must hold one token")
    return key


def _client(args):
    from lorafield_tools.chirpstack.client import ChirpstackClient

    api_key = _read_api_key(args.api_key_file)
    if args.ca_file:
        _check_ca_file(args.ca_file)
    return ChirpstackClient(
        args.server,
        api_key,
        tls=args.tls,
        ca_file=args.ca_file,
        timeout_s=args.timeout,
    )


def _sync(args, fleet, client):
    from lorafield_tools.chirpstack.sync import apply_plan, plan_sync
    from lorafield_tools.codec_export import export_js

    plan = plan_sync(client, fleet, args.tenant, export_js("chirpstack"), args.application)
    for step in plan.steps:
        if step.op == "unchanged" and args.verbose:
            print(step.line())
        elif step.op != "unchanged" and args.dry_run:
            print(step.line(dry_run=True))
    if not args.dry_run:
        apply_plan(plan, report=print)  # one line per change, as it is made
    print(plan.summary(dry_run=args.dry_run))
    return 0


def _status(args, fleet, client):
    from lorafield_tools.chirpstack.status import fleet_status, table

    rows = fleet_status(client, fleet)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(table(rows))
    return 0


def run(args):
    from lorafield_tools.chirpstack.client import ChirpstackError

    fleet = load_fleet_file(args.fleet)
    if not len(fleet):
        raise UsageError(f"{args.fleet} lists no device")
    try:
        with _client(args) as client:
            return (
                _sync(args, fleet, client)
                if args.action == "sync"
                else _status(args, fleet, client)
            )
    except ChirpstackError as exc:
        raise CommandError(str(exc)) from None
