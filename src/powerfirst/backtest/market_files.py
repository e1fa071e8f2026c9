"""The user's market files of a backtest, read and checked before any work.

Each file comes from a command-line option (``--day-ahead``, ``--load``, ``--ancillary-prices``,
``--fourcp-peaks``) or from the site file (``market_data.*``, ``fourcp.peaks_csv``); errors name
the one the user wrote (:class:`MarketFile.field`). Every file is read whole (a bad row anywhere
is an error, also in the rows outside the window) and a CSV that carries ``interval_start_local``
must be dated in the backtest's zone (:func:`powerfirst.market.window.check_local_zone`).
``validate`` prints the lines :func:`check_market_files` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from powerfirst.errors import DataError
from powerfirst.market.grid_programs import fourcp_peaks_csv
from powerfirst.market.source_spec import file_spec
from powerfirst.market.sources import BundledPriceSource, CsvPriceSource, parse_source
from powerfirst.market.user_inputs import read_ancillary_csv, read_load_csv
from powerfirst.market.window import check_local_zone
from powerfirst.site.schema import Site

__all__ = ["MarketFile", "check_market_files", "market_files", "price_interval"]

KEYS = ("day_ahead", "load", "ancillary_prices", "fourcp_peaks")
_WHOLE = (pd.Timestamp("1900-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC"))


@dataclass(frozen=True)
class MarketFile:
    """One of the user's market files and where it was named."""

    key: str
    """``day_ahead``, ``load``, ``ancillary_prices`` or ``fourcp_peaks``."""
    spec: str
    """The path (``path.csv:COLUMN`` for load, a price SOURCE for day-ahead prices)."""
    field: str
    """The option or site-file field that named it, e.g. ``--load`` or ``market_data.load``."""


def market_files(site: Site, given: Mapping[str, str | None] | None = None) -> list[MarketFile]:
    """The user's market files: the command-line options in ``given`` (by key), else the site's."""
    given = given or {}
    out = []
    for key in KEYS:
        option = given.get(key)
        if option is not None:
            out.append(MarketFile(key, option, f"--{key.replace('_', '-')}"))
            continue
        value = getattr(site.market_data, key)
        if value is not None:
            out.append(MarketFile(key, value, f"market_data.{key}"))
        elif key == "fourcp_peaks" and site.fourcp is not None and site.fourcp.peaks_csv:
            out.append(MarketFile(key, site.fourcp.peaks_csv, "fourcp.peaks_csv"))
    return out


def price_interval(spec: str, timezone: str) -> pd.Timedelta:
    """The interval of a price SOURCE (a CSV is read whole: a bad row is an error here too)."""
    source = parse_source(spec, timezone=timezone)
    if isinstance(source, CsvPriceSource):
        return source.load(*_WHOLE).interval
    assert isinstance(source, BundledPriceSource)
    return source.interval


def _span(index: pd.Index) -> str:
    if len(index) == 0:
        return "no rows"
    return f"{pd.Timestamp(index[0]).isoformat()} to {pd.Timestamp(index[-1]).isoformat()}"


def _check_day_ahead(item: MarketFile, timezone: str, origin: str) -> str:
    source = parse_source(item.spec, timezone=timezone)
    if not isinstance(source, CsvPriceSource):
        return f"{item.field}: {item.spec} (bundled)"
    try:
        series = source.load(*_WHOLE)
    except DataError as exc:
        raise DataError(f"{item.field} (day-ahead prices) {exc}") from None
    check_local_zone(source.path, item.field, timezone, origin)
    priced = series.prices.dropna()
    return (
        f"{item.field}: {item.spec} (day-ahead prices, {len(priced)} priced intervals of "
        f"{series.interval / pd.Timedelta(minutes=1):g} min, {_span(priced.index)})"
    )


def check_market_files(
    files: list[MarketFile],
    *,
    products: tuple[str, ...],
    timezone: str,
    origin: str,
    interval: pd.Timedelta,
    used: Mapping[str, bool] | None = None,
) -> list[str]:
    """Read and check each file (DataError naming its field), and describe it in one line each.

    ``products``: the site's ancillary products (columns the price file needs); ``timezone`` and
    ``origin``: the backtest's zone and where it came from; ``interval``: the price interval (the
    4CP peak intervals' step); ``used``: per key, False when the site has no part that reads it.
    """
    lines = []
    for item in files:
        unused = (
            " — not used: the site has no section that reads it"
            if used and not used.get(item.key, True)
            else ""
        )
        if item.key == "day_ahead":
            lines.append(_check_day_ahead(item, timezone, origin) + unused)
        elif item.key == "load":
            load = read_load_csv(item.spec, what=item.field)
            check_local_zone(file_spec(item.spec, item.field).path, item.field, timezone, origin)
            lines.append(
                f"{item.field}: {item.spec} (system load, {len(load)} hours, {_span(load.index)}){unused}"
            )
        elif item.key == "ancillary_prices":
            table = read_ancillary_csv(item.spec, products, what=item.field)
            check_local_zone(item.spec, item.field, timezone, origin)
            empty = {p: int(table[p].isna().sum()) for p in products if table[p].isna().any()}
            cells = "; empty cells: " + ", ".join(f"{p} {n} hours" for p, n in empty.items()) if empty else ""
            lines.append(
                f"{item.field}: {item.spec} (ancillary prices, {len(table)} hours, {_span(table.index)}"
                f"{cells}){unused}"
            )
        else:
            peaks = fourcp_peaks_csv(item.spec, interval, timezone, what=item.field)
            months = ", ".join(
                f"{int(y)}-{int(m):02d}" for y, m in zip(peaks["year"], peaks["month"], strict=True)
            )
            lines.append(f"{item.field}: {item.spec} (4CP peaks of {months or 'no month'}){unused}")
    return lines
