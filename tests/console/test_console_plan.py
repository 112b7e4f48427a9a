"""The plan (map) SVG without and with a tile server, and the policy that lets the browser
fetch those tiles and nothing else."""

import re

from lorafield_gateway.console.app import _content_security_policy
from lorafield_gateway.console.plan import plan_svg


def device(eui, kind, lat, lon, **extra):
    base = {"dev_eui": eui, "name": eui, "kind": kind, "silent": False, "alarms": []}
    return {**base, "location": {"lat": lat, "lon": lon}, **extra}


FIELD = [
    device("a1", "parking", 52.0000, 5.0000, bay="occupied"),
    device("a2", "parking", 52.00001, 5.00001, bay="free"),  # a metre away: side by side
    device("b1", "water_level", 52.0050, 5.0100, level_mm=900, high_mm=1200),
    device("c1", "temperature", 51.9950, 5.0200, state={"temperature_c": 7.5}),
    {**device("d1", "temperature", 0, 0), "location": None},  # not on the plan
]


def test_a_plain_plan_fetches_nothing():
    svg = plan_svg(FIELD)
    assert "<image" not in svg and "http" not in svg
    assert svg.count('class="node ') == 4 and 'data-dev-eui="d1"' not in svg
    assert re.search(r'class="bay occupied"', svg) and re.search(r'class="bay free"', svg)
    assert "1 of 2 free" in svg and "0.90 m" in svg and "7.5 °C" in svg
    assert "default-src 'none'" in _content_security_policy("")
    assert "img-src 'self' data:;" in _content_security_policy("")


def test_tiles_only_when_configured_and_only_that_host():
    url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    svg = plan_svg(FIELD, url)
    tiles = re.findall(
        r'<image href="https://tile\.openstreetmap\.org/(\d+)/(\d+)/(\d+)\.png"', svg
    )
    zooms = {int(z) for z, _, _ in tiles}
    assert tiles and len(zooms) == 1 and 10 <= zooms.pop() <= 19  # one whole zoom level
    assert "OpenStreetMap contributors" in svg
    policy = _content_security_policy(url)
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
