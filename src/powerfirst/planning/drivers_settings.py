"""The assumptions behind a plan's driver paths, as one validated model (embedded in the scenario file).

Every field carries its unit in its name; growth rates are *median* growth per year as a fraction
(0.2 = +20 %/yr; the Monte Carlo median path grows at that rate, its log drift is ln(1 + g)/12 per
month); volatilities are of monthly log changes. A field left as ``None`` takes the value fitted on
the bundled history (:func:`powerfirst.planning.drivers_fit.fit_driver_model`) or its last
observation. Invalid values raise :class:`~powerfirst.errors.ConfigError` naming the field, the
value, the unit and the limit (:func:`parse_driver_settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from powerfirst.errors import ConfigError

__all__ = ["DEFAULT_MARKET_YEARS", "DriverSettings", "parse_driver_settings", "settings_error"]

DEFAULT_MARKET_YEARS = (2021, 2022, 2023)
"""The whole years of ERCOT prices bundled for every product (real-time, day-ahead, load)."""

_GROWTH = Field(ge=-0.9, le=10.0)
_ELASTICITY = Field(ge=-2.0, le=2.0)


class DriverSettings(BaseModel):
    """Assumptions for BTC price, network hashrate, fees, GPU rental price and power-price years."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    start_btc_usd: Annotated[float, Field(gt=0.0, le=100_000_000.0)] | None = None
    """BTC price in the first month [USD/BTC]; None = the history's month (or its last month)."""
    start_hashrate_ths: Annotated[float, Field(gt=0.0, le=1e15)] | None = None
    """Network hashrate in the first month [TH/s] (1 EH/s = 1e6 TH/s); None = from the history."""
    btc_growth_per_year: Annotated[float, _GROWTH] | None = None
    """Median BTC price growth per year [fraction/yr]; None = fitted. Deterministic: the base path."""
    btc_volatility_per_year: Annotated[float, Field(ge=0.0, le=5.0)] | None = None
    """Annualised volatility of monthly log price changes (σ_month × √12) [1/√yr]; None = fitted."""
    hashrate_growth_per_year: Annotated[float, _GROWTH] | None = None
    """Median network hashrate growth per year [fraction/yr]; None = fitted intercept plus the fitted
    lagged response to the BTC drift."""
    fees_btc_per_block: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0
    """Transaction fees per block in the first month [BTC/block]. **Assumed, not fitted** (the
    bundled data has no fee series); 0 by default. Must be left out with ``fees_csv_path``."""
    fees_btc_price_elasticity: Annotated[float, _ELASTICITY] = 0.0
    """Fees scale as (price / first price)^elasticity [-]: 0 keeps BTC per block, −1 keeps USD per block."""
    fees_hashrate_elasticity: Annotated[float, _ELASTICITY] = 0.0
    """Fees scale as (hashrate / first hashrate)^elasticity [-]."""
    fees_csv_path: str | None = None
    """A network CSV (``powerfirst data fetch bitcoin``): fees are then fitted jointly from it."""
    gpu_start_usd_per_gpu_hour: Annotated[float, Field(gt=0.0, le=1_000.0)] = 2.35
    """GPU rental price in the first month [USD/GPU-hour]; default: H100 ~2.35 in Mar 2026 (DOMAIN.md)."""
    gpu_floor_usd_per_gpu_hour: Annotated[float, Field(ge=0.0, le=1_000.0)] = 1.0
    """Level the median GPU price decays toward [USD/GPU-hour] (assumed; below the ~1.70 of Oct 2025)."""
    gpu_half_life_months: Annotated[float, Field(gt=0.0, le=1_200.0)] = 14.0
    """Half-life of the price's excess over the floor [months]; 14 fits ~2.85 (early 2024) → ~1.70
    (Oct 2025) with the floor at 1.0 (DOMAIN.md's H100 figures)."""
    gpu_volatility_per_month: Annotated[float, Field(ge=0.0, le=2.0)] = 0.10
    """Monthly shock to the log GPU price deviation from its median path [1/√month] (assumed)."""
    gpu_shock_persistence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.9
    """AR(1) coefficient of that deviation per month [-]: 1 = a random walk, 0 = independent months."""
    market_years: Annotated[
        tuple[Annotated[int, Field(ge=1990, le=2100)], ...], Field(strict=False, min_length=1, max_length=50)
    ] = DEFAULT_MARKET_YEARS
    """Real market years whose power prices are resampled, one per path and calendar year [year]."""
    deterministic_market_year: Annotated[int, Field(ge=1990, le=2100)] | None = None
    """Deterministic scenarios: this year throughout; None = cycle through ``market_years``."""

    @field_validator("market_years")
    @classmethod
    def _distinct(cls, years: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(years)) != len(years):
            raise ValueError("a year repeats; give each market year once")
        return years

    @model_validator(mode="after")
    def _check(self) -> DriverSettings:
        if (
            self.deterministic_market_year is not None
            and self.deterministic_market_year not in self.market_years
        ):
            raise ValueError(
                f"deterministic_market_year = {self.deterministic_market_year}: must be one of market_years "
                f"{list(self.market_years)}"
            )
        if self.gpu_floor_usd_per_gpu_hour > self.gpu_start_usd_per_gpu_hour:
            raise ValueError(
                f"gpu_floor_usd_per_gpu_hour = {self.gpu_floor_usd_per_gpu_hour:g} USD/GPU-hour: must be at most "
                f"gpu_start_usd_per_gpu_hour = {self.gpu_start_usd_per_gpu_hour:g} USD/GPU-hour (a decay, not a rise)"
            )
        if self.fees_csv_path is not None and (
            self.fees_btc_per_block or self.fees_btc_price_elasticity or self.fees_hashrate_elasticity
        ):
            raise ValueError(
                "fees_csv_path fits the fees from the file: fees_btc_per_block, fees_btc_price_elasticity "
                "and fees_hashrate_elasticity must be left out"
            )
        return self


_UNITS: dict[str, str] = {
    "start_btc_usd": "USD/BTC",
    "start_hashrate_ths": "TH/s",
    "btc_growth_per_year": "fraction per year",
    "btc_volatility_per_year": "per √year (annualised log volatility)",
    "hashrate_growth_per_year": "fraction per year",
    "fees_btc_per_block": "BTC/block",
    "fees_btc_price_elasticity": "-",
    "fees_hashrate_elasticity": "-",
    "fees_csv_path": "path",
    "gpu_start_usd_per_gpu_hour": "USD/GPU-hour",
    "gpu_floor_usd_per_gpu_hour": "USD/GPU-hour",
    "gpu_half_life_months": "months",
    "gpu_volatility_per_month": "per √month (log)",
    "gpu_shock_persistence": "- (AR(1) coefficient per month)",
    "market_years": "year",
    "deterministic_market_year": "year",
}


def settings_error(exc: ValidationError, *, source: str | None = None, prefix: str = "") -> ConfigError:
    """One line per problem: ``field = value unit: limit`` (``prefix`` is the settings' place in a
    larger file, e.g. ``drivers.``)."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        field = prefix + ".".join(loc) if loc else prefix.rstrip(".") or "(drivers)"
        unit = _UNITS.get(loc[0], "") if loc else ""
        value = err.get("input")
        if isinstance(value, tuple):
            value = list(value)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown field; the fields are {', '.join(DriverSettings.model_fields)}")
        elif err["type"] == "missing":
            lines.append(f"{field}: required field is missing [{unit}]")
        elif not loc:
            lines.append(f"{field}: {msg}")
        else:
            lines.append(f"{field} = {value!r} {unit}: {msg}")
    text = lines[0] if len(lines) == 1 else "\n" + "\n".join(f"  - {line}" for line in lines)
    return ConfigError(f"invalid driver settings: {text}", source=source)


def parse_driver_settings(
    data: Mapping[str, Any] | None, *, source: str | None = None, prefix: str = ""
) -> DriverSettings:
    """Validate driver settings given as a mapping (parsed YAML); None or {} = every default."""
    try:
        return DriverSettings.model_validate(dict(data or {}))
    except ValidationError as exc:
        raise settings_error(exc, source=source, prefix=prefix) from None
