"""One module per `lorafield` subcommand (see lorafield_tools.cli.COMMANDS)."""
