"""The candidates file of ``powerfirst sites rank``: the sites to compare and the assumptions.

::

    assumptions:                         # what "value per MW" is computed at
      hashprice_usd_per_ph_day: 50.0     # required [USD/PH/day]
      gpu_batch_usd_per_gpu_hour: 2.35   # training and batch work [USD/GPU-hour]
      gpu_interactive_usd_per_gpu_hour: 2.85
      interactive_share_fraction: 0.5    # share of GPU-hours sold as interactive inference, where allowed
      gpu_utilisation_fraction: 0.8      # GPU-hours sold / GPU-hours of the hall
      it_kw_per_gpu: 1.275               # IT power per GPU, its server's share included [kW]
      hybrid_ai_fraction: 0.2            # the hybrid site: this share of its MW as a flat AI load
    weights: {value: 0.5, below_breakeven: 0.1, negative_prices: 0.1, volatility: 0.1, policy_risk: 0.2}
    evaluation: {strategy: breakeven, months: [1, 12], rank_by: best}
    candidates:
      - name: West Texas
        site: west-texas-fixed-block.yaml   # path relative to this file, or the site as a mapping
        overrides: {grid: {connection_limit_mw: 120}}   # optional, merged into the site
        prices: ercot-rt:HB_NORTH         # optional SOURCE (as --prices); a CSV relative to this file
        market: ercot                     # the market of a CSV's prices
        market_years: [2022, 2023]        # default: every year the prices cover
        climate: hot-arid                 # or pue: 1.3 (one of the two)
        heat_reuse: {price_usd_per_mwh_thermal: 20, recoverable_fraction: 0.5}   # or none
        latency: remote                   # remote, regional or metro
        policy_risk_score: 3              # 0 (none) to 10 (worst), the user's judgement

**Climate → PUE of an AI hall** (:data:`CLIMATE_PUE`, annual means, assumed within the
1.2–1.4 of AI halls in ``DOMAIN.md``; a cold site cools for free most of the year): cold 1.15,
temperate 1.25, hot-arid 1.35 (dry air: evaporative cooling works), hot-humid 1.40. The mining
fleets keep the PUE of their site file.

**Latency rule** (:func:`interactive_inference_allowed`): a *remote* site is fine for training
and batch work, not for interactive inference (its round trip to users adds tens of ms); at a
*regional* or *metro* site ``interactive_share_fraction`` of the GPU-hours sold earn the
interactive price, at a remote one every GPU-hour earns the batch price.

**Weights** (defaults: value 0.5, below_breakeven 0.1, negative_prices 0.1, volatility 0.1,
policy_risk 0.2; any non-negative numbers, not all 0): see :mod:`powerfirst.planning.ranking`.

Every model is strict (``extra="forbid"``, no type coercion, no NaN); an invalid file raises
:class:`~powerfirst.errors.ConfigError` with one line per problem naming the field, the value,
the unit and the limit. The site files are read and validated here too, before any work.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from powerfirst.errors import ConfigError
from powerfirst.market.markets import MARKETS, market_names
from powerfirst.planning.candidates_messages import candidates_error
from powerfirst.policies.registry import known_strategy, load_site, parse_site
from powerfirst.site.files import read_site_yaml
from powerfirst.site.schema import Site, resolve_paths

__all__ = [
    "CLIMATE_PUE",
    "Assumptions",
    "Candidate",
    "CandidatesFile",
    "Evaluation",
    "HeatReuse",
    "RankCandidate",
    "Weights",
    "interactive_inference_allowed",
    "load_candidates",
    "parse_candidates",
]

Climate = Literal["cold", "temperate", "hot-arid", "hot-humid"]
Latency = Literal["remote", "regional", "metro"]
CLIMATE_PUE: dict[str, float] = {"cold": 1.15, "temperate": 1.25, "hot-arid": 1.35, "hot-humid": 1.40}
"""Annual-mean PUE of an AI hall by climate class [meter power / IT power] (assumed; see the module doc)."""
MAX_CANDIDATES = 50


def interactive_inference_allowed(latency: str) -> bool:
    """The latency rule: interactive inference only at a regional or metro site, never a remote one."""
    return latency in ("regional", "metro")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


_GPU_PRICE = Field(gt=0.0, le=1_000.0)
_FRACTION = Field(ge=0.0, le=1.0)
_WEIGHT = Field(ge=0.0, le=1_000.0)


class Assumptions(_Model):
    """The hashprice and GPU figures "value per MW" is computed at."""

    hashprice_usd_per_ph_day: Annotated[float, Field(gt=0.0, le=1_000.0)]
    """Hashprice held for the mining backtests and the breakeven price [USD/PH/day]."""
    gpu_batch_usd_per_gpu_hour: Annotated[float, _GPU_PRICE] = 2.35
    """Price of a GPU-hour of training or batch work [USD/GPU-hour] (H100 ~2.35 in Mar 2026, DOMAIN.md)."""
    gpu_interactive_usd_per_gpu_hour: Annotated[float, _GPU_PRICE] = 2.85
    """Price of a GPU-hour of interactive inference [USD/GPU-hour] (assumed: the batch price + ~20 %)."""
    interactive_share_fraction: Annotated[float, _FRACTION] = 0.5
    """Share of the GPU-hours sold that are interactive inference where the latency rule allows it [-]."""
    gpu_utilisation_fraction: Annotated[float, _FRACTION] = 0.8
    """GPU-hours sold / GPU-hours of the hall [-] (assumed)."""
    it_kw_per_gpu: Annotated[float, Field(gt=0.1, le=10.0)] = 1.275
    """IT power per GPU, its server and network share included [kW] (a DGX H100: 10.2 kW / 8 GPUs)."""
    hybrid_ai_fraction: Annotated[float, _FRACTION] = 0.2
    """The hybrid site: this share of its MW runs a flat AI load, the rest mines [-]."""
    ai_capex_usd_per_mw: Annotated[float, Field(ge=0.0, le=50e6)] = 11e6
    """An AI hall's build per MW at the meter, GPUs not included [USD/MW] (AI data centres 3–15 M,
    one operator quotes ~11 M: DOMAIN.md)."""
    gpu_usd_per_gpu: Annotated[float, Field(ge=0.0, le=1e6)] = 37_000.0
    """All-in cost per GPU [USD/GPU] (~29 M USD of GPUs per IT MW, IREN: DOMAIN.md, at 1.275 kW each)."""
    gpu_life_years: Annotated[int, Field(ge=1, le=15)] = 3
    """Years the GPUs' cost is recovered over [years] (GPUs age out in under 18–36 months: DOMAIN.md)."""
    mining_capex_usd_per_mw: Annotated[float, Field(ge=0.0, le=10e6)] = 0.35e6
    """A mining site's build per MW at the meter [USD/MW] (0.3–0.4 M: DOMAIN.md; add the miners'
    price to count them)."""
    facility_life_years: Annotated[int, Field(ge=1, le=50)] = 15
    """Years a hall's or a mining site's build is recovered over [years] (assumed)."""
    discount_rate_pct_per_year: Annotated[float, Field(ge=0.0, le=100.0)] = 10.0
    """Rate of the capital recovery factor that annualises the capex [%/year] (assumed)."""

    @model_validator(mode="after")
    def _check(self) -> Assumptions:
        if self.gpu_interactive_usd_per_gpu_hour < self.gpu_batch_usd_per_gpu_hour:
            raise ValueError(
                f"gpu_interactive_usd_per_gpu_hour = {self.gpu_interactive_usd_per_gpu_hour:g} USD/GPU-hour: "
                f"must be at least gpu_batch_usd_per_gpu_hour = {self.gpu_batch_usd_per_gpu_hour:g} USD/GPU-hour"
            )
        return self


class Weights(_Model):
    """Weights of the score's components (non-negative, not all 0; they are normalised to sum 1)."""

    value: Annotated[float, _WEIGHT] = 0.5
    below_breakeven: Annotated[float, _WEIGHT] = 0.1
    negative_prices: Annotated[float, _WEIGHT] = 0.1
    volatility: Annotated[float, _WEIGHT] = 0.1
    policy_risk: Annotated[float, _WEIGHT] = 0.2

    @model_validator(mode="after")
    def _check(self) -> Weights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("every weight is 0: give at least one a positive weight")
        return self

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in type(self).model_fields}


class Evaluation(_Model):
    """How the candidates are evaluated."""

    strategy: str = "breakeven"
    """Backtest strategy of the mining margins (``breakeven``: fast; ``perfect``: an upper bound)."""
    months: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=2, max_length=2)] = [1, 12]
    """First and last calendar month evaluated in each market year (a season, or a quick look)."""
    rank_by: Literal["best", "mining", "ai", "hybrid"] = "best"
    """Which use's value per MW the score takes: ``best`` = the best of the three per candidate."""

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        return known_strategy(value)

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if value[0] > value[1]:
            raise ValueError("the first month must not be after the last")
        return value


class HeatReuse(_Model):
    """Waste heat sold: ``recoverable_fraction`` of the electric energy at the meter, as heat."""

    price_usd_per_mwh_thermal: Annotated[float, Field(ge=0.0, le=1_000.0)]
    recoverable_fraction: Annotated[float, _FRACTION]


class Candidate(_Model):
    """One candidate site."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    site: str | dict[str, Any]
    """A site file's path (relative to the candidates file) or the site itself as a mapping."""
    overrides: dict[str, Any] | None = None
    """Merged into the site (mappings key by key, anything else replaced) before it is validated."""
    prices: Annotated[str, Field(min_length=1)] | None = None
    """Price SOURCE replacing the site's ``contract.price_series`` (a CSV relative to this file)."""
    market: str | None = None
    """The market of a CSV's prices (``ercot``, ``caiso``, …)."""
    market_years: (
        Annotated[list[Annotated[int, Field(ge=1990, le=2100)]], Field(min_length=1, max_length=30)] | None
    ) = None
    """Market years evaluated; None: every year the prices cover."""
    climate: Climate | None = None
    pue: Annotated[float, Field(ge=1.0, le=3.0)] | None = None
    """PUE of an AI hall here [meter power / IT power]; or ``climate``."""
    heat_reuse: HeatReuse | Literal["none"] | None = None
    latency: Latency
    policy_risk_score: Annotated[float, Field(ge=0.0, le=10.0)]
    """0 (no policy risk) to 10 (worst): moratoria, tariffs, curtailment mandates, permits."""

    @field_validator("market")
    @classmethod
    def _market(cls, value: str | None) -> str | None:
        if value is None:
            return value
        key = value.strip().lower().replace("-", "").replace("_", "")
        if key not in MARKETS:
            raise ValueError(f"unknown market; known markets: {market_names()}")
        return key

    @model_validator(mode="after")
    def _check(self) -> Candidate:
        if (self.climate is None) == (self.pue is None):
            raise ValueError(
                "give either climate (cold, temperate, hot-arid, hot-humid) or pue, one of the two"
            )
        if self.market_years is not None and len(set(self.market_years)) != len(self.market_years):
            raise ValueError(f"market_years = {self.market_years}: a year repeats; give each once")
        return self

    @property
    def ai_pue(self) -> float:
        """PUE of an AI hall at this site: the explicit ``pue``, else the climate's."""
        return self.pue if self.pue is not None else CLIMATE_PUE[str(self.climate)]

    @property
    def heat(self) -> HeatReuse | None:
        return self.heat_reuse if isinstance(self.heat_reuse, HeatReuse) else None


class CandidatesFile(_Model):
    """The whole candidates file."""

    assumptions: Assumptions
    weights: Weights = Field(default_factory=Weights)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    candidates: Annotated[list[Candidate], Field(min_length=1, max_length=MAX_CANDIDATES)]

    @model_validator(mode="after")
    def _unique(self) -> CandidatesFile:
        names = [c.name for c in self.candidates]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"candidate names must be unique; repeated: {', '.join(map(repr, repeated))}")
        return self


@dataclass(frozen=True)
class RankCandidate:
    """A candidate ready to evaluate: its validated site and resolved price source."""

    spec: Candidate
    site: Site
    prices: str | None
    """The price SOURCE with a CSV's path made absolute (None: the site's own)."""


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        out[key] = _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


_CSV_SOURCE = re.compile(r"\.csv(\.gz)?:", re.IGNORECASE)


def _resolve_source(spec: str, base: Path) -> str:
    """A CSV SOURCE's relative path made relative to ``base``; a bundled SOURCE as it is."""
    found = _CSV_SOURCE.search(spec)
    if found is None:
        return spec
    head, column = spec[: found.end() - 1], spec[found.end() :]
    return spec if Path(head).is_absolute() else f"{base / head}:{column}"


def _site(candidate: Candidate, index: int, base: Path, source: str) -> Site:
    where = f"{source}: candidates[{index}] ({candidate.name!r}).site"
    overrides = copy.deepcopy(candidate.overrides) if candidate.overrides else None
    if overrides:
        resolve_paths(overrides, base)
    if isinstance(candidate.site, str):
        path = Path(candidate.site)
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ConfigError(f"{where} = {candidate.site!r}: no such file ({path})")
        if overrides is None:
            return load_site(path)
        data = read_site_yaml(path)
        if not isinstance(data, dict):
            raise ConfigError("the site file must be a mapping of fields", source=str(path))
        resolve_paths(data, path.parent)
        return parse_site(_merge(data, overrides), source=f"{path} with the overrides of {where}")
    data = copy.deepcopy(candidate.site)
    resolve_paths(data, base)
    return parse_site(_merge(data, overrides or {}), source=where)


def parse_candidates(
    data: Any, *, base: Path, source: str = "<candidates>"
) -> tuple[CandidatesFile, list[RankCandidate]]:
    """Validate a candidates file given as parsed YAML; its site files and CSVs are relative to ``base``."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"the candidates file must be a mapping of fields, got {type(data).__name__}", source=source
        )
    try:
        parsed = CandidatesFile.model_validate(data)
    except ValidationError as exc:
        raise candidates_error(
            exc, data, source, (CandidatesFile, Assumptions, Weights, Evaluation, Candidate, HeatReuse)
        ) from None
    ready = [
        RankCandidate(
            spec=c,
            site=_site(c, i, base, source),
            prices=_resolve_source(c.prices, base) if c.prices is not None else None,
        )
        for i, c in enumerate(parsed.candidates)
    ]
    return parsed, ready


def load_candidates(path: str | Path) -> tuple[CandidatesFile, list[RankCandidate]]:
    """Read and validate a candidates file and every site it names (nothing is run on an invalid one)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("cannot read the candidates file: no such file", source=str(path))
    return parse_candidates(read_site_yaml(path), base=path.parent, source=str(path))
