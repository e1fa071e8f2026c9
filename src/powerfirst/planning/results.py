"""A plan's decision metrics: per path (arrays) and their distribution (``summary.json``).

The conversion is judged on the *difference* plan − baseline (what converting adds to staying with
mining): its NPV, its IRR and its payback. The plan's NPV and the baseline's are reported too, and
the DSCR is the plan's (the site's cash flow available for debt service over the debt service, per
12-month period from the first month). Percentiles: P10 is the value 10 % of paths fall below (90 %
of paths do better), P50 the median, P90 the value 90 % fall below. The terminal value booked at the
horizon (:mod:`powerfirst.planning.terminal`) is reported apart, for the plan and the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from powerfirst._types import Array
from powerfirst.accounting.results.base import ResultModel
from powerfirst.errors import DataError
from powerfirst.planning.finance import irr_paths, irr_roots_pct_per_year, min_dscr, npv_usd, payback_month
from powerfirst.planning.horizon import horizon_notes

if TYPE_CHECKING:
    from powerfirst.planning.inputs import MarginTable
    from powerfirst.planning.scenario import Scenario

__all__ = [
    "Distribution",
    "PathMetrics",
    "PlanSummary",
    "horizon_notes",
    "irr_count_notes",
    "irr_root_notes",
    "path_metrics",
    "summarise",
]


@dataclass(frozen=True)
class PathMetrics:
    """Metrics of each path, (P,) each; NaN where a metric does not exist on a path."""

    npv_plan_usd: Array
    npv_baseline_usd: Array
    npv_difference_usd: Array
    """NPV of plan − baseline net flows [USD] (= the two NPVs' difference)."""
    irr_difference_pct_per_year: Array
    """IRR of plan − baseline net flows, annualised [%/year]; NaN: no sign change or no rate. Where
    several rates make the NPV zero, the one closest to zero."""
    irr_roots_difference: Array
    """Rates found that make the difference's NPV zero [count]; more than 1: the IRR is ambiguous."""
    irr_sign_changes_difference: Array
    """Sign changes of the difference's monthly flows: the most IRRs there can be [count]."""
    payback_month_difference: Array
    """Month index at which the conversion's cumulative flow is back at ≥ 0; NaN: not within the horizon."""
    min_dscr: Array
    """The plan's lowest annual DSCR [-]; NaN: no debt service."""
    terminal_value_plan_usd: Array
    """The plan's terminal value, booked in the horizon's last month (before tax) [USD]."""
    terminal_value_baseline_usd: Array
    """The baseline's terminal value (its mining fleet, when valued) [USD]."""


def path_metrics(
    discount_rate_pct_per_year: float,
    plan_net_usd: Array,
    baseline_net_usd: Array,
    plan_cfads_usd: Array,
    plan_debt_service_usd: Array,
    terminal_value_plan_usd: Array,
    terminal_value_baseline_usd: Array,
) -> PathMetrics:
    """NPV, IRR, payback and DSCR of each path from its (P, M) monthly flows; the terminal values
    are (P,) [USD]."""
    difference = plan_net_usd - baseline_net_usd
    npv_plan = npv_usd(discount_rate_pct_per_year, plan_net_usd)
    npv_baseline = npv_usd(discount_rate_pct_per_year, baseline_net_usd)
    irr = irr_paths(difference)
    return PathMetrics(
        npv_plan_usd=npv_plan,
        npv_baseline_usd=npv_baseline,
        npv_difference_usd=npv_usd(discount_rate_pct_per_year, difference),
        irr_difference_pct_per_year=irr.irr_pct_per_year,
        irr_roots_difference=irr.roots,
        irr_sign_changes_difference=irr.sign_changes,
        payback_month_difference=payback_month(difference),
        min_dscr=min_dscr(plan_cfads_usd, plan_debt_service_usd, 12),
        terminal_value_plan_usd=np.asarray(terminal_value_plan_usd, dtype=np.float64),
        terminal_value_baseline_usd=np.asarray(terminal_value_baseline_usd, dtype=np.float64),
    )


class Distribution(ResultModel):
    """A metric's distribution over the paths where it exists."""

    p10: float
    p50: float
    p90: float
    mean: float
    paths: int
    """Paths the metric exists on [count]."""

    @classmethod
    def of(cls, values: Array) -> Distribution | None:
        """The distribution of the finite values; None when there are none."""
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return None
        p10, p50, p90 = (float(x) for x in np.percentile(finite, [10.0, 50.0, 90.0]))
        return cls(p10=p10, p50=p50, p90=p90, mean=float(finite.mean()), paths=int(finite.size))


class PlanSummary(ResultModel):
    """The decision figures of a plan over its driver paths (``summary.json``)."""

    omitted_when_none: ClassVar[frozenset[str]] = frozenset(
        {"seed", "min_dscr", "terminal_value_plan_usd", "terminal_value_baseline_usd"}
    )

    scenario: str
    site: str
    start_month: str
    horizon_months: int
    num_paths: int
    seed: int | None
    """The drivers' random seed (None: deterministic)."""
    discount_rate_pct_per_year: float
    mining_mw: float
    """The site's mining MW [MW at the meter]."""
    converted_mw: float
    """MW all phases convert [MW at the meter]."""
    npv_plan_usd: Distribution
    npv_baseline_usd: Distribution
    npv_difference_usd: Distribution
    """NPV of what converting adds (plan − baseline) [USD]."""
    probability_plan_beats_baseline: float
    """Share of paths where the plan's NPV is above the baseline's [fraction, 0 to 1]."""
    irr_difference_pct_per_year: Distribution | None
    """IRR of the conversion (plan − baseline flows) over the paths it exists on [%/year]; on a path
    with several, the one closest to zero."""
    irr_multiple_roots_paths: int
    """Paths whose difference flows have more than one IRR (rates found) [count]."""
    payback_month_difference: Distribution | None
    """Months from the first month until the conversion has paid back, over the paths it does."""
    min_dscr: Distribution | None
    """The plan's lowest annual DSCR over the paths [-] (None: no debt)."""
    terminal_value_method: str
    """How what is held at the horizon is valued: ``salvage`` or ``none``."""
    terminal_value_plan_usd: Distribution | None
    """The plan's terminal value booked in the horizon's last month, before tax [USD] (None: method none)."""
    terminal_value_baseline_usd: Distribution | None
    """The baseline's terminal value [USD] (None: method none)."""
    strategy: str
    """The backtest strategy the mining margins come from."""
    notes: list[str]


def summarise(
    scenario: Scenario,
    margins: MarginTable,
    metrics: PathMetrics,
    *,
    seed: int | None,
    notes: Sequence[str] = (),
) -> PlanSummary:
    """The :class:`PlanSummary` of a scenario's path metrics (one path per element); ``seed``: the
    drivers' random seed (None: deterministic); ``notes`` are added after the margins' notes."""
    spec = scenario.file

    def required(values: Array) -> Distribution:
        found = Distribution.of(values)
        if found is None:
            raise DataError("an NPV is not finite on any path: the driver paths or the margins hold NaN")
        return found

    salvage = spec.terminal_value.on
    dscr = metrics.min_dscr[np.isfinite(metrics.min_dscr)]
    short = int(np.sum(dscr < 1.0))
    covered = (
        [
            f"The plan's lowest annual DSCR is below 1.0 on {short:,} of the {dscr.size:,} paths with debt "
            f"service ({short / dscr.size:.1%}): in those years the site's cash flow available for debt "
            "service does not cover the interest and principal due"
        ]
        if short
        else []
    )
    notes = [
        *covered,
        *irr_count_notes(metrics),
        terminal_note(scenario, metrics),
        *horizon_notes(scenario),
        "The debt still owed at the horizon is repaid in its last month.",
        *margins.notes,
        *notes,
    ]
    return PlanSummary(
        scenario=spec.name,
        site=scenario.site.name,
        start_month=spec.start_month,
        horizon_months=spec.horizon_months,
        num_paths=int(metrics.npv_plan_usd.size),
        seed=seed,
        discount_rate_pct_per_year=spec.discount_rate_pct_per_year,
        mining_mw=scenario.mining_mw,
        converted_mw=scenario.converted_mw,
        npv_plan_usd=required(metrics.npv_plan_usd),
        npv_baseline_usd=required(metrics.npv_baseline_usd),
        npv_difference_usd=required(metrics.npv_difference_usd),
        probability_plan_beats_baseline=float(np.mean(metrics.npv_plan_usd > metrics.npv_baseline_usd)),
        irr_difference_pct_per_year=Distribution.of(metrics.irr_difference_pct_per_year),
        irr_multiple_roots_paths=int(np.sum(metrics.irr_roots_difference > 1)),
        payback_month_difference=Distribution.of(metrics.payback_month_difference),
        min_dscr=Distribution.of(metrics.min_dscr),
        terminal_value_method=spec.terminal_value.method,
        terminal_value_plan_usd=Distribution.of(metrics.terminal_value_plan_usd) if salvage else None,
        terminal_value_baseline_usd=Distribution.of(metrics.terminal_value_baseline_usd) if salvage else None,
        strategy=margins.strategy,
        notes=notes,
    )


def _millions(values: Array) -> str:
    p10, p50, p90 = np.percentile(values, [10.0, 50.0, 90.0])
    if p10 == p90:
        return f"{p50 / 1e6:,.2f} M USD"
    return f"P10 / P50 / P90 {p10 / 1e6:,.2f} / {p50 / 1e6:,.2f} / {p90 / 1e6:,.2f} M USD"


def terminal_note(scenario: Scenario, metrics: PathMetrics) -> str:
    """The terminal value's method and amounts, in one note."""
    terminal = scenario.file.terminal_value
    if not terminal.on:
        return (
            "No terminal value (terminal_value.method = none): assets held at the horizon and rent beyond it "
            "count for nothing, while the debt still owed is repaid: the NPV is biased low."
        )
    extra = [
        f"the hall at {terminal.facility_usd_per_mw:,.0f} USD per converted MW"
        if terminal.facility_usd_per_mw
        else "",
        f"the mining fleet at {terminal.mining_usd_per_mw:,.0f} USD per MW still mining"
        if terminal.mining_usd_per_mw
        else "",
    ]
    given = "; ".join(x for x in extra if x) or "the hall and the mining fleet at 0 (not set)"
    return (
        "Terminal value (salvage): a deemed sale in the horizon's last month of the GPUs held (at their "
        "resale value) and of each lease's remaining contracted net rent (discounted to the horizon); "
        f"{given}; taxed as a sale (proceeds less the basis left). Plan: "
        f"{_millions(metrics.terminal_value_plan_usd)}; baseline: {_millions(metrics.terminal_value_baseline_usd)}."
    )


def irr_count_notes(metrics: PathMetrics) -> list[str]:
    """A note counting the paths whose difference flows have more than one IRR (none: no note)."""
    several = metrics.irr_roots_difference > 1
    if not several.any():
        return []
    n, total = int(several.sum()), metrics.irr_roots_difference.size
    most = int(metrics.irr_roots_difference.max())
    changes = int(np.sum(metrics.irr_sign_changes_difference > 1))
    return [
        f"IRR: on {n:,} of the {total:,} paths ({n / total:.1%}) the conversion's flows have more than one "
        f"IRR (up to {most} rates found; {changes:,} paths' flows change sign more than once): the IRR shown "
        "is the root closest to zero, and the NPV is the figure to judge by"
    ]


def irr_root_notes(names: Sequence[str], difference_usd: Array) -> list[str]:
    """For each named path (a row of (P, M) ``difference_usd``) with more than one IRR, a note
    listing them [%/year]."""
    out = []
    for name, row in zip(names, np.atleast_2d(difference_usd), strict=False):
        roots = irr_roots_pct_per_year(row)
        if len(roots) > 1:
            shown = min(roots, key=lambda r: abs((1.0 + r / 100.0) ** (1.0 / 12.0) - 1.0))
            out.append(
                f"IRR of the {name} path: its flows have {len(roots)} IRRs, "
                + ", ".join(f"{r:,.2f}" for r in roots)
                + f" %/year; shown: {shown:,.2f} %/year (the root closest to zero)"
            )
    return out
