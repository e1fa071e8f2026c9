"""A scenario's monthly cash flows under driver paths: the plan, and the baseline of staying with mining.

Both are (P, M) arrays per line item, in nominal USD, inflows positive, costs negative:

* mining: MW still mining × the backtest's margin per MW (at the path's hashprice, market year and
  calendar month) − mining opex − sustaining capex; the plan's mining MW fall by each phase's
  ``convert_mw`` at its start; the baseline mines the site's MW throughout;
* contract: the margin table's site-level ``contract_fixed_margin_usd_per_month`` (a fixed block's
  ``(p − K)·Q``, by the path-month's market year and calendar month), the same in the plan and the
  baseline; a month the table has no figure for (NaN) counts 0, with a note;
* each phase (:mod:`powerfirst.planning.phase_flows`): capex, then rent or GPU rentals, power, opex,
  GPU refreshes and resale;
* terminal value (``terminal_value_usd``, the horizon's last month only): a deemed sale of what is
  held at the horizon, by :mod:`powerfirst.planning.terminal` (GPUs at their resale value, a
  lease's remaining contracted net rent discounted to the horizon, the hall and the mining fleet at
  the scenario's own figures, 0 by default); ``terminal_value: {method: none}`` books none;
* debt (``financing``): draws pro rata to each initial capex when it is paid, interest only until
  the phase's build ends, then repaid over the tenor; the balance owed at the horizon is repaid in
  its last month; an equipment lease's payments;
* tax: ``tax_rate_pct`` of EBITDA + sustaining capex + resale + terminal value − depreciation (with
  the basis left of what is deemed sold at the horizon) − interest, with losses
  carried forward (:func:`powerfirst.planning.finance.tax_with_loss_carryforward`), for the site as
  one taxpayer (the baseline taxed alike).

With ``terminal_value: {method: none}`` assets still held at the horizon, and rent beyond it, are
worth nothing in the NPV while the debt still owed is repaid: a figure biased low.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from powerfirst._types import Array, IntArray
from powerfirst.errors import DataError
from powerfirst.planning.finance import loan_schedule, tax_with_loss_carryforward
from powerfirst.planning.inputs import DriverPaths, MarginTable
from powerfirst.planning.months import days_in_months, month_offset
from powerfirst.planning.phase_flows import CapexEvent, PhaseContext, PhaseLines, paths_view, phase_lines
from powerfirst.planning.results import PathMetrics, PlanSummary, path_metrics, summarise
from powerfirst.planning.scenario import Scenario, ScenarioFile

__all__ = ["CashFlowLines", "CashFlows", "plan_cashflows"]


@dataclass(frozen=True)
class CashFlowLines:
    """Monthly line items of one case (the plan or the baseline), each (P, M) [USD]; inflows positive.

    ``depreciation_usd`` (≥ 0) and ``taxable_income_usd`` are tax figures, not cash flows. A line
    the same on every path may be a read-only broadcast view (copy it before writing to it)."""

    mining_margin_usd: Array
    mining_opex_usd: Array
    mining_sustaining_capex_usd: Array
    contract_fixed_margin_usd: Array
    """The contract's site-level margin (a fixed block's fixed part), the same whatever is converted."""
    ai_revenue_usd: Array
    ai_power_usd: Array
    ai_opex_usd: Array
    equipment_lease_usd: Array
    capex_usd: Array
    resale_usd: Array
    terminal_value_usd: Array
    """The deemed sale of what is held at the horizon (its last month only) [USD]."""
    debt_draw_usd: Array
    interest_usd: Array
    principal_usd: Array
    depreciation_usd: Array
    taxable_income_usd: Array
    tax_usd: Array
    net_usd: Array
    """Net cash flow to equity: every cash line above summed."""

    @property
    def ebitda_usd(self) -> Array:
        """Operating cash flow before capex, financing and tax [USD]."""
        total = (
            self.mining_margin_usd
            + self.mining_opex_usd
            + self.contract_fixed_margin_usd
            + self.ai_revenue_usd
            + self.ai_power_usd
            + self.ai_opex_usd
            + self.equipment_lease_usd
        )
        return np.asarray(total, dtype=np.float64)

    @property
    def cfads_usd(self) -> Array:
        """Cash flow available for debt service: EBITDA − sustaining capex − tax [USD]."""
        return np.asarray(self.ebitda_usd + self.mining_sustaining_capex_usd + self.tax_usd, dtype=np.float64)

    @property
    def debt_service_usd(self) -> Array:
        """Interest and principal paid [USD, ≥ 0]."""
        return np.asarray(-(self.interest_usd + self.principal_usd), dtype=np.float64)

    def as_columns(self) -> dict[str, Array]:
        """Every line item by name (the cash lines, the tax figures and ``ebitda_usd``)."""
        columns = {f.name: getattr(self, f.name) for f in fields(self)}
        columns["ebitda_usd"] = self.ebitda_usd
        return columns


@dataclass(frozen=True)
class CashFlows:
    """The plan and the baseline's line items, each phase's, and the metrics per path."""

    start_month: str
    plan: CashFlowLines
    baseline: CashFlowLines
    phases: tuple[PhaseLines, ...]
    metrics: PathMetrics
    summary: PlanSummary

    @property
    def difference_usd(self) -> Array:
        """(P, M) plan − baseline net cash flow [USD]: what the conversion adds."""
        return np.asarray(self.plan.net_usd - self.baseline.net_usd, dtype=np.float64)


def _year_index(paths: DriverPaths, margins: MarginTable) -> np.ndarray:
    """(P, M) index into the margin table's market years of each path's market year."""
    lookup = np.full(len(paths.market_years), -1, dtype=np.int64)
    for i, year in enumerate(paths.market_years):
        if year in margins.market_years:
            lookup[i] = margins.market_years.index(year)
    index = lookup[paths.market_year]
    if np.any(index < 0):
        missing = sorted({paths.market_years[i] for i in np.unique(paths.market_year[index < 0])})
        raise DataError(
            f"the driver paths use market years {missing} that the margin table of {margins.site_name!r} "
            f"has no backtest of (it has {list(margins.market_years)})"
        )
    return index


def _contract_fixed(margins: MarginTable, years: IntArray, calendar: IntArray) -> tuple[Array, list[str]]:
    """(P, M) the table's site-level contract margin [USD/month] (0 without one; NaN as 0, said)."""
    table = margins.contract_fixed_margin_usd_per_month
    if table is None:
        return paths_view(np.zeros(years.shape[1]), (years.shape[0], years.shape[1])), []
    values = np.asarray(table, dtype=np.float64)[years, calendar[None, :]]
    missing = ~np.isfinite(values)
    if not missing.any():
        return values, []
    months = sorted({int(c) + 1 for c in calendar[np.nonzero(missing)[1]]})
    note = (
        f"the contract's site-level margin (fixed block) has no figure in {int(missing.sum()):,} path-months "
        f"(calendar months {', '.join(map(str, months))} of the margin table): counted as 0 USD"
    )
    return np.where(missing, 0.0, values), [note]


def _check_paths(spec: ScenarioFile, paths: DriverPaths) -> None:
    if paths.start_month != spec.start_month or paths.num_months < spec.horizon_months:
        raise DataError(
            f"the driver paths start {paths.start_month} and run {paths.num_months} months; the scenario "
            f"starts {spec.start_month} and needs {spec.horizon_months} months (horizon_months)"
        )


def _debt(spec: ScenarioFile, events: list[CapexEvent], m: int) -> tuple[Array, Array, Array]:
    """(M,) draws (+), interest (−) and principal (−) of the debt on the initial capex events."""
    draw, interest, principal = np.zeros(m), np.zeros(m), np.zeros(m)
    financing = spec.financing
    if financing is None or not financing.has_debt or not events:
        return draw, interest, principal
    assert financing.rate_pct_per_year is not None and financing.tenor_years is not None  # validated
    share = financing.debt_share(spec.initial_capex_usd)
    for event in events:
        amount = share * event.amount_usd
        if amount <= 0.0:
            continue
        draw[event.month] += amount
        loan = loan_schedule(
            amount,
            financing.rate_pct_per_year,
            12 * financing.tenor_years,
            financing.amortisation,
            grace_months=max(event.commissioning_month - event.month, 0),
        )
        first = event.month + 1
        n = max(min(loan.interest_usd.size, m - first), 0)
        interest[first : first + n] -= loan.interest_usd[:n]
        principal[first : first + n] -= loan.principal_usd[:n]
        owed = loan.balance_usd[n - 1] if n else amount
        principal[m - 1] -= owed  # repaid at the horizon
    return draw, interest, principal


def _equipment_lease(spec: ScenarioFile, m: int) -> Array:
    out = np.zeros(m)
    lease = spec.financing.equipment_lease if spec.financing else None
    if lease is None:
        return out
    first = (
        month_offset(spec.start_month, lease.start_month)
        if lease.start_month
        else min(spec.phase_start(p) for p in spec.phases)
    )
    out[first : min(first + lease.months, m)] = -lease.usd_per_month
    return out


def _lines(
    spec: ScenarioFile,
    mining_mw: Array,
    margin_per_mw: Array,
    contract_fixed: Array,
    phases: tuple[PhaseLines, ...],
    debt: tuple[Array, Array, Array],
    equipment_lease: Array,
) -> CashFlowLines:
    """The case's line items; ``mining_mw`` (M,) MW still mining each month."""
    shape = (margin_per_mw.shape[0], margin_per_mw.shape[1])
    nothing = paths_view(np.zeros(shape[1]), shape)

    def total(name: str) -> Array:
        lines = [getattr(p, name) for p in phases]
        return np.asarray(sum(lines[1:], lines[0]), dtype=np.float64) if lines else nothing

    draw, interest, principal = (paths_view(x, shape) for x in debt)
    mining = margin_per_mw * mining_mw
    opex = paths_view(-mining_mw * spec.mining.opex_usd_per_mw_month, shape)
    sustaining = paths_view(-mining_mw * spec.mining.sustaining_capex_usd_per_mw_month, shape)
    revenue, power, ai_opex = total("revenue_usd"), total("power_usd"), total("opex_usd")
    capex, resale, depreciation = total("capex_usd"), total("resale_usd"), total("depreciation_usd")
    terminal = total("terminal_usd")
    if spec.terminal_value.on and spec.terminal_value.mining_usd_per_mw > 0.0:
        fleet = np.zeros(shape[1])  # the mining fleet's basis is not modelled: its proceeds are all gain
        fleet[-1] = spec.terminal_value.mining_usd_per_mw * mining_mw[-1]
        terminal = terminal + fleet
    lease = paths_view(equipment_lease, shape)
    ebitda = mining + opex + contract_fixed + revenue + power + ai_opex + lease
    taxable = ebitda + sustaining + resale + terminal - depreciation + interest
    tax_paid, _ = tax_with_loss_carryforward(taxable, spec.tax_rate_pct, spec.loss_offset_limit_pct)
    net = ebitda + sustaining + capex + resale + terminal + draw + interest + principal - tax_paid
    return CashFlowLines(
        mining_margin_usd=mining,
        mining_opex_usd=opex,
        mining_sustaining_capex_usd=sustaining,
        contract_fixed_margin_usd=contract_fixed,
        ai_revenue_usd=revenue,
        ai_power_usd=power,
        ai_opex_usd=ai_opex,
        equipment_lease_usd=lease,
        capex_usd=capex,
        resale_usd=resale,
        terminal_value_usd=paths_view(terminal, shape),
        debt_draw_usd=draw,
        interest_usd=interest,
        principal_usd=principal,
        depreciation_usd=depreciation,
        taxable_income_usd=taxable,
        tax_usd=-tax_paid,
        net_usd=net,
    )


def plan_cashflows(scenario: Scenario, paths: DriverPaths, margins: MarginTable) -> CashFlows:
    """Monthly cash flows of the plan and of the baseline (all mining) under every driver path, with
    NPV, IRR, payback and DSCR per path and their distribution (see the module docstring).

    ``paths`` must start at the scenario's ``start_month`` and cover ``horizon_months`` (longer paths
    are cut); every market year they use must be in ``margins``. Raises DataError otherwise."""
    spec = scenario.file
    _check_paths(spec, paths)
    m = spec.horizon_months
    years = _year_index(paths, margins)[:, :m]
    calendar = paths.calendar_month[:m]
    margin_per_mw = margins.mining_margin(years, calendar[None, :], paths.hashprice_usd_per_th_day[:, :m])
    ai_power = margins.ai_power_cost_usd_per_mw_month[years, calendar[None, :]]
    contract_fixed, fixed_note = _contract_fixed(margins, years, calendar)
    ctx = PhaseContext(
        num_months=m,
        days=days_in_months(spec.start_month, m),
        gpu_usd_per_gpu_hour=np.asarray(paths.gpu_usd_per_gpu_hour[:, :m], dtype=np.float64),
        ai_power_cost_usd_per_mw_month=np.asarray(ai_power, dtype=np.float64),
        depreciation=spec.depreciation,
        terminal=spec.terminal_value,
        discount_rate_pct_per_year=spec.discount_rate_pct_per_year,
    )
    phases = tuple(phase_lines(p, spec.phase_start(p), ctx) for p in spec.phases)
    t = np.arange(m)
    converted = sum((p.convert_mw * (t >= spec.phase_start(p)) for p in spec.phases), np.zeros(m))
    plan_mining_mw = np.maximum(scenario.mining_mw - converted, 0.0)
    events = [e for p in phases for e in p.capex_events]
    plan = _lines(
        spec,
        plan_mining_mw,
        margin_per_mw,
        contract_fixed,
        phases,
        _debt(spec, events, m),
        _equipment_lease(spec, m),
    )
    none = (np.zeros(m), np.zeros(m), np.zeros(m))
    baseline = _lines(
        spec, np.full(m, scenario.mining_mw), margin_per_mw, contract_fixed, (), none, np.zeros(m)
    )
    metrics = path_metrics(
        spec.discount_rate_pct_per_year,
        plan.net_usd,
        baseline.net_usd,
        plan.cfads_usd,
        plan.debt_service_usd,
        plan.terminal_value_usd.sum(axis=1),
        baseline.terminal_value_usd.sum(axis=1),
    )
    summary = summarise(scenario, margins, metrics, seed=paths.seed, notes=fixed_note)
    return CashFlows(
        start_month=spec.start_month,
        plan=plan,
        baseline=baseline,
        phases=phases,
        metrics=metrics,
        summary=summary,
    )
