"""One module per `lorafield` subcommand (see lorafield_tools.cli.COMMANDS); `common.py` holds
the checks several of them share."""
