"""Site model: one YAML file describes a site; pydantic validates it.

Sign and unit conventions used throughout powerfirst:

* power is in MW at the site meter unless a name says otherwise (``_w`` is watts per unit);
* a fleet's power at the meter includes its cooling/overhead: meter MW = IT MW × PUE;
* prices are USD/MWh; a positive price is paid by the buyer;
* every field name carries its unit (``connection_limit_mw``, ``block_price_usd_per_mwh``,
  ``min_off_time_min``); fractions are ``_fraction`` in [0, 1].

Validation errors become :class:`~powerfirst.errors.ConfigError` with the field, the value, the
unit and the limit (see :func:`powerfirst.site.messages.format_validation_error`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from powerfirst.errors import ConfigError
from powerfirst.site import limits
from powerfirst.site.files import read_site_yaml
from powerfirst.site.fleet import Fleet
from powerfirst.site.live import LiveConfig
from powerfirst.site.messages import format_validation_error
from powerfirst.site.streams import (
    AncillaryConfig,
    ConstantDemand,
    CsvDemand,
    FourCPConfig,
    GpuHall,
    HeatOfftake,
    MarketDataConfig,
    TraceDemand,
)
from powerfirst.site.strict import Strict

__all__ = [
    "BitcoinConfig",
    "Contract",
    "FixedBlockContract",
    "Fleet",
    "Grid",
    "IndexContract",
    "Site",
    "load_site",
    "parse_site",
    "resolve_paths",
    "site_error",
    "site_model",
]


class Grid(Strict):
    """The site's grid connection."""

    connection_limit_mw: Annotated[float, limits.GRID_MW]
    """Most power the site may draw at the meter [MW]."""


def _check_adder_total(adders: dict[str, float]) -> None:
    total, limit = sum(adders.values()), limits.ADDER_LIMIT_USD_PER_MWH
    if abs(total) > limit:
        raise ValueError(f"the adders sum to {total:g} USD/MWh; the sum must be within ±{limit:,.0f} USD/MWh")


class IndexContract(Strict):
    """Buy all energy at a real-time index price plus adders."""

    kind: Literal["index"]
    price_series: str = Field(min_length=1)
    """Real-time price series, e.g. ``ercot-rt:HB_WEST`` or ``prices.csv:LMP`` (see ``powerfirst.market``)."""
    adders_usd_per_mwh: dict[str, Annotated[float, limits.ADDER_USD_PER_MWH]] = Field(default_factory=dict)
    """Charges on every MWh consumed (transmission, distribution, fees) [USD/MWh], by name."""

    @property
    def total_adder_usd_per_mwh(self) -> float:
        return float(sum(self.adders_usd_per_mwh.values()))

    @model_validator(mode="after")
    def _check_adders(self) -> IndexContract:
        _check_adder_total(self.adders_usd_per_mwh)
        return self


class FixedBlockContract(Strict):
    """A fixed-price block of ``block_mw`` at ``block_price_usd_per_mwh``.

    The site pays for the whole block every interval. Energy above the block is bought at the
    real-time price; the unused part of the block is sold back at the real-time price (a credit,
    negative when the real-time price is negative). Adders are charged on every MWh consumed.
    """

    kind: Literal["fixed_block"]
    price_series: str = Field(min_length=1)
    """Real-time price series that sets purchases above and sell-back below the block."""
    block_mw: Annotated[float, limits.BLOCK_MW]
    """Contracted block [MW]."""
    block_price_usd_per_mwh: Annotated[float, limits.BLOCK_PRICE_USD_PER_MWH]
    """Fixed price of the block [USD/MWh]."""
    adders_usd_per_mwh: dict[str, Annotated[float, limits.ADDER_USD_PER_MWH]] = Field(default_factory=dict)

    @property
    def total_adder_usd_per_mwh(self) -> float:
        return float(sum(self.adders_usd_per_mwh.values()))

    @model_validator(mode="after")
    def _check_adders(self) -> FixedBlockContract:
        _check_adder_total(self.adders_usd_per_mwh)
        return self


Contract = Annotated[IndexContract | FixedBlockContract, Field(discriminator="kind")]


_READS = {
    "constant_usd_per_ph_day": "source: constant",
    "csv_path": "source: csv or network_csv",
    "tx_fees_btc_per_block": "source: bundled; a hashprice CSV or a constant already includes the fees",
}


class BitcoinConfig(Strict):
    """Where the hashprice comes from.

    ``source: bundled`` computes a daily hashprice from the bundled BTC price, difficulty and the
    subsidy schedule; ``constant`` uses ``constant_usd_per_ph_day``; ``csv`` reads ``csv_path``
    (columns ``date_utc`` and ``hashprice_usd_per_ph_day``); ``network_csv`` reads ``csv_path``
    (columns ``date_utc, btc_usd, difficulty, tx_fees_btc_per_block``, as ``powerfirst data fetch
    bitcoin`` writes) and computes the hashprice with each day's fees.
    """

    source: Literal["bundled", "constant", "csv", "network_csv"] = "bundled"
    tx_fees_btc_per_block: Annotated[float, limits.TX_FEES_BTC_PER_BLOCK] = 0.0
    """Transaction fees per block added to the subsidy [BTC/block]; the bundled data has none."""
    constant_usd_per_ph_day: Annotated[float, limits.HASHPRICE_USD_PER_PH_DAY] | None = None
    csv_path: str | None = None

    @model_validator(mode="after")
    def _check_source(self) -> BitcoinConfig:
        if self.source == "constant" and self.constant_usd_per_ph_day is None:
            raise ValueError("source 'constant' needs constant_usd_per_ph_day [USD/PH/day]")
        if self.source in ("csv", "network_csv") and not self.csv_path:
            raise ValueError(f"source {self.source!r} needs csv_path")
        if self.source == "network_csv" and self.tx_fees_btc_per_block:
            raise ValueError(
                "source 'network_csv' takes the fees of each day from the file's tx_fees_btc_per_block "
                f"column; tx_fees_btc_per_block = {self.tx_fees_btc_per_block:g} BTC/block must be left out"
            )
        # a field the source does not read is a conflict, not a setting to ignore
        unused = {
            "constant_usd_per_ph_day": self.source != "constant" and self.constant_usd_per_ph_day is not None,
            "csv_path": self.source in ("bundled", "constant") and self.csv_path is not None,
            "tx_fees_btc_per_block": self.source in ("constant", "csv") and bool(self.tx_fees_btc_per_block),
        }
        for name, bad in unused.items():
            if bad:
                raise ValueError(
                    f"source {self.source!r} does not use {name} = {getattr(self, name)!r}: "
                    f"remove it or choose the source that reads it ({_READS[name]})"
                )
        return self


class Site(Strict):
    """A power-first compute site."""

    name: str = Field(min_length=1, max_length=200)
    timezone: str | None = None
    """Market-local time zone (IANA name) for reading ``--start``/``--end``; default from the price source."""
    market: str | None = None
    """The ISO/RTO the prices are from (``ercot``, ``caiso``, ``spp``, ``miso``, ``nyiso``, ``isone``,
    ``pjm``; see market/markets.py); inferred for bundled sources, needed for a CSV's day-ahead clock."""
    grid: Grid
    contract: Contract
    fleets: list[Fleet] = Field(min_length=1, max_length=100)
    bitcoin: BitcoinConfig = Field(default_factory=BitcoinConfig)
    gpu_hall: GpuHall | None = None
    heat_offtake: HeatOfftake | None = None
    fourcp: FourCPConfig | None = None
    ancillary: AncillaryConfig | None = None
    market_data: MarketDataConfig = Field(default_factory=MarketDataConfig)
    """The user's own load, ancillary-price and 4CP-peak files (default: bundled ERCOT series)."""
    live: LiveConfig | None = None
    """How the live agent reaches the machines and signals (``powerfirst agent``)."""
    strategies: dict[str, Any] = Field(default_factory=dict)
    """Each strategy's settings, by strategy. The strategies own their settings models: this layer
    keeps the section as raw mappings, and :func:`parse_site` given the registry's section model
    (``strategies=``, see :mod:`powerfirst.policies.registry`) validates it with the rest of the file."""

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from powerfirst.market.isos.ercot import ERCOT

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. {ERCOT.timezone})") from exc
        return value

    @field_validator("market")
    @classmethod
    def _check_market(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from powerfirst.market.markets import MARKETS, market_names

        key = value.strip().lower().replace("-", "").replace("_", "")
        if key not in MARKETS:
            raise ValueError(f"unknown market {value!r}; known markets: {market_names()}")
        return key

    @model_validator(mode="after")
    def _check_fleets(self) -> Site:
        names = [f.name for f in self.fleets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"fleet names must be unique; repeated: {', '.join(duplicates)}")
        grid_mw = self.grid.connection_limit_mw
        if isinstance(self.contract, FixedBlockContract) and self.contract.block_mw > grid_mw:
            raise ValueError(
                f"contract.block_mw = {self.contract.block_mw:g} MW is above grid.connection_limit_mw = "
                f"{grid_mw:g} MW: the site could never draw the block (it would only be sold back); "
                "block_mw must be at most the connection limit"
            )
        if self.fourcp is not None and self.fourcp.peaks_csv and self.market_data.fourcp_peaks:
            raise ValueError(
                "fourcp.peaks_csv and market_data.fourcp_peaks both name a 4CP peaks file; keep one "
                "(market_data.fourcp_peaks; peaks_csv is its older name)"
            )
        if self.live is not None:
            unknown = sorted(set(self.live.fleets) - set(names))
            if unknown:
                raise ValueError(
                    f"live.fleets names {', '.join(map(repr, unknown))}, not a fleet of this site "
                    f"(fleets: {', '.join(map(repr, names))})"
                )
        return self

    @property
    def fourcp_peaks_path(self) -> str | None:
        """The user's 4CP peaks file (``market_data.fourcp_peaks`` or ``fourcp.peaks_csv``); None: bundled."""
        if self.market_data.fourcp_peaks:
            return self.market_data.fourcp_peaks
        return self.fourcp.peaks_csv if self.fourcp is not None else None

    @property
    def max_load_mw(self) -> float:
        """All fleets at full power [MW at the meter]."""
        return sum(f.max_power_mw for f in self.fleets)

    @property
    def must_run_mw(self) -> float:
        """Power that must run in every interval [MW at the meter]."""
        return sum(f.min_power_mw for f in self.fleets)


_UNION_TAGS: dict[str, type[BaseModel]] = {
    "index": IndexContract,
    "fixed_block": FixedBlockContract,
    "constant": ConstantDemand,
    "trace": TraceDemand,
    "csv": CsvDemand,
}
"""Tags of the discriminated unions (pydantic puts them in an error's location)."""


def site_model(strategies: type[BaseModel] | None = None) -> type[Site]:
    """The model a site file is validated with: :class:`Site`, with its ``strategies`` section
    validated by ``strategies`` when given (the section model of the strategies' settings; None:
    kept as raw mappings)."""
    return Site if strategies is None else _site_with(strategies)


@functools.cache
def _site_with(strategies: type[BaseModel]) -> type[Site]:
    return create_model(
        "Site",
        __base__=Site,
        __module__=Site.__module__,
        strategies=(strategies, Field(default_factory=strategies)),
    )


def site_error(
    exc: ValidationError,
    model: type[BaseModel],
    data: Mapping[str, Any],
    *,
    source: str | None,
    options: Mapping[tuple[str, ...], str] | None = None,
) -> ConfigError:
    """The :class:`ConfigError` of a site (``data``) that ``model`` refused: one line per problem."""
    fleets = data.get("fleets") if isinstance(data.get("fleets"), list) else None
    lines = format_validation_error(exc, model, _UNION_TAGS, fleets, options)
    header = "invalid option" if options else "invalid site file"
    if len(lines) == 1 and options:
        return ConfigError(f"{header}: {lines[0]}", source=source)
    return ConfigError(f"{header}:\n" + "\n".join(f"  - {line}" for line in lines), source=source)


def parse_site(
    data: Any,
    *,
    source: str | None = "<site>",
    options: Mapping[tuple[str, ...], str] | None = None,
    strategies: type[BaseModel] | None = None,
) -> Site:
    """Validate a site given as a mapping (already parsed YAML).

    ``options`` names the command-line flag that set a field (see :func:`format_validation_error`):
    errors then say "invalid option" and name the flag rather than the site file's field.
    ``strategies`` validates the ``strategies`` section (see :func:`site_model`).
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"the site file must be a mapping of fields, got {type(data).__name__}", source=source
        )
    model = site_model(strategies)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise site_error(exc, model, data, source=source, options=options) from None


def load_site(path: str | Path, *, strategies: type[BaseModel] | None = None) -> Site:
    """Read and validate a site YAML file (``strategies``: see :func:`parse_site`). Nothing is run
    on an invalid file."""
    path = Path(path)
    data = read_site_yaml(path)
    if isinstance(data, dict):
        _resolve_paths(data, path.parent)
    return parse_site(data, source=str(path), strategies=strategies)


def resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make the relative file paths of a site mapping (parsed YAML, whole or in part, e.g. the
    overrides of a candidate in ``powerfirst sites rank``) relative to ``base``, in place."""
    _resolve_paths(data, base)


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make file paths in a site file relative to the file's folder (not the working directory)."""

    def plain(section: Any, key: str) -> None:
        if isinstance(section, dict) and isinstance(section.get(key), str):
            path = Path(section[key])
            if not path.is_absolute():
                section[key] = str(base / path)

    def source(section: Any, key: str) -> None:
        if isinstance(section, dict) and isinstance(section.get(key), str):
            found = re.search(
                r"\.csv(\.gz)?:", section[key], re.IGNORECASE
            )  # the first: a column may hold ':'
            head, column = (
                (section[key][: found.end() - 1], section[key][found.end() :]) if found else ("", "")
            )
            if found and not Path(head).is_absolute():
                section[key] = f"{base / head}:{column}"

    plain(data.get("bitcoin"), "csv_path")
    source(data.get("contract"), "price_series")
    plain(data.get("fourcp"), "peaks_csv")
    plain(data.get("market_data"), "ancillary_prices")
    plain(data.get("market_data"), "fourcp_peaks")
    source(data.get("market_data"), "load")
    source(data.get("market_data"), "day_ahead")
    hall = data.get("gpu_hall")
    if isinstance(hall, dict):
        source(hall.get("rental"), "price_series")
        inference = hall.get("inference")
        if isinstance(inference, dict) and isinstance(inference.get("demand"), dict):
            demand = inference["demand"]
            if demand.get("kind") == "csv":
                plain(demand, "path")
