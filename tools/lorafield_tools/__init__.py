"""The `lorafield` command line and host-side workbench tools."""
