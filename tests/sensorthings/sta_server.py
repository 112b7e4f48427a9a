"""The tests' SensorThings server, by hand: `python sta_server.py DB PORT` (HydroServer's
django-ogc-sensorthings on SQLite, served by waitress). The runner ships with the tools
(`lorafield_tools.sta_test_server`: `lorafield bench sensorthings` uses it too); the fixture
`sta_server` (conftest.py) starts it as its own process."""

import sys

from lorafield_tools.sta_test_server import serve

if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
