"""The forecasters the CLI and the ``rolling`` strategy pick from, by name (the ``--forecast`` value).

Adding a forecaster is one module implementing
:class:`~powerfirst.forecast.base.PriceForecaster` plus one line in :data:`_REGISTRY`.
"""

from __future__ import annotations

from powerfirst.errors import ConfigError
from powerfirst.forecast.base import PriceForecaster
from powerfirst.forecast.gbm import GbmQuantileForecaster
from powerfirst.forecast.simple import DayAheadForecaster, PersistenceForecaster

__all__ = ["FORECASTERS", "make_forecaster"]

_REGISTRY: tuple[tuple[type[PriceForecaster], str], ...] = (
    (PersistenceForecaster, "last settled real-time price, error bands by lead"),
    (DayAheadForecaster, "published day-ahead price, error bands by lead"),
    (GbmQuantileForecaster, "gradient-boosted quantile trees on prices, day-ahead and load"),
)
"""Each forecaster's class and its one-line label, in the order the CLI lists them."""

_CLASSES: dict[str, type[PriceForecaster]] = {cls.name: cls for cls, _ in _REGISTRY}

FORECASTERS: dict[str, str] = {cls.name: label for cls, label in _REGISTRY}
"""Forecaster name (the ``--forecast`` value) → label."""


def make_forecaster(name: str) -> PriceForecaster:
    """A fresh (unfitted) forecaster by registry name; ConfigError names ``--forecast`` and the choices."""
    if name not in _CLASSES:
        raise ConfigError(f"--forecast = {name!r}: unknown forecaster; choices: {', '.join(FORECASTERS)}")
    return _CLASSES[name]()
