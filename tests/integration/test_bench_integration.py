"""`lorafield bench integration` runs end to end on a small fleet and reports what it claims."""

import re

from lorafield_tools.cli import main
from lorafield_tools.codec_export import export_js


def test_bench_integration_small(capsys):
    assert main(["bench", "integration", "--devices", "4", "--rounds", "5"]) == 0
    out = capsys.readouterr().out
    size = re.search(r"ttn\s+(\d+) bytes", out)
    assert size and int(size.group(1)) == len(export_js("ttn").encode())
    assert re.search(r"decodeUplink\s+[\d.]+ us/message", out)
    first = next(line for line in out.splitlines() if "first run" in line)
    second = next(line for line in out.splitlines() if "second run" in line)
    assert "(10 writes)" in first and "created 10" in first  # profile, app, 4 x (device, keys)
    assert "(0 writes)" in second and "nothing to change (10 unchanged)" in second
