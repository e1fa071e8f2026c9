"""A learned forecaster: one gradient-boosted quantile regression per quantile level.

Each model (scikit-learn ``HistGradientBoostingRegressor`` with the pinball loss) maps the
features of :func:`~powerfirst.forecast.features.forecast_features` to one quantile of the hourly
mean real-time price [USD/MWh]. Training rows are built by walking a clock over the training period
(issues every few hours, every lead of the horizon), with the same feature function that serves
predictions. Price spikes stay in the training targets: the pinball loss is robust to them.
Deterministic: no subsampling, no early stopping, a fixed seed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from powerfirst._types import Array
from powerfirst.errors import DataError
from powerfirst.forecast.base import QUANTILES, DayAheadGaps, NothingKnownError, PriceForecaster
from powerfirst.forecast.features import FEATURE_INPUTS, FEATURE_NAMES, forecast_features
from powerfirst.forecast.known import TAIL_HOURS, KnownArrays, hour_starts_ns, lookup
from powerfirst.forecast.trees import CompiledForest, ModelStack, fast_forest
from powerfirst.forecast.walk import describe_missing, hourly_mean_rt, unfittable_options, walk
from powerfirst.market.information import MarketData, MarketHistory

__all__ = ["GbmQuantileForecaster"]

_CHECK_ROWS = 2000
"""Training rows on which the compiled trees are checked against scikit-learn [count]."""


class GbmQuantileForecaster(PriceForecaster):
    """Gradient-boosted quantile trees on recent prices, day-ahead prices, load and the calendar."""

    name: ClassVar[str] = "gbm"
    label: ClassVar[str] = "gradient-boosted quantiles"
    needs_fit: ClassVar[bool] = True

    def __init__(
        self,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_depth: int = 6,
        min_samples_leaf: int = 20,
        train_issue_every_hours: int = 5,
        horizon_hours: int = 48,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.train_issue_every_hours = train_issue_every_hours
        """Spacing of training issue times [h]; coprime with 24 covers every hour of the day."""
        self.horizon_hours = horizon_hours
        """Target hours per training issue [count]."""
        self.random_state = random_state
        self.training_rows = 0
        """Rows the models were fitted on [count]."""
        self._forest: CompiledForest | ModelStack | None = None
        self._columns = np.arange(len(FEATURE_NAMES))
        """Columns of :data:`FEATURE_NAMES` the models use (features with data in training)."""
        self.features_used: tuple[str, ...] = FEATURE_NAMES

    def fit(self, data: MarketData) -> None:
        """Fit one model per quantile. A feature with no value in any training row (no load, no
        day-ahead prices) is left out; issue times with nothing settled to anchor on (inside a long
        hole of the history) give no rows. DataError naming the hole and the options when fewer
        than 100 rows remain."""
        features, target = self._training_rows(data)
        if target.size < 100:
            raise DataError(
                f"--forecast {self.name}: the training data gives {target.size} (issue, target hour) rows with a "
                f"realised price; need at least 100 ({describe_missing(data)}); {unfittable_options(self.name)}"
            )
        has_data = ~np.isnan(features).all(axis=0)
        self._columns = np.flatnonzero(has_data)
        self.features_used = tuple(FEATURE_NAMES[i] for i in self._columns)
        needed = {FEATURE_INPUTS[n] for n in self.features_used if n in FEATURE_INPUTS}
        self.inputs_used = ("real-time prices", *sorted(needed))
        self.day_ahead_gaps = DayAheadGaps() if "day-ahead prices" in needed else None
        features = features[:, self._columns]
        # imported on use: slow imports
        from sklearn.ensemble import HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        def fit_one(q: float) -> Any:
            # one OpenMP thread per model: OpenMP's spinning worker threads slow down several-fold
            # on shared cores (the limit is per thread: set in the thread that fits)
            with threadpool_limits(limits=1, user_api="openmp"):
                return HistGradientBoostingRegressor(
                    loss="quantile",
                    quantile=q,
                    max_iter=self.max_iter,
                    learning_rate=self.learning_rate,
                    max_depth=self.max_depth,
                    min_samples_leaf=self.min_samples_leaf,
                    early_stopping=False,
                    random_state=self.random_state,
                ).fit(features, target)

        # the models are independent and scikit-learn fits without the GIL: one thread per model
        # (each model is the same as when fitted alone; on 2 cores the three share them: measured
        # 31.6 → 22.6 s with two threads, then about 1 s less with three)
        with ThreadPoolExecutor(max_workers=len(QUANTILES)) as pool:
            models: list[Any] = list(pool.map(fit_one, QUANTILES))
        with threadpool_limits(limits=1, user_api="openmp"):
            forest = fast_forest(models, features[:: max(1, target.size // _CHECK_ROWS)])
        self._forest = forest
        self.training_rows = int(target.size)

    def _training_rows(self, data: MarketData) -> tuple[Array, Array]:
        """Features and target of every training row: realised hourly mean real-time price − anchor [USD/MWh]."""
        realised = hourly_mean_rt(data)
        if realised.size < 48:
            return np.zeros((0, 0)), np.zeros(0)
        realised_ns, realised_usd = hour_starts_ns(pd.DatetimeIndex(realised.index)), realised.to_numpy()
        first_issue = realised.index[0] + pd.Timedelta(hours=24)
        end = realised.index[-1] + pd.Timedelta(hours=1)
        blocks, targets, anchors = [], [], []
        for history, hours in walk(data, first_issue, end, self.train_issue_every_hours, self.horizon_hours):
            target_ns = hour_starts_ns(hours)
            features, anchor = forecast_features(KnownArrays.of(history), target_ns)
            blocks.append(features)
            anchors.append(anchor)
            targets.append(lookup(realised_ns, realised_usd, target_ns))
        # the models learn the realised price relative to the anchor
        correction = np.concatenate(targets) - np.concatenate(anchors)
        known = ~np.isnan(correction)
        return np.concatenate(blocks)[known], correction[known]

    def predict(self, history: MarketHistory, target_hours_utc: pd.DatetimeIndex) -> Array:
        if self._forest is None:
            raise DataError(f"{self.name}: the model is not fitted; call fit() with training data first")
        known = KnownArrays.of(history)
        if self.day_ahead_gaps is not None:
            self.day_ahead_gaps.note(known.issued_ns, int(known.da_ns[-1]) if known.da_ns.size else None)
        features, anchor = forecast_features(known, hour_starts_ns(target_hours_utc))
        if np.isnan(anchor).any():
            raise NothingKnownError(
                f"{self.name}: neither a day-ahead price nor a real-time price settled in the last "
                f"{TAIL_HOURS} h is known at {history.issued_utc.isoformat()}"
            )
        return np.sort(anchor[:, None] + self._forest.predict(features[:, self._columns]), axis=1)
