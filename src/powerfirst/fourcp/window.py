"""The fixed 4CP afternoon window operators curtail in today (ERCOT), as defaults.

The ``rule-based`` strategy's settings start from these values and
:func:`~powerfirst.fourcp.evaluate.evaluate_fourcp` scores the predictor against the same window.
"""

from __future__ import annotations

__all__ = [
    "RULE_WINDOW_END_HOUR",
    "RULE_WINDOW_MONTHS",
    "RULE_WINDOW_START_HOUR",
    "RULE_WINDOW_WEEKDAYS_ONLY",
]

RULE_WINDOW_MONTHS: tuple[int, ...] = (6, 7, 8, 9)
"""Months of the window (June to September) [month numbers]."""
RULE_WINDOW_START_HOUR = 15
"""First hour of the window, market-local [hour of day]."""
RULE_WINDOW_END_HOUR = 19
"""End of the window (exclusive), market-local [hour of day]."""
RULE_WINDOW_WEEKDAYS_ONLY = True
"""The window is on weekdays only."""
