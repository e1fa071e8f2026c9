"""The one interface of every price forecaster (the registry the CLI picks from is
:mod:`powerfirst.forecast.registry`).

A forecaster answers, at an issue time τ and from what is known at τ only (a
:class:`~powerfirst.market.information.MarketHistory`), quantiles of the **hourly mean real-time
price** [USD/MWh] of target hours that start at or after the hour containing τ. Prices keep the
market's sign: positive is paid by the buyer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from powerfirst._types import Array
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.errors import DataError
from powerfirst.market.information import MarketData, MarketHistory

__all__ = [
    "QUANTILES",
    "Array",
    "DayAheadGaps",
    "NothingKnownError",
    "PriceForecaster",
]


QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
"""Quantile levels of every forecast, the columns of :meth:`PriceForecaster.predict` [-]."""


class NothingKnownError(DataError):
    """At an issue time nothing a forecaster needs is known (a hole in the data longer than its
    look-back): it cannot forecast there. An evaluation skips such issue times and says so."""


@dataclass
class DayAheadGaps:
    """Forecasts issued without a current day-ahead price (a hole in the day-ahead data), counted so
    that no forecast from stale or missing day-ahead data goes unstated. Normally the day-ahead
    prices of the hour of issue were published the day before."""

    issues: int = 0
    """Forecasts issued [count]."""
    stale: int = 0
    """Issued while the latest published day-ahead hour ended before the hour of issue: the
    forecast used the day-ahead prices of that older day [count]."""
    missing: int = 0
    """Issued with no day-ahead price known over the recent history: the forecast used real-time
    prices only [count]."""
    oldest_hours: float = 0.0
    """Largest age of the latest published day-ahead hour at a stale issue (issue − its end) [h]."""
    first_utc: str | None = None
    """The first issue time (UTC, ISO) without a current day-ahead price."""

    def note(self, issued_ns: int, last_da_ns: int | None) -> None:
        """Count one forecast issued at ``issued_ns`` whose latest known day-ahead hour starts at
        ``last_da_ns`` [UTC ns] (None: none known)."""
        self.issues += 1
        if last_da_ns is not None and last_da_ns + NS_PER_HOUR > issued_ns - issued_ns % NS_PER_HOUR:
            return
        if last_da_ns is None:
            self.missing += 1
        else:
            self.stale += 1
            self.oldest_hours = max(self.oldest_hours, (issued_ns - last_da_ns - NS_PER_HOUR) / NS_PER_HOUR)
        if self.first_utc is None:
            self.first_utc = pd.Timestamp(issued_ns, unit="ns", tz="UTC").isoformat()

    def describe(self) -> str | None:
        """One line for the console, None when every forecast had a current day-ahead price."""
        if not self.stale and not self.missing:
            return None
        parts = []
        if self.stale:
            parts.append(
                f"{self.stale} from the latest published day's day-ahead prices (up to {self.oldest_hours:.0f} h "
                "old)"
            )
        if self.missing:
            parts.append(f"{self.missing} with no day-ahead price known (from real-time prices only)")
        return (
            f"{self.stale + self.missing} of {self.issues} forecasts issued without a day-ahead price for the "
            f"hour of issue (a hole in the day-ahead data; first at {self.first_utc}): {', '.join(parts)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "issues": self.issues,
            "stale": self.stale,
            "missing": self.missing,
            "oldest_hours": self.oldest_hours,
            "first_utc": self.first_utc,
            "note": self.describe(),
        }


class PriceForecaster(ABC):
    """Quantiles of the hourly mean real-time price of target hours, from what is known at issue time."""

    name: ClassVar[str]
    """Registry name (``--forecast`` value)."""
    label: ClassVar[str]
    """One line for tables and help texts."""
    needs_fit: ClassVar[bool] = False
    """The forecaster cannot predict before :meth:`fit` has seen training data."""
    inputs_used: tuple[str, ...] = ("real-time prices",)
    """The inputs the forecaster was fitted with (``fit`` sets it: a series with no data is left out)."""
    day_ahead_gaps: DayAheadGaps | None = None
    """Forecasts issued without a current day-ahead price, counted by :meth:`predict` when the
    forecaster uses day-ahead prices (None: it does not count them)."""

    def check_inputs(self, data: MarketData) -> None:  # noqa: B027 - optional hook, default: any data will do
        """Raise DataError when ``data`` lacks an input this forecaster cannot do without. Default: none."""

    def fit(self, data: MarketData) -> None:  # noqa: B027 - optional hook, default: nothing to learn
        """Learn from a training period (strictly before anything that is scored). Default: nothing."""

    @abstractmethod
    def predict(self, history: MarketHistory, target_hours_utc: pd.DatetimeIndex) -> Array:
        """Quantiles [USD/MWh] of the hourly mean real-time price of each target hour.

        ``target_hours_utc`` are UTC hour starts at or after the hour containing
        ``history.issued_utc``. Returns shape ``(len(target_hours_utc), len(QUANTILES))``, each row
        non-decreasing. Only ``history`` may be used: nothing after the issue time.
        """
