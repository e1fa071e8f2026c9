"""The gbm forecaster fits its quantile models side by side (one thread each): each model must be
the one a fit on its own gives, so forecasts and decisions do not depend on how it was fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from powerfirst.forecast import QUANTILES, GbmQuantileForecaster
from powerfirst.forecast.trees import fast_forest
from powerfirst.market.loading import load_market_data


def test_models_fitted_side_by_side_predict_as_models_fitted_one_by_one() -> None:
    data = load_market_data(
        "ercot-rt:HB_WEST",
        "ercot-da:HB_WEST",
        pd.Timestamp("2022-05-01T05:00Z"),
        pd.Timestamp("2022-05-22T05:00Z"),
    )
    model = GbmQuantileForecaster(max_iter=30)
    model.fit(data)
    features, target = model._training_rows(data)
    features = features[:, model._columns]
    with threadpool_limits(limits=1, user_api="openmp"):
        alone = [
            HistGradientBoostingRegressor(
                loss="quantile",
                quantile=q,
                max_iter=30,
                learning_rate=model.learning_rate,
                max_depth=model.max_depth,
                min_samples_leaf=model.min_samples_leaf,
                early_stopping=False,
                random_state=model.random_state,
            ).fit(features, target)
            for q in QUANTILES
        ]
    expected = fast_forest(alone, features).predict(features)  # the same evaluation of the trees
    assert model._forest is not None
    np.testing.assert_array_equal(model._forest.predict(features), expected)
    assert len({tuple(np.round(expected[:50, i], 6)) for i in range(len(QUANTILES))}) == len(QUANTILES)
