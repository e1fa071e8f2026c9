"""The arithmetic of a plan's money: NPV, IRR, payback, DSCR, loans and tax, over paths.

Thin wrappers on numpy-financial, with the conventions of the planning layer in one place:

* **Flows** are monthly, in nominal USD, inflows positive; month 0 is the scenario's first month.
  Functions over paths take (P, M) arrays (one row per path) and return (P,) arrays.
* **Discounting**: an annual discount rate is an *effective* annual rate r; the monthly rate is
  r_m = (1 + r)^(1/12) − 1, and month t's flow is worth flow / (1 + r_m)^t today: month 0 is not
  discounted (numpy-financial's ``npv`` convention: flows at the start of each month).
* **IRR**: the monthly rate that makes a path's NPV zero (the one closest to zero, as
  numpy_financial.irr takes), annualised as (1 + irr_m)^12 − 1. NaN, never a made-up number, when
  the flows do not change sign or no rate brings their NPV to zero. Flows that change sign more
  than once may have several such rates (Descartes' rule of signs: at most as many as the sign
  changes): :func:`irr_paths` counts the sign changes and the rates found on each path, and
  :func:`irr_roots_pct_per_year` lists them, so that a report can say the IRR is one of several.
* **Payback**: the first month at which the cumulative flow, having been negative, is back at zero or
  above; 0 when it is never negative (nothing to pay back); NaN when it never comes back.
* **Loans** quote a *nominal* annual rate compounded monthly (rate/12 a month), as lenders quote them.
* **Tax**: see :func:`tax_with_loss_carryforward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy_financial as npf  # type: ignore[import-untyped]
from scipy.optimize import brentq

from powerfirst._types import Array, IntArray

__all__ = [
    "Amortisation",
    "IrrPaths",
    "LoanSchedule",
    "dscr",
    "irr_paths",
    "irr_pct_per_year",
    "irr_roots_pct_per_year",
    "loan_schedule",
    "min_dscr",
    "monthly_discount_rate",
    "npv_usd",
    "payback_month",
    "tax_with_loss_carryforward",
]

Amortisation = Literal["annuity", "straight", "bullet"]


def monthly_discount_rate(annual_rate_pct: float) -> float:
    """The monthly rate equivalent to an effective annual rate: (1 + r)^(1/12) − 1 [fraction/month]."""
    return float((1.0 + annual_rate_pct / 100.0) ** (1.0 / 12.0) - 1.0)


def npv_usd(annual_rate_pct: float, flows_usd: Array) -> Array:
    """Net present value of monthly flows at an effective annual rate [USD].

    ``flows_usd`` is (M,) or (P, M); the result is () or (P,). Month 0 is not discounted, month t is
    divided by (1 + r_m)^t (numpy_financial.npv's convention, applied to every path at once: its
    ``npv`` takes one series)."""
    rate = monthly_discount_rate(annual_rate_pct)
    flows = np.asarray(flows_usd, dtype=np.float64)
    discount = (1.0 + rate) ** -np.arange(flows.shape[-1], dtype=np.float64)
    return np.asarray(flows @ discount, dtype=np.float64)


_GRID_MONTHLY = np.concatenate([-np.geomspace(0.9, 1e-5, 70), [0.0], np.geomspace(1e-5, 1e3, 110)])
"""Monthly rates the NPV is first evaluated at, to bracket each root (−90 % to +100,000 % a month; a
rate beyond is not found)."""


@dataclass(frozen=True)
class IrrPaths:
    """Each path's IRR and how many it has, (P,) each."""

    irr_pct_per_year: Array
    """The rate closest to zero that makes the NPV zero, annualised [%/year]; NaN: none."""
    roots: Array
    """Rates found that make the NPV zero (sign changes of the NPV on the grid of monthly rates,
    −90 % to +100,000 % a month; two rates closer than a grid step may be missed) [count]."""
    sign_changes: Array
    """Sign changes of the flows, zeros skipped: the most rates there can be (Descartes) [count]."""


def _sign_changes(flows: Array) -> Array:
    """(P,) sign changes along each row, zeros skipped (each zero takes the sign before it)."""
    signs = np.sign(flows)
    columns = np.arange(flows.shape[1])
    last = np.maximum.accumulate(np.where(signs != 0.0, columns[None, :], 0), axis=1)
    filled = np.take_along_axis(signs, last, axis=1)
    return np.asarray(np.sum(filled[:, 1:] * filled[:, :-1] < 0.0, axis=1), dtype=np.float64)


def _npv_grid(flows: Array) -> tuple[Array, Array, Array]:
    """The months, the grid of monthly rates and each path's NPV at each, (P, G)."""
    months = np.arange(flows.shape[1], dtype=np.float64)
    floor = 10.0 ** (-300.0 / max(flows.shape[1], 1)) - 1.0 + 1e-9  # (1 + r)^−M stays below 1e300
    grid = _GRID_MONTHLY[floor < _GRID_MONTHLY]
    with np.errstate(over="ignore", invalid="ignore"):
        values = flows @ (1.0 + grid[None, :]) ** -months[:, None]
    return months, grid, values


def _brackets(values: Array) -> IntArray:
    """Indices k of the grid where the NPV changes sign between rate k and rate k + 1 or is zero at
    rate k + 1 (once per root: a zero at rate k is the bracket before's)."""
    sign = np.sign(values)
    return np.flatnonzero((sign[:-1] * sign[1:] < 0.0) | ((sign[1:] == 0.0) & (sign[:-1] != 0.0)))


def _solve(row: Array, months: Array, low: float, high: float) -> float | None:
    """The monthly rate in [low, high] that makes ``row``'s NPV zero; None when it does not within
    1e-6 of the flows' total size."""

    def npv_at(rate: float) -> float:
        return float(row @ (1.0 + rate) ** -months)

    monthly = float(brentq(npv_at, low, high, xtol=1e-15, rtol=4 * np.finfo(float).eps))
    return monthly if abs(npv_at(monthly)) <= 1e-6 * np.abs(row).sum() else None


def irr_paths(flows_usd: Array) -> IrrPaths:
    """Internal rate of return of each path's monthly flows, annualised: (1 + irr_m)^12 − 1 [%/year],
    with the number of rates found and of the flows' sign changes.

    ``flows_usd`` is (P, M). Where several rates make the NPV zero, the one closest to zero is taken,
    as numpy_financial.irr does; but its polynomial roots cost O(M³) a path (3 s for 600 months), so
    the roots are bracketed on a grid of monthly rates for all paths at once and the bracket closest
    to zero is solved by scipy.optimize.brentq (tests check the two agree). A rate is kept only if it
    brings the NPV within 1e-6 of the flows' total size."""
    flows = np.atleast_2d(np.asarray(flows_usd, dtype=np.float64))
    months, grid, values = _npv_grid(flows)
    out = np.full(flows.shape[0], np.nan)
    roots = np.zeros(flows.shape[0])
    changes = _sign_changes(flows)
    for i, row in enumerate(flows):
        if changes[i] == 0:
            continue
        brackets = _brackets(values[i])
        roots[i] = brackets.size
        if brackets.size == 0:
            continue
        k = brackets[np.argmin(np.minimum(np.abs(grid[brackets]), np.abs(grid[brackets + 1])))]
        monthly = _solve(row, months, grid[k], grid[k + 1])
        if monthly is not None:
            out[i] = ((1.0 + monthly) ** 12 - 1.0) * 100.0
    return IrrPaths(irr_pct_per_year=out, roots=roots, sign_changes=changes)


def irr_pct_per_year(flows_usd: Array) -> Array:
    """(P,) the IRR of each path's monthly flows [%/year] (see :func:`irr_paths`); NaN where the flows
    do not change sign or no rate makes their NPV zero."""
    return irr_paths(flows_usd).irr_pct_per_year


def irr_roots_pct_per_year(flows_usd: Array) -> list[float]:
    """Every rate found that makes one series of monthly flows' NPV zero, annualised, ascending
    [%/year] (empty: none)."""
    row = np.asarray(flows_usd, dtype=np.float64).reshape(-1)
    months, grid, values = _npv_grid(row[None, :])
    found = []
    if _sign_changes(row[None, :])[0] > 0:
        for k in _brackets(values[0]):
            monthly = _solve(row, months, grid[k], grid[k + 1])
            if monthly is not None:
                found.append(((1.0 + monthly) ** 12 - 1.0) * 100.0)
    return sorted(found)


def payback_month(flows_usd: Array) -> Array:
    """Month index at which each path's cumulative flow, having been negative, is back at ≥ 0.

    ``flows_usd`` is (P, M); the result is (P,) months since month 0 (float): 0 where the cumulative
    flow is never negative, NaN where it never comes back (not paid back within the horizon). A
    cumulative flow within 1e-9 of the flows' total size of zero counts as zero (rounding)."""
    flows = np.atleast_2d(np.asarray(flows_usd, dtype=np.float64))
    cumulative = np.cumsum(flows, axis=1)
    tolerance = 1e-9 * np.abs(flows).sum(axis=1, keepdims=True)
    negative = cumulative < -tolerance
    out = np.full(flows.shape[0], np.nan)
    for i in range(flows.shape[0]):
        below = np.flatnonzero(negative[i])
        if below.size == 0:
            out[i] = 0.0
            continue
        back = np.flatnonzero(~negative[i, below[0] :])
        if back.size:
            out[i] = float(below[0] + back[0])
    return out


def dscr(cfads_usd: Array, debt_service_usd: Array, period_months: int = 12) -> Array:
    """Debt service coverage ratio per period: cash flow available for debt service / debt service.

    Both are (P, M) monthly amounts; debt service is the amount paid (interest + principal, ≥ 0).
    Months are summed in consecutive periods of ``period_months`` from month 0 (the last may be
    shorter); the result is (P, K), NaN in periods without debt service."""
    if period_months < 1:
        raise ValueError(f"period_months = {period_months}: must be at least 1")
    cfads = np.atleast_2d(np.asarray(cfads_usd, dtype=np.float64))
    service = np.atleast_2d(np.asarray(debt_service_usd, dtype=np.float64))
    starts = np.arange(0, cfads.shape[1], period_months)
    cfads_k = np.add.reduceat(cfads, starts, axis=1)
    service_k = np.add.reduceat(service, starts, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(service_k > 0.0, cfads_k / service_k, np.nan)


def min_dscr(cfads_usd: Array, debt_service_usd: Array, period_months: int = 12) -> Array:
    """Each path's lowest :func:`dscr` over the periods with debt service; NaN without any."""
    ratios = dscr(cfads_usd, debt_service_usd, period_months)
    out = np.full(ratios.shape[0], np.nan)
    has = ~np.all(np.isnan(ratios), axis=1)
    out[has] = np.nanmin(ratios[has], axis=1)
    return out


@dataclass(frozen=True)
class LoanSchedule:
    """A loan's payments, one per month after the draw (index 0 = the first month after it).

    Amounts are what the borrower pays [USD, ≥ 0]; ``balance_usd`` is what is owed after each
    month's payment."""

    interest_usd: Array
    principal_usd: Array
    balance_usd: Array

    @property
    def debt_service_usd(self) -> Array:
        return np.asarray(self.interest_usd + self.principal_usd, dtype=np.float64)


def loan_schedule(
    principal_usd: float,
    rate_pct_per_year: float,
    tenor_months: int,
    amortisation: Amortisation,
    grace_months: int = 0,
) -> LoanSchedule:
    """Monthly payments of a loan drawn at once [USD].

    The rate is nominal annual, compounded monthly (rate/12 a month). ``grace_months`` of interest
    only come first (a construction period), then ``tenor_months`` of repayment:

    * ``annuity``: equal payments (numpy_financial.pmt), split by ``ipmt`` / ``ppmt``;
    * ``straight``: equal principal each month, interest on the balance;
    * ``bullet``: interest only, all principal in the last month.
    """
    if tenor_months < 1 or grace_months < 0:
        raise ValueError(f"tenor_months = {tenor_months}, grace_months = {grace_months}: need ≥ 1 and ≥ 0")
    rate = rate_pct_per_year / 100.0 / 12.0
    n = tenor_months
    principal: Array
    interest: Array
    if amortisation == "annuity":
        periods = np.arange(1, n + 1)
        if rate < 1e-12:  # no interest (npf.pmt divides by the rate)
            principal = np.full(n, principal_usd / n)
            interest = np.zeros(n)
        else:
            principal = -np.asarray(npf.ppmt(rate, periods, n, principal_usd), dtype=np.float64)
            interest = -np.asarray(npf.ipmt(rate, periods, n, principal_usd), dtype=np.float64)
    elif amortisation == "straight":
        principal = np.full(n, principal_usd / n)
        opening = principal_usd - principal_usd / n * np.arange(n)
        interest = np.asarray(opening * rate, dtype=np.float64)
    elif amortisation == "bullet":
        principal = np.zeros(n)
        principal[-1] = principal_usd
        interest = np.full(n, principal_usd * rate)
    else:  # pragma: no cover - Literal
        raise ValueError(f"amortisation = {amortisation!r}: one of annuity, straight, bullet")
    interest = np.concatenate([np.full(grace_months, principal_usd * rate), interest])
    principal = np.concatenate([np.zeros(grace_months), principal])
    balance = principal_usd - np.cumsum(principal)
    balance[np.abs(balance) < 1e-9 * max(principal_usd, 1.0)] = 0.0
    return LoanSchedule(interest_usd=interest, principal_usd=principal, balance_usd=balance)


def tax_with_loss_carryforward(
    taxable_income_usd: Array, tax_rate_pct: float, offset_limit_pct: float = 100.0
) -> tuple[Array, Array]:
    """Income tax paid each month with losses carried forward, per path [USD, ≥ 0].

    The rule: a month's loss (negative taxable income) is carried forward without expiry; no tax is
    refunded and no loss is carried back. A month with positive income first uses the losses
    carried, up to ``offset_limit_pct`` of that income (100: all of it; US federal losses arising
    after 2017: 80), and pays ``tax_rate_pct`` on the rest. Months are taxed as they come (a monthly
    model of an annual return: the year's total is the same unless a loss arises after income in
    the same year).

    ``taxable_income_usd`` is (P, M); returns the tax paid (P, M) and the losses still carried after
    each month (P, M), both ≥ 0.
    """
    income = np.atleast_2d(np.asarray(taxable_income_usd, dtype=np.float64))
    rate, limit = tax_rate_pct / 100.0, offset_limit_pct / 100.0
    tax = np.zeros_like(income)
    carried = np.zeros_like(income)
    pool = np.zeros(income.shape[0])
    for t in range(income.shape[1]):
        month = income[:, t]
        used = np.minimum(pool, np.maximum(month, 0.0) * limit)
        tax[:, t] = np.maximum(month - used, 0.0) * rate
        pool = pool - used + np.maximum(-month, 0.0)
        carried[:, t] = pool
    return tax, carried
