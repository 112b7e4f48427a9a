"""The soak's CI tier: one node per kind for an emulated day on the native MicroPython (the
unix port, a fixed heap: the device's heap scaled for 64-bit, profiles.HEAP), through a join,
config downlinks, alarms, a power cut, a commanded rejoin and a reboot (bench/soak.py). The
week runs in `lorafield bench soak --days 7`.

Every kind runs a day on the ESP32's budget (the parking node's own board; water level and
temperature, whose field board is an RP2040, with `--budget esp32`), and the RP2040 nodes on
their own (firmware/boards/README.md, "Heap per board").
"""

import pytest
from lorafield_tools.cli import main
from lorafield_tools.mpnative import INSTALL_HINT, native_available

pytestmark = pytest.mark.skipif(
    not native_available(), reason=f"no native `micropython` binary: {INSTALL_HINT}"
)


def soak(capsys, kind, days, *more):
    assert main(["bench", "soak", "--kind", kind, "--days", str(days), *more]) == 0
    lines = capsys.readouterr().out.splitlines()
    (row,) = [line for line in lines if line.split() and line.split()[0] == "1"]
    return lines, row.split()


@pytest.mark.parametrize("kind", ["water_level", "temperature"])
def test_an_rp2040_node_runs_a_day_on_its_heap_budget(capsys, kind):
    lines, cells = soak(capsys, kind, 1)
    assert "native VM, heap 331 KiB" in lines[0]  # 233,856 B x 1.43
    sent, heard = map(int, cells[2].split("/"))
    assert sent == heard > 20
    assert cells[3] == "2/2"  # the first join and the commanded rejoin
    assert cells[-2] == "0"  # no MemoryError
    assert "MemoryError: none; tracebacks: none" in lines
    assert any(line.startswith("downlinks: 4 queued, 4 sent") for line in lines), lines


@pytest.mark.parametrize("kind", ["parking", "water_level", "temperature"])
def test_every_kind_runs_a_day_on_the_esp32_heap_budget(capsys, kind):
    """Before the RAM diet, the unloads and the GC threshold (firmware/boards/README.md,
    Heap) every boot on this budget ended in MemoryError."""
    lines, cells = soak(capsys, kind, 1, "--budget", "esp32")
    assert "native VM, heap 159 KiB, the ESP32 budget" in lines[0]  # 111,936 B x 1.43
    sent, heard = map(int, cells[2].split("/"))
    assert sent == heard > 20
    assert cells[3] == "2/2"  # the first join and the commanded rejoin
    assert cells[-2] == "0"  # no MemoryError
    assert "MemoryError: none; tracebacks: none" in lines
    assert any(line.startswith("downlinks: 4 queued, 4 sent") for line in lines), lines


def test_a_day_of_failed_boots_is_reported_not_crashed_on(capsys):
    """Water level on a heap too small for it (100 KiB native, two thirds of the ESP32's
    budget): boots end in MemoryError before the ROM measures what they hold at the deep
    sleep; the table shows the day all the same."""
    args = ["bench", "soak", "--kind", "water_level", "--days", "0.05", "--heap-kib", "100"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "native VM, heap 100 KiB)" in lines[0]
    (row,) = [line for line in lines if line.split() and line.split()[0] == "1"]
    cells = row.split()
    assert int(cells[-2]) > 0  # MemoryErrors, counted
    assert any("MemoryError: memory allocation failed" in line for line in lines)


def test_budget_and_heap_kib_are_one_or_the_other(capsys):
    args = ["bench", "soak", "--kind", "parking", "--budget", "esp32", "--heap-kib", "200"]
    assert main(args) == 2
    assert "give --heap-kib or --budget, not both" in capsys.readouterr().err
