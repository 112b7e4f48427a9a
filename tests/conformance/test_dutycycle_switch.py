"""DutyCycle.regional (the switch RegionalDutyCycleCtrlReq turns, testapp.py): off lifts the
sub-band silences only; DutyCycleReq's aggregate and the join back-off stay; frames sent
while it is off still count once it is on again; a new DutyCycle starts with it on."""

import pytest
from lorafield_node.dutycycle import DutyCycle
from lorafield_node.region import eu868

PROGRAM = """
from lorafield_node.dutycycle import DutyCycle
from lorafield_node.region import eu868


class Clock:
    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        half = 1 << 29
        return ((a - b + half) & ((1 << 30) - 1)) - half

    def ticks_add(self, t, d):
        return (t + d) & ((1 << 30) - 1)


def main():
    clock = Clock()
    d = DutyCycle(clock, eu868())
    out = [d.regional]
    d.record(868_100_000, 100)  # 1 % sub-band: 9,900 ms of silence
    out.append(d.wait_ms(868_300_000))
    d.regional = False
    out.append(d.wait_ms(868_300_000))
    d.record(868_300_000, 200)  # sent with the limits off: still recorded
    d.regional = True
    out.append(d.wait_ms(868_500_000))
    d.regional = False
    d.max_dcycle = 3  # DutyCycleReq: 1/8 aggregated, kept with the regional limits off
    d.record(868_500_000, 100)
    out.append(d.wait_ms(868_100_000))
    d.record(868_100_000, 50, True)  # a Join-request: the 1 % back-off of 1.0.4 section 7
    out.append(d.wait_ms(868_100_000, True))
    out.append(DutyCycle(clock, eu868()).regional)
    return out
"""

EXPECTED = [True, 9900, 0, 19800, 700, 4950, True]


def test_the_switch_lifts_only_the_regional_limits():
    namespace = {}
    exec(PROGRAM, namespace)  # noqa: S102 - our own test program, shared with the VM
    assert namespace["main"]() == EXPECTED
    clock = namespace["Clock"]()
    d = DutyCycle(clock, eu868())
    d.regional = False
    d.record(868_100_000, 1000)
    assert d.wait_ms(868_100_000) == 0
    assert d.wait_ms(870_500_000) == -1  # outside every band: still not allowed
    # What is stored across deep sleep is the silence the frame started, switch or not.
    e = DutyCycle(clock, eu868())
    assert e.restore(d.save(5000), 5000)
    assert e.regional and e.wait_ms(868_300_000) == 99_000


@pytest.mark.micropython
def test_the_same_in_the_micropython_vm(micropython):
    micropython.run(PROGRAM)
    assert micropython.run("print(main())\n").strip() == repr(EXPECTED)
