"""Forecasts of the real-time price from what is known at issue time, and their evaluation.

Every forecaster implements :class:`PriceForecaster`: quantiles (:data:`QUANTILES`) of the hourly
mean real-time price [USD/MWh] of the coming hours, from a
:class:`~powerfirst.market.information.MarketHistory` only. :func:`evaluate_forecasts` fits them
on past years and scores them walk-forward on a held-out year.
"""

from powerfirst.forecast.base import QUANTILES, PriceForecaster
from powerfirst.forecast.evaluate import LEAD_BUCKETS, ForecastScore, evaluate_forecasts
from powerfirst.forecast.gbm import GbmQuantileForecaster
from powerfirst.forecast.registry import FORECASTERS, make_forecaster
from powerfirst.forecast.simple import DayAheadForecaster, PersistenceForecaster

__all__ = [
    "FORECASTERS",
    "LEAD_BUCKETS",
    "QUANTILES",
    "DayAheadForecaster",
    "ForecastScore",
    "GbmQuantileForecaster",
    "PersistenceForecaster",
    "PriceForecaster",
    "evaluate_forecasts",
    "make_forecaster",
]
