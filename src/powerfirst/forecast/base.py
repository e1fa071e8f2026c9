"""The one interface of every price forecaster, and the registry the CLI picks from.

A forecaster answers, at an issue time τ and from what is known at τ only (a
:class:`~powerfirst.market.information.MarketHistory`), quantiles of the **hourly mean real-time
price** [USD/MWh] of target hours that start at or after the hour containing τ. Prices keep the
market's sign: positive is paid by the buyer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.errors import ConfigError, DataError
from powerfirst.market.information import MarketData, MarketHistory

__all__ = ["FORECASTERS", "QUANTILES", "Array", "NothingKnownError", "PriceForecaster", "make_forecaster"]

Array = npt.NDArray[np.float64]

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
"""Quantile levels of every forecast, the columns of :meth:`PriceForecaster.predict` [-]."""

FORECASTERS: dict[str, str] = {
    "persistence": "last settled real-time price, error bands by lead",
    "day-ahead": "published day-ahead price, error bands by lead",
    "gbm": "gradient-boosted quantile trees on prices, day-ahead and load",
}
"""Forecaster name (the ``--forecast`` value) → label."""


class NothingKnownError(DataError):
    """At an issue time nothing a forecaster needs is known (a hole in the data longer than its
    look-back): it cannot forecast there. An evaluation skips such issue times and says so."""


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


def make_forecaster(name: str) -> PriceForecaster:
    """A fresh (unfitted) forecaster by registry name; ConfigError names ``--forecast`` and the choices."""
    # imported here: the implementations import this module
    from powerfirst.forecast.gbm import GbmQuantileForecaster
    from powerfirst.forecast.simple import DayAheadForecaster, PersistenceForecaster

    classes: dict[str, type[PriceForecaster]] = {
        cls.name: cls for cls in (PersistenceForecaster, DayAheadForecaster, GbmQuantileForecaster)
    }
    if name not in classes:
        raise ConfigError(f"--forecast = {name!r}: unknown forecaster; choices: {', '.join(FORECASTERS)}")
    return classes[name]()
