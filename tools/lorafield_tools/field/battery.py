"""Battery life of a field's nodes, projected from their routine hours.

A day in the field has one-off costs that a battery does not pay every day: the join,
calibration and first status after an installation or a power cut, a flood's alarm
sampling. The projection divides the battery by each node's charge per day over its
routine hours only: every whole emulated hour except those that overlap the first hour
after a power-on, a time the node was off, or a flood at its site (with half an hour for
the all-clear). That is what `lorafield bench energy` measures for a setup after its
warm-up hour. The one-off costs are reported beside it: the charge of those hours above
the routine rate.
"""

import math
from dataclasses import dataclass, field

HOUR_S = 3600.0
START_UP_S = 3600.0  # join, calibration, first status: bench energy's warm-up hour
ALL_CLEAR_S = 1800.0  # after a flood wave has passed, until the gauge is back to routine


@dataclass
class Projection:
    routine_mah_per_day: float
    life_days: float
    routine_hours: int
    one_off_mah: dict = field(default_factory=dict)  # cause -> charge above the routine rate
    whole_run: bool = False  # no routine hour: projected from the whole run instead


def one_off_windows(node):
    """(start_s, end_s, cause) of what a routine day does not have, for a NodeSpec."""
    windows = []
    ons = [node.start_s] + [at + off for at, off in node.power_cycles]
    windows += [(on, on + START_UP_S, "start-up") for on in ons]
    windows += [(at, at + off, "off") for at, off in node.power_cycles]
    for start, rise, _peak, fall in node.scenario.get("floods", ()):
        windows.append((start, start + rise + fall + ALL_CLEAR_S, "flood"))
    return windows


def project(node, hourly_mah, capacity_mah):
    """The projection for a NodeSpec from the battery charge it had drawn at the end of each
    emulated hour (FieldNode.hourly_mah)."""
    per_hour = [b - a for a, b in zip([0.0] + hourly_mah, hourly_mah, strict=False)]
    windows = one_off_windows(node)
    causes = []
    for k in range(len(per_hour)):
        t0, t1 = k * HOUR_S, (k + 1) * HOUR_S
        hit = [cause for start, end, cause in windows if start < t1 and end > t0]
        causes.append(hit[0] if hit else None)
    routine = [mah for mah, cause in zip(per_hour, causes, strict=True) if cause is None]
    whole_run = not routine
    if whole_run:
        routine = per_hour
    rate = sum(routine) / len(routine) if routine else 0.0
    one_off = {}
    for mah, cause in zip(per_hour, causes, strict=True):
        if cause is not None and not whole_run:
            one_off[cause] = one_off.get(cause, 0.0) + mah - rate
    per_day = rate * 24
    life = capacity_mah / per_day if per_day > 0 else math.inf
    return Projection(per_day, life, len(routine), one_off, whole_run)
