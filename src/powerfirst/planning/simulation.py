"""The ``simulation:`` section of a scenario file: how a plan is simulated (Monte Carlo paths, chunks
of paths per task, the margin backtests' strategy, hashprice grid and market years)::

    simulation:
      monte_carlo: {paths: 10000, seed: 7}   # left out: the deterministic scenarios only
      chunk_paths: 1000                      # Monte Carlo paths per task (here or on a Dask worker)
      margins:
        strategy: breakeven                  # the curtailment rule an operator runs
        hashprice_grid_usd_per_th_day: [0.02, 0.04, 0.06]   # default: DEFAULT_GRID_FACTORS × the start
        market_years: [2021, 2022, 2023]     # default: drivers.market_years

Every field is checked like the rest of the file (strict; errors name the field, the value, the
unit and the limit).
"""

from __future__ import annotations

from itertools import pairwise

from pydantic import Field, field_validator

from powerfirst.site.strict import Strict

__all__ = [
    "DEFAULT_CHUNK_PATHS",
    "DEFAULT_GRID_FACTORS",
    "MarginSettings",
    "MonteCarlo",
    "Simulation",
    "default_grid",
]

DEFAULT_CHUNK_PATHS = 1_000
"""Monte Carlo paths per task [paths]: 1,000 paths × 120 months hold ~15 MB of arrays per task."""
DEFAULT_GRID_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
"""The default hashprice grid, as multiples of the deterministic base path's first-month hashprice:
wide enough for a halving (× 0.5) and a bull run (× 3); beyond its ends the margins are extrapolated
linearly (exact above the top, where the fleets run flat out; an approximation below the bottom)."""
MAX_HASHPRICE_USD_PER_TH_DAY = 100.0
"""Largest hashprice a grid may hold [USD/(TH/s)/day] (the site file's limit)."""


def default_grid(start_hashprice_usd_per_th_day: float) -> list[float]:
    """:data:`DEFAULT_GRID_FACTORS` × the start hashprice [USD/(TH/s)/day], rounded to 0.00001
    (0.01 USD/PH/day, so a cache key does not hang on the last digits), capped at the limit."""
    values = sorted(
        {
            min(max(round(f * start_hashprice_usd_per_th_day, 5), 1e-5), MAX_HASHPRICE_USD_PER_TH_DAY)
            for f in DEFAULT_GRID_FACTORS
        }
    )
    return values if len(values) >= 2 else [values[0], min(2 * values[0], MAX_HASHPRICE_USD_PER_TH_DAY)]


class MonteCarlo(Strict):
    """Monte Carlo draws of the drivers (:func:`powerfirst.planning.drivers.simulate_paths`)."""

    paths: int = Field(ge=1, le=1_000_000)
    """Paths drawn [paths]."""
    seed: int = Field(ge=0, le=2**63 - 1)
    """Random seed [integer ≥ 0]: the same seed gives the same paths, however they are split."""


class MarginSettings(Strict):
    """The backtests behind the per-MW margins (:mod:`powerfirst.planning.margins`)."""

    strategy: str = "breakeven"
    """Backtest strategy of the mining margins (``perfect`` is a hindsight upper bound)."""
    hashprice_grid_usd_per_th_day: list[float] | None = Field(default=None, min_length=2, max_length=50)
    """Hashprices backtested, strictly increasing, each in (0, 100] [USD/(TH/s)/day]; default
    :data:`DEFAULT_GRID_FACTORS` × the base path's first-month hashprice."""
    market_years: list[int] | None = Field(default=None, min_length=1, max_length=50)
    """Market years backtested [year]; default ``drivers.market_years``; must hold each of them."""
    months: list[int] = Field(default_factory=lambda: [1, 12], min_length=2, max_length=2)
    """First and last calendar month backtested in each year [1–12] (a quick look: the horizon's
    months must all lie within)."""
    block_in_mining_margin: bool = False
    """Leave a fixed block's fixed part in the per-MW mining margin (default: a site-level line)."""

    @field_validator("strategy")
    @classmethod
    def _known(cls, value: str) -> str:
        from powerfirst.policies.registry import known_strategy

        return known_strategy(value)

    @field_validator("hashprice_grid_usd_per_th_day")
    @classmethod
    def _grid(cls, values: list[float] | None) -> list[float] | None:
        if values is None:
            return None
        if any(b <= a for a, b in pairwise(values)):
            raise ValueError("the hashprices must be strictly increasing")
        if values[0] <= 0.0 or values[-1] > MAX_HASHPRICE_USD_PER_TH_DAY:
            raise ValueError(
                f"each hashprice must be in (0, {MAX_HASHPRICE_USD_PER_TH_DAY:g}] USD/(TH/s)/day "
                "(0.03–0.8 since 2020)"
            )
        return values

    @field_validator("market_years")
    @classmethod
    def _years(cls, values: list[int] | None) -> list[int] | None:
        if values is None:
            return None
        if len(set(values)) != len(values):
            raise ValueError("a year repeats; give each market year once")
        if not all(1990 <= y <= 2100 for y in values):
            raise ValueError("each market year must be in 1990–2100")
        return values

    @field_validator("months")
    @classmethod
    def _months(cls, values: list[int]) -> list[int]:
        if not 1 <= values[0] <= values[1] <= 12:
            raise ValueError("need [first, last] with 1 ≤ first ≤ last ≤ 12 (calendar months)")
        return values


class Simulation(Strict):
    """How the plan is simulated (see the module docstring)."""

    monte_carlo: MonteCarlo | None = None
    """Monte Carlo paths; None: the deterministic scenarios (base, low, high) only."""
    chunk_paths: int = Field(default=DEFAULT_CHUNK_PATHS, ge=1, le=100_000)
    """Monte Carlo paths per task [paths]; the results do not depend on it."""
    margins: MarginSettings = Field(default_factory=MarginSettings)
