"""The result of ``powerfirst sites rank``: what ``ranking.json``, ``ranking.csv``, the report and
the console render (models only; :mod:`powerfirst.planning.ranking` computes them).

Units: money per MW is per MW at the meter (the grid connection is the scarce input), per year
(annualised from the months evaluated: their mean × 12); hours are hours of the months evaluated
that have a price; a share is of those priced hours. Sign: a value or margin is revenue minus
cost (positive = the site earns).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["USES", "CandidateResult", "Ranking", "ScoreComponent", "YearFigures"]

Use = Literal["mining", "ai", "hybrid"]
USES: tuple[Use, ...] = ("mining", "ai", "hybrid")

METHOD: tuple[str, ...] = (
    "negative-price hours: priced hours with a real-time price below 0 USD/MWh",
    "below-breakeven hours: priced hours where the price plus the contract's adders is below the site's "
    "mining breakeven (bitcoin.economics.breakeven_usd_per_mwh at the assumed hashprice for each fleet, "
    "with its efficiency, PUE and pool fee, averaged weighted by the fleets' MW at the meter)",
    "volatility: standard deviation (n − 1) of the hourly mean real-time prices of the months evaluated [USD/MWh]",
    "mining: the engine's backtest (margin_table) of the site's mining part at the assumed hashprice, "
    "net margin per MW of fleet capacity at the meter",
    "AI: GPU revenue per MW at the meter (1000 / (kW per GPU × PUE) GPUs × hours × utilisation × price; "
    "interactive inference at the interactive price only at regional and metro sites, the latency rule) "
    "minus the cost of 1 MW drawn flat all month (margin_table's AI power cost); per MW of IT it is "
    "GPU revenue per IT MW − AI power cost × PUE",
    "hybrid: a fixed split, hybrid_ai_fraction of the MW as the flat AI load and the rest mining, per month "
    "(GPUs are not moved month by month, so not the better of the two per month)",
    "heat reuse: price × recoverable fraction × the energy at the meter: every hour for AI, the "
    "below-breakeven share of the hours for mining (when the breakeven strategy runs), the split for hybrid",
    "contract: a fixed block's site-level margin (p − K)·Q per MW of fleet capacity, the same for every use",
    "value of a use = its margin + heat reuse + contract, per MW-year; a candidate's figures are the means "
    "over its market years",
    "capital charge of a use: its capex annualised with the capital recovery factor "
    "CRF(r, n) = r (1 + r)^n / ((1 + r)^n − 1) at the assumptions' discount_rate_pct_per_year: mining = "
    "mining_capex_usd_per_mw over facility_life_years; AI = ai_capex_usd_per_mw over facility_life_years + "
    "the GPUs per MW × gpu_usd_per_gpu over gpu_life_years (no resale); hybrid = the split of the two",
    "net value of a use = value − capital charge [USD/MW-year]: the best use and the score's value component "
    "take it (the GPUs and the hall cost ~10 M USD/MW-year at the defaults, a mining site ~46,000)",
    "score: each component relative to the best candidate, 0 to 1 (1 = the best): a figure where higher is "
    "better scores value / best (0 when the value is ≤ 0 and the best > 0; best / value when every value "
    "is ≤ 0), where lower is better best / value; policy risk on its own 0–10 scale, 1 − score / 10; "
    "× its weight / the sum of the weights × 100; a missing figure scores 0",
)
"""How each figure is measured (printed with the results)."""


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class YearFigures(_Result):
    """One candidate under one market year."""

    market_year: int
    price_source: str
    market: str | None
    timezone: str
    months_valued: int
    """Months with a backtest (a price) [count]."""
    priced_hours: float
    negative_price_hours: float
    negative_price_share: float
    below_breakeven_hours: float
    below_breakeven_share: float
    mean_price_usd_per_mwh: float
    volatility_usd_per_mwh: float
    mining_margin_usd_per_mw_year: float
    mining_margin_per_hashprice_usd_per_mw_year_per_usd_ph_day: float
    """Change of the mining margin per +1 USD/PH/day of hashprice (between the assumed one and +20 %)."""
    ai_revenue_usd_per_mw_year: float
    ai_power_cost_usd_per_mw_year: float
    ai_margin_usd_per_mw_year: float
    ai_margin_usd_per_it_mw_year: float
    hybrid_margin_usd_per_mw_year: float
    heat_usd_per_mw_year: dict[str, float]
    """Heat-reuse revenue of each use [USD/MW-year]."""
    contract_usd_per_mw_year: float
    value_usd_per_mw_year: dict[str, float]
    """Margin + heat + contract of each use [USD/MW-year]."""
    capital_charge_usd_per_mw_year: dict[str, float]
    """Each use's capex × the capital recovery factor [USD/MW-year] (see :data:`METHOD`)."""
    net_value_usd_per_mw_year: dict[str, float]
    """Value − capital charge of each use [USD/MW-year]."""


class ScoreComponent(_Result):
    """One component of a candidate's score."""

    name: str
    label: str
    raw: float | None
    unit: str
    better: Literal["higher", "lower"]
    normalised: float
    """0 to 1 (the best candidate), relative to the best (see :data:`METHOD`)."""
    weight: float
    """The weight / the sum of the weights."""
    points: float
    """100 × weight × normalised (the score is their sum)."""


class CandidateResult(_Result):
    """One candidate, ranked."""

    rank: int
    name: str
    score: float
    """0 to 100."""
    site_name: str
    market: str | None
    price_source: str
    latency: str
    interactive_inference: bool
    climate: str | None
    ai_pue: float
    policy_risk_score: float
    mining_mw: float
    """The fleets' full power at the meter [MW]."""
    breakeven_usd_per_mwh: float
    adders_usd_per_mwh: float
    market_years: list[int]
    value_usd_per_mw_year: dict[str, float]
    """Each use's value before capital, mean over the market years [USD/MW-year]."""
    capital_charge_usd_per_mw_year: dict[str, float]
    """Each use's annualised capex [USD/MW-year]."""
    net_value_usd_per_mw_year: dict[str, float]
    """Each use's value net of its capital charge, mean over the market years [USD/MW-year]."""
    best_use: str
    """The use with the highest net value."""
    ranked_use: str
    """The use whose value the score took."""
    negative_price_share: float
    below_breakeven_share: float
    volatility_usd_per_mwh: float
    components: list[ScoreComponent]
    years: list[YearFigures]
    notes: list[str]


class Ranking(_Result):
    """Every candidate, best first."""

    powerfirst_version: str
    source: str
    assumptions: dict[str, float]
    weights: dict[str, float]
    evaluation: dict[str, Any]
    method: list[str]
    candidates: list[CandidateResult]
    notes: list[str]

    def table_rows(self) -> list[dict[str, Any]]:
        """One flat row per candidate, best first (``ranking.csv``)."""
        rows = []
        for c in self.candidates:
            row: dict[str, Any] = {
                "rank": c.rank,
                "name": c.name,
                "score": c.score,
                "market": c.market,
                "price_source": c.price_source,
                "market_years": " ".join(map(str, c.market_years)),
                "best_use": c.best_use,
                "ranked_use": c.ranked_use,
            }
            row |= {f"{use}_value_usd_per_mw_year": c.value_usd_per_mw_year[use] for use in USES}
            row |= {
                f"{use}_capital_charge_usd_per_mw_year": c.capital_charge_usd_per_mw_year[use] for use in USES
            }
            row |= {f"{use}_net_value_usd_per_mw_year": c.net_value_usd_per_mw_year[use] for use in USES}
            row |= {
                "negative_price_share": c.negative_price_share,
                "below_breakeven_share": c.below_breakeven_share,
                "volatility_usd_per_mwh": c.volatility_usd_per_mwh,
                "breakeven_usd_per_mwh": c.breakeven_usd_per_mwh,
                "policy_risk_score": c.policy_risk_score,
                "latency": c.latency,
                "interactive_inference": c.interactive_inference,
                "climate": c.climate,
                "ai_pue": c.ai_pue,
            }
            for part in c.components:
                row[f"{part.name}_raw"] = part.raw
                row[f"{part.name}_normalised"] = part.normalised
                row[f"{part.name}_points"] = part.points
            rows.append(row)
        return rows
