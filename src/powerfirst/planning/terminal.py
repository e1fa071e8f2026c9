"""Terminal value: what the plan (and the baseline) still hold at the horizon, booked in its last month.

A cash-flow model cut at a horizon counts the costs of assets bought before it in full; without a
terminal value it counts none of what they are still worth, while the debt still owed is repaid in
the last month: an NPV biased low. ``terminal_value: {method: salvage}`` (the default) books a
*deemed sale at the horizon* of each asset the scenario can value, on its own line
(``terminal_value_usd``) in the horizon's last month (month M − 1, the date of that month's flows):

* **GPUs held at the horizon** (an own GPU cloud): at their resale value by the scenario's own curve,
  the straight line from their cost when bought (age 0) to ``resale_pct_of_cost`` at the refresh
  age (``refresh_years``): GPUs aged ``a`` months of a refresh age ``L`` months are worth
  ``cost × (1 − (1 − resale_pct_of_cost/100) × a / L)``, so a refresh's sale (a = L) is the same
  figure as before. The age is counted to the end of the horizon (a = M − month bought). Without
  ``refresh_years`` the GPUs are worth ``resale_pct_of_cost`` of their cost at the horizon, whatever
  their age (the scenario gives no other point of the curve).
* **A colocation lease's remaining contracted term**: the net cash of the rent months after the
  horizon (rent as the deal defines it, escalated, after any prepaid rent still to be credited; less
  the landlord's ``opex_usd_per_mw_month`` and, for a ``gross`` lease, the power at the mean cost of
  a flat MW over the path's last 12 months), discounted at the scenario's discount rate to month
  M − 1: month M + k is divided by (1 + r_m)^(k + 1). The NPV then counts the lease's rent exactly
  as if the horizon ran to the term's end. The term is the months the plan counts rent for: the
  initial term, plus the renewals only where the scenario itself sets ``assume_exercised: true``.
  Re-leasing after the term is not counted.
* **Anything else** is worth nothing unless the scenario says so: ``facility_usd_per_mw`` (the
  hall's shell, power and cooling per converted MW, on top of a lease's remaining rent) and
  ``mining_usd_per_mw`` (the mining fleet's resale per MW still mining at the horizon, in the plan
  and the baseline alike).

**Tax**: a deemed sale is taxed as a GPU refresh's sale is: the proceeds are taxable income and the
asset's basis not yet depreciated is deducted in the same month (so the taxable gain is the proceeds
less that basis; a loss joins the losses carried forward, which are worth nothing past the horizon).
The hall's basis is written off only where the hall has a value (a lease's remaining rent or
``facility_usd_per_mw``); GPUs held are always deemed sold (at 0 when their resale is 0). The
mining fleet's basis is not modelled (its capex is sunk): its proceeds are taxed in full.

``method: none`` books nothing (assets held and rent after the horizon count for nothing, the
figures of earlier versions).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from powerfirst._types import Array
from powerfirst.planning.deals import ColocationLease, GpuCloud
from powerfirst.planning.finance import monthly_discount_rate
from powerfirst.site.strict import Strict

__all__ = ["TerminalValue", "gpu_value_fraction", "lease_rent_usd", "lease_terminal_usd"]


class TerminalValue(Strict):
    """How the assets held at the horizon are valued (see :mod:`powerfirst.planning.terminal`)."""

    method: Literal["salvage", "none"] = "salvage"
    """``salvage``: a deemed sale at the horizon (GPUs at resale, a lease's remaining rent); ``none``:
    nothing is worth anything after the horizon."""
    facility_usd_per_mw: float = Field(default=0.0, ge=0.0, le=50e6)
    """What each phase's hall is worth at the horizon per converted utility MW, besides a lease's
    remaining rent [USD/MW] (default 0: not counted)."""
    mining_usd_per_mw: float = Field(default=0.0, ge=0.0, le=5e6)
    """What the mining fleet sells for at the horizon per MW still mining [USD/MW] (default 0)."""

    @model_validator(mode="after")
    def _check_method(self) -> TerminalValue:
        if self.method == "none":
            given = [n for n in ("facility_usd_per_mw", "mining_usd_per_mw") if getattr(self, n) > 0.0]
            if given:
                raise ValueError(
                    f"{given[0]} = {getattr(self, given[0]):g} USD/MW is given but method = 'none' counts no "
                    "terminal value: set method: salvage, or leave it out (0 USD/MW)"
                )
        return self

    @property
    def on(self) -> bool:
        """Whether a terminal value is booked."""
        return self.method != "none"


def gpu_value_fraction(cloud: GpuCloud, age_months: int) -> float:
    """What GPUs aged ``age_months`` sell for [fraction of their cost] (the straight line from 1 at
    age 0 to ``resale_pct_of_cost`` at the refresh age; without a refresh cycle, that share at any age)."""
    resale = cloud.resale_pct_of_cost / 100.0
    if cloud.refresh_years is None:
        return resale
    life = 12 * cloud.refresh_years
    return 1.0 - (1.0 - resale) * min(max(age_months, 0), life) / life


def lease_rent_usd(lease: ColocationLease, convert_mw: float, commissioning: int, num_months: int) -> Array:
    """(num_months,) rent received in cash each month from month 0 [USD]: the term's rent, stepped
    by the escalator on each anniversary, less the prepaid rent credited against the first rents
    (the prepayment itself is not in this line)."""
    t = np.arange(num_months)
    active = (t >= commissioning) & (t < commissioning + lease.lease_months)
    years = np.maximum(t - commissioning, 0) // 12
    rent = (
        active
        * lease.rate_usd_per_mw_year
        * convert_mw
        * lease.it_fraction
        / 12.0
        * (1.0 + lease.escalator_pct_per_year / 100.0) ** years
    )
    credited = np.minimum(np.cumsum(rent), lease.prepayment_usd)
    return np.asarray(rent - np.diff(credited, prepend=0.0), dtype=np.float64)


def lease_terminal_usd(
    lease: ColocationLease,
    convert_mw: float,
    commissioning: int,
    num_months: int,
    power_cost_usd_per_mw_month: Array,
    discount_rate_pct_per_year: float,
) -> Array:
    """(P,) the lease's remaining contracted net cash after the horizon, discounted to the horizon's
    last month [USD] (see the module docstring). ``power_cost_usd_per_mw_month`` is (P, M): a gross
    lease's landlord pays the power after the horizon at the mean of each path's last 12 months."""
    paths = power_cost_usd_per_mw_month.shape[0]
    end = commissioning + lease.lease_months
    if end <= num_months:
        return np.zeros(paths)
    rent = lease_rent_usd(lease, convert_mw, commissioning, end)[num_months:]
    active = (np.arange(num_months, end) >= commissioning).astype(np.float64)
    net = np.broadcast_to(rent - active * convert_mw * lease.opex_usd_per_mw_month, (paths, rent.size))
    if lease.structure == "gross":
        recent = power_cost_usd_per_mw_month[:, max(num_months - 12, 0) :].mean(axis=1)
        net = net - convert_mw * recent[:, None] * active[None, :]
    monthly = monthly_discount_rate(discount_rate_pct_per_year)
    discount = (1.0 + monthly) ** -np.arange(1.0, rent.size + 1.0)
    return np.asarray(net @ discount, dtype=np.float64)
