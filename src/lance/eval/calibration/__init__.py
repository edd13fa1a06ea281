"""``lance calibrate``: routing thresholds chosen for an over-refusal budget.

``sets`` reads the benign and unsafe prompts, ``search`` chooses the thresholds with the real
routing function, ``fragment`` writes them as settings, ``plot`` draws the trade-off curve.
"""

from lance.eval.calibration.fragment import check_fragment, fragment, write_fragment
from lance.eval.calibration.search import (
    Calibration,
    LeaveTable,
    OperatingPoint,
    calibrate,
    check_budget,
    choose,
    operating_point,
)
from lance.eval.calibration.sets import PromptSet, halves, load_prompt_set

__all__ = [
    "Calibration",
    "LeaveTable",
    "OperatingPoint",
    "PromptSet",
    "calibrate",
    "check_budget",
    "check_fragment",
    "choose",
    "fragment",
    "halves",
    "load_prompt_set",
    "operating_point",
    "write_fragment",
]
