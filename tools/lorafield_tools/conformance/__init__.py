"""A test harness of ours in the LoRa Alliance test tool's role: it drives the firmware's
TS009 test app (firmware/lib/lorafield_node/testapp.py) through the Class A test sequences
on the emulated field and reports each case (README.md; `lorafield bench conformance`)."""

from dataclasses import dataclass

from .cases import CASES, LEFT_OUT, PRODUCTION, CaseFailed
from .world import ConformanceError, DutField, StepTimeout, TestTool, field_region


@dataclass(frozen=True)
class CaseResult:
    name: str
    section: str
    passed: bool
    detail: str


def run_cases(region_name="EU868", seed=1, cases=None, on_result=None):
    """Run the cases (all by default; else those named, by name or function name, in the
    usual order on one DUT, after the activation every other case starts from) and then the
    production check; a CaseResult each, handed to ``on_result`` as they end.
    ConformanceError when the field cannot be built for ``region_name``."""
    field_region(region_name)  # a region the field cannot run stops here, before any case
    wanted = None if cases is None else set(cases) | {CASES[0][0]}
    results = []

    def one(tool, name, section, fn):
        try:
            detail = fn(tool)
            result = CaseResult(name, section, True, detail)
        except (CaseFailed, StepTimeout) as e:
            result = CaseResult(name, section, False, str(e))
        except Exception as e:  # a bug in firmware or harness: the case fails, the run goes on
            result = CaseResult(name, section, False, f"error: {type(e).__name__}: {e}")
        results.append(result)
        if on_result is not None:
            on_result(result)

    dut = TestTool(DutField(seed, True, region_name))
    for name, section, fn in CASES:
        if wanted is None or name in wanted or fn.__name__ in wanted:
            one(dut, name, section, fn)
    name, section, fn = PRODUCTION
    if wanted is None or name in wanted or fn.__name__ in wanted:
        one(TestTool(DutField(seed + 1, False, region_name)), name, section, fn)
    return results


__all__ = [
    "CASES",
    "LEFT_OUT",
    "PRODUCTION",
    "CaseResult",
    "ConformanceError",
    "run_cases",
]
