"""Tax depreciation of a plan's assets: straight-line or MACRS, as monthly fractions of the cost.

MACRS (the US Modified Accelerated Cost Recovery System, General Depreciation System) rates are
IRS Publication 946, Appendix A:

* 5-, 7- and 15-year property (computers and GPUs are 5-year; 15-year is land improvements and
  some electrical and cooling plant): Table A-1, half-year convention (200 % declining balance for
  5 and 7 years, 150 % for 15 years);
* 39-year nonresidential real property (a data-hall building): straight line with the mid-month
  convention (Table A-7a is this rule by the calendar month of service).

The planning model counts recovery years from the month an asset is placed in service (not calendar
tax years): each recovery year's percentage is spread evenly over its twelve months, and the
39-year class takes half a month's share in the first month, a full share for 467 months and half
in the last. Straight line takes cost / (12 × years) each month from the month in service.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from powerfirst._types import Array

__all__ = ["MACRS_CLASSES_YEARS", "MACRS_HALF_YEAR_PCT", "depreciation_fractions", "depreciation_usd"]

MACRS_HALF_YEAR_PCT: dict[int, tuple[float, ...]] = {
    5: (20.00, 32.00, 19.20, 11.52, 11.52, 5.76),
    7: (14.29, 24.49, 17.49, 12.49, 8.93, 8.92, 8.93, 4.46),
    15: (5.00, 9.50, 8.55, 7.70, 6.93, 6.23, 5.90, 5.90, 5.91, 5.90, 5.91, 5.90, 5.91, 5.90, 5.91, 2.95),
}
"""IRS Pub. 946 Table A-1 (half-year convention): the share of the cost deducted in each recovery
year [%]; each row sums to 100."""

MACRS_CLASSES_YEARS: tuple[int, ...] = (5, 7, 15, 39)
"""The MACRS property classes a scenario may name [years]."""


def depreciation_fractions(method: Literal["straight_line", "macrs"], years: int) -> Array:
    """The share of an asset's cost deducted in each month from the month it is placed in service
    (index 0) [fraction of cost per month]; the shares sum to 1."""
    if method == "straight_line":
        if years < 1:
            raise ValueError(f"straight-line years = {years}: must be at least 1")
        return np.full(12 * years, 1.0 / (12 * years))
    if years == 39:
        months = 12 * 39
        shares = np.full(months + 1, 1.0 / months)
        shares[0] = shares[-1] = 0.5 / months
        return shares
    if years not in MACRS_HALF_YEAR_PCT:
        raise ValueError(f"MACRS class = {years} years: one of {', '.join(map(str, MACRS_CLASSES_YEARS))}")
    yearly = np.asarray(MACRS_HALF_YEAR_PCT[years], dtype=np.float64) / 100.0
    return np.repeat(yearly / 12.0, 12)


def depreciation_usd(
    cost_usd: float, in_service_month: int, num_months: int, fractions: Array, sold_month: int | None = None
) -> Array:
    """(M,) monthly depreciation of one asset [USD, ≥ 0] on a horizon of ``num_months``.

    The schedule starts at ``in_service_month``. When the asset is sold at ``sold_month`` the
    deductions stop there, and the basis not yet deducted is deducted in that month (so that the
    sale's taxable gain is the proceeds less that basis). Months past the horizon are left out."""
    out = np.zeros(num_months)
    if in_service_month >= num_months or cost_usd == 0.0:
        return out
    schedule = cost_usd * fractions
    if sold_month is not None:
        held = max(sold_month - in_service_month, 0)
        remaining = cost_usd - float(schedule[:held].sum())
        schedule = np.concatenate([schedule[:held], [remaining]])
    end = min(num_months, in_service_month + schedule.size)
    out[in_service_month:end] = schedule[: end - in_service_month]
    return out
