"""`lorafield gateway`: run the Raspberry Pi gateway service, or print its annotated default
configuration.

    lorafield gateway run --config /etc/lorafield/gateway.toml
    lorafield gateway run --config gw.toml --radio replay --replay-path frames.jsonl
    lorafield gateway print-config > gateway.toml
    lorafield gateway print-config --region US915 --sub-band 2 > gateway.toml
    lorafield gateway check-backhaul --config /etc/lorafield/gateway.toml
"""

import logging
import sys

from ..cli import CommandError, UsageError
from .common import positive_float

HELP = "Raspberry Pi gateway service (radio, Semtech UDP, ChirpStack MQTT, local server)"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="gateway_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    run = sub.add_parser("run", help="run the service until SIGTERM/SIGINT")
    run.add_argument("--config", required=True, metavar="FILE", help="TOML configuration")
    run.add_argument(
        "--radio",
        choices=("rfm95", "emulated", "replay"),
        help="override radio.kind (emulated/replay: tests and demos without a radio)",
    )
    run.add_argument("--replay-path", metavar="FILE", help="override radio.replay_path")
    printing = sub.add_parser("print-config", help="print the annotated default configuration")
    printing.add_argument(
        "--region",
        default="EU868",
        metavar="NAME",
        help="with this region's defaults (radio channel and SF, TX band, ChirpStack topic"
        " prefix): EU868 (default), US915, AU915, AS923-1..AS923-4, IN865, KR920",
    )
    printing.add_argument(
        "--sub-band",
        dest="sub_bands",
        type=int,
        action="append",
        default=[],
        metavar="K",
        help="US915/AU915: a sub-band 1..8 the gateway uses (repeat for more; default 2)",
    )
    check = sub.add_parser(
        "check-backhaul",
        help="connect once to every enabled forwarder's server and report (TLS, CONNACK,"
        " PULL_ACK); exit 1 if one fails",
    )
    check.add_argument("--config", required=True, metavar="FILE", help="TOML configuration")
    check.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="seconds to wait for each server (10)",
    )


def _load(args):
    from dataclasses import replace

    from lorafield_gateway.config import ConfigError, load

    try:
        cfg = load(args.config)
        overrides = {}
        if args.radio:
            overrides["kind"] = args.radio
        if args.replay_path:
            overrides["replay_path"] = args.replay_path
        if overrides:
            radio = replace(cfg.radio, **overrides)
            if radio.kind == "replay" and not radio.replay_path:
                raise ConfigError("radio.replay_path: required when radio.kind is 'replay'")
            cfg = replace(cfg, radio=radio)
        return cfg
    except ConfigError as exc:
        raise _config_error(args.config, exc) from None


def _config_error(path, exc):
    """The key's one-line problem, naming the file once (the loader names it in some)."""
    text = str(exc)
    return UsageError(text if path in text else f"{path}: {text}")


def run(args):
    if args.gateway_command == "print-config":
        from lorafield_gateway.config import ConfigError, render_defaults

        try:
            sys.stdout.write(render_defaults(args.region, tuple(args.sub_bands)))
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        return 0
    if args.gateway_command == "check-backhaul":
        return _check_backhaul(args)
    cfg = _load(args)
    logging.basicConfig(
        level=cfg.gateway.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    import sqlite3

    from lorafield_gateway.config import ConfigError
    from lorafield_gateway.service import GatewayService

    _warn_inline_password(args.config, cfg)

    try:
        return GatewayService(cfg).run()
    except ConfigError as exc:
        raise _config_error(args.config, exc) from None
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        # No radio, an unwritable state directory, ...: one line, and systemd restarts us.
        raise CommandError(f"cannot start: {exc}") from None


def _warn_inline_password(path, cfg):
    """A password written into a configuration file every user can read is no secret."""
    import os
    import stat

    if not cfg.chirpstack.password:
        return
    try:
        readable = os.stat(path).st_mode & stat.S_IROTH
    except OSError:
        return
    if readable:
        logging.getLogger("lorafield.gateway").warning(
            "chirpstack.password is written in %s, which every user can read: move it to a"
            " file of its own (chirpstack.password_file, mode 0600) or a systemd credential",
            path,
        )


def _check_backhaul(args):
    from lorafield_gateway.backhaul import check_all, render

    args.radio = args.replay_path = None
    cfg = _load(args)
    checks = check_all(cfg, timeout_s=args.timeout)
    if not checks:
        raise UsageError(f"{args.config}: no forwarder is enabled: nothing to check")
    print(render(checks))
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise CommandError(f"{len(failed)} of {len(checks)} failed: {', '.join(failed)}")
    return 0
