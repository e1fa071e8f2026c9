"""``powerfirst sites rank``: candidate sites compared per market year and ranked by a weighted score.

Per candidate and market year (:func:`candidate_years`):

* price figures (:mod:`powerfirst.planning.ranking_prices`): hours of negative prices and of
  prices below the site's mining breakeven, mean and volatility;
* value per MW at the meter, annualised from the months evaluated (their mean × 12) [USD/MW-year]:
  **mining** = the engine's backtest of the site's mining part at the assumed hashprice
  (:func:`powerfirst.planning.margins.margin_table`, disk-cached; its grid is the hashprice and
  +20 %, which gives the sensitivity to the hashprice); **AI** = GPU revenue − the cost of 1 MW
  drawn flat (the table's AI power cost), GPUs per MW = 1000 / (kW per GPU × PUE), the latency
  rule deciding whether interactive inference earns its price
  (:func:`powerfirst.planning.candidates.interactive_inference_allowed`); **hybrid** = a fixed
  split (``hybrid_ai_fraction`` AI, the rest mining); each plus heat reuse and a fixed block's
  site-level margin (:data:`powerfirst.planning.ranking_result.METHOD` states every measure);
* the **net value** of each use: the value less its capex annualised with the capital recovery
  factor (:func:`capital_charges_usd_per_mw_year`): an AI MW's operating margin is large only
  because its GPUs and hall cost ~30 times a mining MW's build, so the uses are compared net.

The candidates' figures are the means over their market years; the best use and the score's value
are the net values; the score is :mod:`powerfirst.planning.ranking_score`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from powerfirst.errors import DataError
from powerfirst.planning.candidates import (
    CLIMATE_PUE,
    Assumptions,
    CandidatesFile,
    RankCandidate,
    interactive_inference_allowed,
)
from powerfirst.planning.inputs import MarginTable
from powerfirst.planning.margins import available_market_years, margin_table
from powerfirst.planning.ranking_prices import PriceFigures, site_breakeven_usd_per_mwh, year_price_figures
from powerfirst.planning.ranking_result import METHOD, USES, CandidateResult, Ranking, YearFigures
from powerfirst.planning.ranking_score import score_components

__all__ = [
    "HASHPRICE_STEP",
    "candidate_years",
    "capital_charges_usd_per_mw_year",
    "capital_recovery_factor",
    "market_years_of",
    "rank_sites",
]

HASHPRICE_STEP = 1.2
"""The margin table's second hashprice: the assumed one × this (for the sensitivity)."""

Step = Callable[[str, int], None]
"""Called after each (candidate, market year) is evaluated."""


def _annual(monthly: dict[int, float]) -> float:
    """Mean of the finite monthly figures × 12 (NaN when none is finite)."""
    finite = [v for v in monthly.values() if math.isfinite(v)]
    return float(np.mean(finite) * 12.0) if finite else float("nan")


def capital_recovery_factor(rate_pct_per_year: float, years: int) -> float:
    """The constant yearly payment that repays 1 USD over ``years`` at ``rate_pct_per_year``:
    r (1 + r)^n / ((1 + r)^n − 1); 1 / n at a zero rate [1/year]."""
    r = rate_pct_per_year / 100.0
    if r == 0.0:
        return 1.0 / years
    return r * (1.0 + r) ** years / ((1.0 + r) ** years - 1.0)


def capital_charges_usd_per_mw_year(a: Assumptions, pue: float) -> dict[str, float]:
    """Each use's capex per MW at the meter annualised by the capital recovery factor [USD/MW-year]:
    mining the site's build, AI the hall and its GPUs (1000 / (kW per GPU × PUE) per MW), hybrid
    the split."""
    facility = capital_recovery_factor(a.discount_rate_pct_per_year, a.facility_life_years)
    gpus = capital_recovery_factor(a.discount_rate_pct_per_year, a.gpu_life_years)
    gpus_per_mw = 1000.0 / (a.it_kw_per_gpu * pue)
    mining = a.mining_capex_usd_per_mw * facility
    ai = a.ai_capex_usd_per_mw * facility + gpus_per_mw * a.gpu_usd_per_gpu * gpus
    s = a.hybrid_ai_fraction
    return {"mining": mining, "ai": ai, "hybrid": s * ai + (1.0 - s) * mining}


def _year(
    rc: RankCandidate, plan: CandidatesFile, table: MarginTable, figures: PriceFigures, year: int
) -> YearFigures:
    a, spec = plan.assumptions, rc.spec
    pue = spec.ai_pue
    share = a.interactive_share_fraction if interactive_inference_allowed(spec.latency) else 0.0
    gpu_usd_per_hour = (1 - share) * a.gpu_batch_usd_per_gpu_hour + share * a.gpu_interactive_usd_per_gpu_hour
    gpus_per_mw = 1000.0 / (a.it_kw_per_gpu * pue)
    mining_mw = rc.site.max_load_mw
    months = [
        m for m in figures.month_hours if math.isfinite(table.mining_margin_usd_per_mw_month[0, 0, m - 1])
    ]
    hours = {m: figures.month_hours[m] for m in months}
    mining = {m: float(table.mining_margin_usd_per_mw_month[0, 0, m - 1]) for m in months}
    mining_hi = {m: float(table.mining_margin_usd_per_mw_month[0, 1, m - 1]) for m in months}
    cost = {m: float(table.ai_power_cost_usd_per_mw_month[0, m - 1]) for m in months}
    revenue = {m: gpus_per_mw * hours[m] * a.gpu_utilisation_fraction * gpu_usd_per_hour for m in months}
    fixed = table.contract_fixed_margin_usd_per_month
    contract = {m: float(fixed[0, m - 1]) / mining_mw if fixed is not None else 0.0 for m in months}
    heat = spec.heat
    heat_flat = {
        m: heat.price_usd_per_mwh_thermal * heat.recoverable_fraction * hours[m] if heat else 0.0
        for m in months
    }
    priced = figures.priced_hours
    below_share = figures.below_breakeven_hours / priced
    s = a.hybrid_ai_fraction
    margin = {
        "mining": _annual(mining),
        "ai": _annual({m: revenue[m] - cost[m] for m in months}),
        "hybrid": _annual({m: s * (revenue[m] - cost[m]) + (1 - s) * mining[m] for m in months}),
    }
    heat_year = {"ai": _annual(heat_flat), "mining": _annual(heat_flat) * below_share}
    heat_year["hybrid"] = s * heat_year["ai"] + (1 - s) * heat_year["mining"]
    contract_year = _annual(contract)
    value = {u: margin[u] + heat_year[u] + contract_year for u in USES}
    charge = capital_charges_usd_per_mw_year(a, pue)
    step_ph = a.hashprice_usd_per_ph_day * (HASHPRICE_STEP - 1.0)
    return YearFigures(
        market_year=year,
        price_source=figures.price_source,
        market=figures.market,
        timezone=figures.timezone,
        months_valued=len(months),
        priced_hours=priced,
        negative_price_hours=figures.negative_price_hours,
        negative_price_share=figures.negative_price_hours / priced,
        below_breakeven_hours=figures.below_breakeven_hours,
        below_breakeven_share=below_share,
        mean_price_usd_per_mwh=figures.mean_price_usd_per_mwh,
        volatility_usd_per_mwh=figures.volatility_usd_per_mwh,
        mining_margin_usd_per_mw_year=margin["mining"],
        mining_margin_per_hashprice_usd_per_mw_year_per_usd_ph_day=(_annual(mining_hi) - margin["mining"])
        / step_ph,
        ai_revenue_usd_per_mw_year=_annual(revenue),
        ai_power_cost_usd_per_mw_year=_annual(cost),
        ai_margin_usd_per_mw_year=margin["ai"],
        ai_margin_usd_per_it_mw_year=margin["ai"] * pue,
        hybrid_margin_usd_per_mw_year=margin["hybrid"],
        heat_usd_per_mw_year=heat_year,
        contract_usd_per_mw_year=contract_year,
        value_usd_per_mw_year=value,
        capital_charge_usd_per_mw_year=charge,
        net_value_usd_per_mw_year={u: value[u] - charge[u] for u in USES},
    )


def market_years_of(rc: RankCandidate) -> list[int]:
    """The market years a candidate is evaluated under: its own, else every year its prices cover."""
    spec = rc.spec
    return spec.market_years or list(available_market_years(rc.site, prices=rc.prices, market=spec.market))


def candidate_years(
    rc: RankCandidate,
    plan: CandidatesFile,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    on_step: Step | None = None,
) -> tuple[list[YearFigures], list[str]]:
    """The figures of one candidate under each of its market years, and the notes of its backtests."""
    spec, site, evaluation = rc.spec, rc.site, plan.evaluation
    months = (evaluation.months[0], evaluation.months[1])
    hashprice = plan.assumptions.hashprice_usd_per_ph_day
    grid = [hashprice / 1000.0, hashprice * HASHPRICE_STEP / 1000.0]
    years = market_years_of(rc)
    breakeven = site_breakeven_usd_per_mwh(site, hashprice)
    out, notes = [], []
    for year in years:
        try:
            figures = year_price_figures(site, year, months, breakeven, prices=rc.prices, market=spec.market)
            table = margin_table(
                site,
                [year],
                grid,
                strategy=evaluation.strategy,
                prices=rc.prices,
                market=spec.market,
                months=months,
                cache_dir=cache_dir,
                use_cache=use_cache,
            )
        except DataError as exc:
            given = "" if spec.market_years else " (left out: every year its prices cover)"
            raise DataError(f"candidate {spec.name!r}: market_years = {years}{given}: {exc}") from None
        out.append(_year(rc, plan, table, figures, year))
        notes += [n for n in table.notes if n not in notes]
        if on_step is not None:
            on_step(spec.name, year)
    if site.heat_offtake is not None and spec.heat is not None:
        notes.append(
            "the site file's heat_offtake is already in the mining margin; heat_reuse is added on top of it"
        )
    if not interactive_inference_allowed(spec.latency):
        notes.append(
            "remote site: no interactive inference (latency rule); every GPU-hour at the batch price"
        )
    return out, notes


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def rank_sites(
    plan: CandidatesFile,
    candidates: Sequence[RankCandidate],
    *,
    source: str = "<candidates>",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    on_step: Step | None = None,
) -> Ranking:
    """Evaluate every candidate and rank them (best first). Raises DataError for a year without
    prices, naming the year and the data's coverage."""
    evaluated = [
        candidate_years(rc, plan, cache_dir=cache_dir, use_cache=use_cache, on_step=on_step)
        for rc in candidates
    ]
    rank_by = plan.evaluation.rank_by
    rows, raw = [], []
    for rc, (years, notes) in zip(candidates, evaluated, strict=True):
        values = {u: _mean([y.value_usd_per_mw_year[u] for y in years]) for u in USES}
        net = {u: _mean([y.net_value_usd_per_mw_year[u] for y in years]) for u in USES}
        best = max(USES, key=lambda u: net[u] if math.isfinite(net[u]) else -math.inf)
        ranked_use = best if rank_by == "best" else rank_by
        shares = {
            "negative": _mean([y.negative_price_share for y in years]),
            "below": _mean([y.below_breakeven_share for y in years]),
            "volatility": _mean([y.volatility_usd_per_mwh for y in years]),
        }
        raw.append(
            {
                "value": net[ranked_use],
                "below_breakeven": shares["below"],
                "negative_prices": shares["negative"],
                "volatility": shares["volatility"],
                "policy_risk": rc.spec.policy_risk_score,
            }
        )
        rows.append((rc, years, notes, values, net, best, ranked_use, shares))
    scored = score_components(raw, plan.weights.as_dict())
    results = []
    for (rc, years, notes, values, net, best, ranked_use, shares), parts in zip(rows, scored, strict=True):
        spec, site = rc.spec, rc.site
        results.append(
            CandidateResult(
                rank=0,
                name=spec.name,
                score=sum(p.points for p in parts),
                site_name=site.name,
                market=site.market or next((y.market for y in years if y.market), None),
                price_source=", ".join(dict.fromkeys(y.price_source for y in years)),
                latency=spec.latency,
                interactive_inference=interactive_inference_allowed(spec.latency),
                climate=spec.climate,
                ai_pue=spec.ai_pue,
                policy_risk_score=spec.policy_risk_score,
                mining_mw=site.max_load_mw,
                breakeven_usd_per_mwh=site_breakeven_usd_per_mwh(
                    site, plan.assumptions.hashprice_usd_per_ph_day
                ),
                adders_usd_per_mwh=site.contract.total_adder_usd_per_mwh,
                market_years=[y.market_year for y in years],
                value_usd_per_mw_year=values,
                capital_charge_usd_per_mw_year=years[0].capital_charge_usd_per_mw_year if years else {},
                net_value_usd_per_mw_year=net,
                best_use=best,
                ranked_use=ranked_use,
                negative_price_share=shares["negative"],
                below_breakeven_share=shares["below"],
                volatility_usd_per_mwh=shares["volatility"],
                components=parts,
                years=years,
                notes=notes,
            )
        )
    common = [n for n in results[0].notes if all(n in r.notes for r in results)] if len(results) > 1 else []
    results = [r.model_copy(update={"notes": [n for n in r.notes if n not in common]}) for r in results]
    order = sorted(
        results,
        key=lambda r: (-r.score, -_finite(r.net_value_usd_per_mw_year[r.ranked_use]), r.name),
    )
    return Ranking(
        powerfirst_version=_version(),
        source=source,
        assumptions=plan.assumptions.model_dump(),
        weights=plan.weights.as_dict(),
        evaluation=plan.evaluation.model_dump(),
        method=list(METHOD),
        candidates=[r.model_copy(update={"rank": k + 1}) for k, r in enumerate(order)],
        notes=[*common, f"climate → AI-hall PUE: {_climates()}"],
    )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _version() -> str:
    try:
        return metadata.version("powerfirst")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def _climates() -> str:
    return ", ".join(f"{k} {v:g}" for k, v in CLIMATE_PUE.items())
