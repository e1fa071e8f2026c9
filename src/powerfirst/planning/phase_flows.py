"""One phase's monthly cash flows: its capex, then a colocation lease's rent or a GPU cloud's rentals.

Timeline of a phase starting at month s with a build of b months (commissioning month c = s + b):
the conversion capex is paid at s; nothing is earned before c; from c on, a lease pays rent (for
its term, and the renewals when counted on) and a GPU cloud buys its GPUs at c (and every refresh
after, selling the old ones) and rents them out. With a terminal value
(:mod:`powerfirst.planning.terminal`) the GPUs held and the lease's remaining rent are booked as a
deemed sale in the horizon's last month. Sign convention: inflows positive, costs negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from powerfirst._types import Array, IntArray
from powerfirst.planning.deals import ColocationLease, Depreciation, GpuCloud
from powerfirst.planning.depreciation import depreciation_fractions, depreciation_usd
from powerfirst.planning.scenario import Phase
from powerfirst.planning.terminal import TerminalValue, gpu_value_fraction, lease_rent_usd, lease_terminal_usd

__all__ = ["CapexEvent", "PhaseContext", "PhaseLines", "paths_view", "phase_lines"]


def paths_view(values: Array, shape: tuple[int, int]) -> Array:
    """``values`` ((M,) or (P, M)) as (P, M): a read-only view for a line the same on every path
    (no copy per path), the array itself otherwise."""
    return np.broadcast_to(np.asarray(values, dtype=np.float64), shape)


@dataclass(frozen=True)
class PhaseContext:
    """What every phase's flows read: the months and the driver paths, (P, M) where not said."""

    num_months: int
    days: IntArray
    """(M,) days of each month."""
    gpu_usd_per_gpu_hour: Array
    """GPU rental price of each path and month [USD/GPU-hour]."""
    ai_power_cost_usd_per_mw_month: Array
    """Cost of one MW drawn flat in each path's market year and calendar month [USD/MW-month]."""
    depreciation: Depreciation
    terminal: TerminalValue = field(default_factory=TerminalValue)
    """How what is held at the horizon is valued."""
    discount_rate_pct_per_year: float = 0.0
    """The scenario's discount rate (a lease's remaining rent is discounted at it) [%/year]."""


@dataclass(frozen=True)
class CapexEvent:
    """An initial capex the debt may fund: paid at ``month``; repaid from ``commissioning_month``."""

    amount_usd: float
    month: int
    commissioning_month: int


@dataclass(frozen=True)
class PhaseLines:
    """A phase's monthly line items, (P, M) [USD]: inflows positive, costs negative.

    ``depreciation_usd`` is the tax deduction of the phase's assets (≥ 0, not a cash flow).
    """

    name: str
    revenue_usd: Array
    power_usd: Array
    opex_usd: Array
    capex_usd: Array
    resale_usd: Array
    terminal_usd: Array
    """The deemed sale at the horizon (last month only; 0 without a terminal value)."""
    depreciation_usd: Array
    capex_events: tuple[CapexEvent, ...]

    @property
    def operating_usd(self) -> Array:
        """Revenue − power − opex (before capex, resale and tax) [USD]."""
        return np.asarray(self.revenue_usd + self.power_usd + self.opex_usd, dtype=np.float64)


def _window(start: int, months: int, num_months: int) -> Array:
    """(M,) 1.0 in months [start, start + months) within the horizon, else 0."""
    t = np.arange(num_months)
    return np.asarray((t >= start) & (t < start + months), dtype=np.float64)


def _lease(phase: Phase, lease: ColocationLease, c: int, ctx: PhaseContext) -> tuple[Array, Array, Array]:
    """Rent (cash, after the prepaid rent is used up), power and opex of a lease, (P, M) or (M,)."""
    m = ctx.num_months
    active = _window(c, lease.lease_months, m)
    rent_cash = lease_rent_usd(lease, phase.convert_mw, c, m)
    power = np.zeros_like(ctx.ai_power_cost_usd_per_mw_month)
    if lease.structure == "gross":
        power = -phase.convert_mw * ctx.ai_power_cost_usd_per_mw_month * active
    opex = -phase.convert_mw * lease.opex_usd_per_mw_month * active
    return rent_cash, power, opex


def _gpu_purchases(cloud: GpuCloud, c: int, m: int) -> list[int]:
    """Months the GPUs are bought (the first at commissioning), within the horizon."""
    if c >= m:
        return []
    if cloud.refresh_years is None:
        return [c]
    return list(range(c, m, 12 * cloud.refresh_years))


def phase_lines(phase: Phase, start: int, ctx: PhaseContext) -> PhaseLines:
    """The line items of ``phase`` starting at month index ``start``."""
    m, paths = ctx.num_months, ctx.gpu_usd_per_gpu_hour.shape[0]
    c = start + phase.build_months
    shape = (paths, m)
    capex = np.zeros(m)
    capex[start] -= phase.capex_usd
    terminal: Array = np.zeros(paths)
    business = phase.business
    if ctx.terminal.on:
        terminal = terminal + ctx.terminal.facility_usd_per_mw * phase.convert_mw
        if isinstance(business, ColocationLease):
            terminal = terminal + lease_terminal_usd(
                business,
                phase.convert_mw,
                c,
                m,
                ctx.ai_power_cost_usd_per_mw_month,
                ctx.discount_rate_pct_per_year,
            )
    hall_sold = ctx.terminal.on and bool(np.any(terminal != 0.0))
    depreciation = depreciation_usd(
        phase.capex_usd,
        min(c, m - 1) if hall_sold else c,
        m,
        depreciation_fractions(ctx.depreciation.facility.method, ctx.depreciation.facility.years),
        sold_month=m - 1 if hall_sold else None,
    )
    resale = np.zeros(m)
    events = [CapexEvent(phase.capex_usd, start, c)] if phase.capex_usd > 0 else []
    if isinstance(business, ColocationLease):
        revenue, power, opex = _lease(phase, business, c, ctx)
        revenue = revenue + np.where(np.arange(m) == start, business.prepayment_usd, 0.0)
    else:
        running = _window(c, m, m)
        hours = 24.0 * ctx.days * running
        revenue = (
            business.gpus
            * hours
            * business.utilisation_pct
            / 100.0
            * business.price_premium_factor
            * ctx.gpu_usd_per_gpu_hour
        )
        power = -business.utility_mw * ctx.ai_power_cost_usd_per_mw_month * running
        opex = -business.gpus * business.opex_usd_per_gpu_month * running
        purchases = _gpu_purchases(business, c, m)
        cost = business.gpus * business.usd_per_gpu
        gpu_fractions = depreciation_fractions(ctx.depreciation.gpus.method, ctx.depreciation.gpus.years)
        for k, month in enumerate(purchases):
            capex[month] -= cost
            sold = purchases[k + 1] if k + 1 < len(purchases) else None
            if sold is not None:
                resale[sold] += cost * business.resale_pct_of_cost / 100.0
            elif ctx.terminal.on:  # held at the horizon: deemed sold in its last month
                sold = m - 1
                terminal = terminal + cost * gpu_value_fraction(business, m - month)
            depreciation += depreciation_usd(cost, month, m, gpu_fractions, sold_month=sold)
        if purchases:
            events.append(CapexEvent(cost, c, c))
    terminal_line = np.zeros(shape)
    terminal_line[:, m - 1] = terminal
    return PhaseLines(
        name=phase.name,
        revenue_usd=paths_view(revenue, shape),
        power_usd=paths_view(power, shape),
        opex_usd=paths_view(opex, shape),
        capex_usd=paths_view(capex, shape),
        resale_usd=paths_view(resale, shape),
        terminal_usd=terminal_line,
        depreciation_usd=paths_view(depreciation, shape),
        capex_events=tuple(events),
    )
