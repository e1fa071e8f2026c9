"""Price forecasters: what each one may know, what it returns, whether learning helps, and the
walk-forward evaluation with its command."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from powerfirst.cli import forecast as cli_forecast
from powerfirst.errors import ConfigError, DataError
from powerfirst.forecast import (
    QUANTILES,
    DayAheadForecaster,
    GbmQuantileForecaster,
    PersistenceForecaster,
    evaluate_forecasts,
    make_forecaster,
)
from powerfirst.forecast.trees import CompiledForest, ModelStack, fast_forest
from powerfirst.market.information import MarketData, day_ahead_published_until
from powerfirst.market.loading import load_market_data
from powerfirst.market.markets import MARKETS

TZ = "America/Chicago"
ERCOT = MARKETS["ercot"]
RT, DA = "ercot-rt:HB_WEST", "ercot-da:HB_WEST"


def _hours(start: str, count: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start, tz="UTC"), periods=count, freq="h").as_unit("ns")


def _synthetic(days: int = 6) -> MarketData:
    """RT every 15 min = its start in minutes since the data start [USD/MWh] (60 USD/MWh per hour); DA per hour = 1000 + hours since start; load 40,000 MW + hour."""
    start = pd.Timestamp("2023-03-01T06:00Z")
    rt_index = pd.date_range(start, periods=days * 96, freq="15min").as_unit("ns")
    hours = _hours("2023-03-01T06:00Z", days * 24)
    return MarketData(
        timezone=TZ,
        rt_price_usd_per_mwh=pd.Series(np.arange(days * 96) * 15.0, index=rt_index),
        rt_interval=pd.Timedelta(minutes=15),
        da_price_usd_per_mwh=pd.Series(1000.0 + np.arange(days * 24), index=hours),
        load_mw=pd.Series(40_000.0 + np.arange(days * 24), index=hours),
        market=ERCOT,
    )


def _targets(issued: pd.Timestamp, count: int = 48) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(issued.floor("h") + pd.to_timedelta(np.arange(count), unit="h")).as_unit("ns")


@pytest.fixture(scope="module")
def real_data() -> MarketData:
    """Real ERCOT HB_WEST prices and load, 2022-05-01 to 2022-06-08 (Central)."""
    return load_market_data(RT, DA, pd.Timestamp("2022-05-01T05:00Z"), pd.Timestamp("2022-06-08T05:00Z"))


@pytest.fixture(scope="module")
def fitted_gbm(real_data: MarketData) -> GbmQuantileForecaster:
    model = GbmQuantileForecaster(max_iter=100)
    model.fit(_until(real_data, pd.Timestamp("2022-06-01T05:00Z")))
    return model


def _until(data: MarketData, end: pd.Timestamp) -> MarketData:
    return MarketData(
        timezone=data.timezone,
        rt_price_usd_per_mwh=data.rt_price_usd_per_mwh[data.rt_price_usd_per_mwh.index < end],
        rt_interval=data.rt_interval,
        da_price_usd_per_mwh=data.da_price_usd_per_mwh[data.da_price_usd_per_mwh.index < end],
        load_mw=data.load_mw[data.load_mw.index < end],
        market=data.market,
    )


# --------------------------------------------------------------------------------------------------
# reference forecasters


def test_persistence_is_the_last_settled_price() -> None:
    data = _synthetic()
    issued = pd.Timestamp("2023-03-02T16:00Z")
    history = data.clock().known_at(issued)
    q = PersistenceForecaster().predict(history, _targets(issued))
    # the interval 15:45–16:00 has just settled; its price is its start in minutes since the data start
    last = (issued - pd.Timedelta(minutes=15) - pd.Timestamp("2023-03-01T06:00Z")) / pd.Timedelta(minutes=1)
    assert q.shape == (48, len(QUANTILES))
    np.testing.assert_array_equal(q, np.full((48, 3), last))


def test_persistence_bands_come_from_its_training_errors() -> None:
    data = _synthetic(days=20)
    model = PersistenceForecaster()
    model.fit(data)
    issued = pd.Timestamp("2023-03-15T12:00Z")
    q = model.predict(data.clock().known_at(issued), _targets(issued))
    last = float(data.clock().known_at(issued).rt_price_usd_per_mwh.iloc[-1])
    # the price rises 60 USD/MWh per hour, so at lead L (hours to the end of the target hour) the
    # hourly mean exceeds the last settled 15-min price by exactly 60 (L − 1) + 37.5: every error
    # quantile learnt for that lead is that number, and the band sits there
    error = 60.0 * np.arange(48) + 37.5
    np.testing.assert_allclose(q[:, 0], last)
    np.testing.assert_allclose(q[:, 2], last + error)
    assert np.all(np.diff(q, axis=1) >= 0)


def test_day_ahead_uses_only_published_prices() -> None:
    data = _synthetic()
    clock = data.clock()
    model = DayAheadForecaster()
    # 2023-03-03 13:00 Central (before the 13:30 publication): 3 March is published, 4 March is not
    before = pd.Timestamp("2023-03-03T13:00", tz=TZ).tz_convert("UTC")
    after = pd.Timestamp("2023-03-03T13:30", tz=TZ).tz_convert("UTC")
    targets = _targets(before, 24)
    da = data.da_price_usd_per_mwh
    q_before = model.predict(clock.known_at(before), targets)
    q_after = model.predict(clock.known_at(after), targets)
    unpublished = targets >= day_ahead_published_until(before, ERCOT)
    assert unpublished.any() and (~unpublished).any()
    np.testing.assert_array_equal(q_before[~unpublished, 1], da.reindex(targets[~unpublished]).to_numpy())
    # beyond publication: the same local hour on the latest published day (one day earlier)
    np.testing.assert_array_equal(
        q_before[unpublished, 1], da.reindex(targets[unpublished] - pd.Timedelta(days=1)).to_numpy()
    )
    assert not np.isin(q_before[unpublished, 1], da.reindex(targets[unpublished]).to_numpy()).any()
    np.testing.assert_array_equal(q_after[:, 1], da.reindex(targets).to_numpy())


def test_day_ahead_without_day_ahead_data_is_persistence() -> None:
    data = _synthetic()
    bare = MarketData(
        TZ, data.rt_price_usd_per_mwh, data.rt_interval, pd.Series(dtype="float64"), data.load_mw
    )
    issued = pd.Timestamp("2023-03-02T16:00Z")
    q_da = DayAheadForecaster().predict(bare.clock().known_at(issued), _targets(issued))
    q_p = PersistenceForecaster().predict(bare.clock().known_at(issued), _targets(issued))
    np.testing.assert_array_equal(q_da, q_p)


def test_unknown_forecaster_names_the_option_and_choices() -> None:
    with pytest.raises(ConfigError, match=r"--forecast = 'arima'.*persistence, day-ahead, gbm"):
        make_forecaster("arima")
    assert isinstance(make_forecaster("gbm"), GbmQuantileForecaster)


def test_unfitted_gbm_says_so() -> None:
    data = _synthetic()
    issued = pd.Timestamp("2023-03-02T16:00Z")
    with pytest.raises(DataError, match="not fitted"):
        GbmQuantileForecaster().predict(data.clock().known_at(issued), _targets(issued))


# --------------------------------------------------------------------------------------------------
# the learned model


def test_compiled_trees_match_scikit_learn_with_missing_values() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 4))
    x[rng.random(3000) < 0.3, 1] = np.nan  # missing values in training and prediction
    x[:, 3] = np.where(rng.random(3000) < 0.5, np.nan, 1.0)  # a split on missing vs present
    y = 3 * x[:, 0] + np.nan_to_num(x[:, 1], nan=5.0) + np.where(np.isnan(x[:, 3]), 4.0, 0.0)
    y += rng.standard_t(2, size=3000)
    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP spin-waits crawl on busy cores
        models = [
            HistGradientBoostingRegressor(
                loss="quantile", quantile=q, max_iter=50, max_depth=5, early_stopping=False, random_state=0
            ).fit(x, y)
            for q in QUANTILES
        ]
    probe = rng.normal(size=(500, 4))
    probe[::3, 1] = np.nan
    probe[::2, 3] = np.nan
    probe[::7, 0] = np.nan  # never missing in training
    expected = np.column_stack([m.predict(probe) for m in models])
    np.testing.assert_allclose(CompiledForest(models).predict(probe), expected, rtol=0, atol=1e-9)
    assert isinstance(fast_forest(models, probe), CompiledForest)

    class Opaque:
        """A fitted model whose private tree layout is unknown (another scikit-learn version)."""

        def __init__(self, model: Any) -> None:
            self.predict = model.predict

    fallback = fast_forest([Opaque(m) for m in models], probe)
    assert isinstance(fallback, ModelStack)
    np.testing.assert_allclose(fallback.predict(probe), expected, rtol=0, atol=0)


def test_gbm_quantiles_are_ordered_and_beat_persistence_on_the_next_week(real_data: MarketData) -> None:
    train_end = pd.Timestamp("2022-06-01T05:00Z")
    rows = evaluate_forecasts(
        RT,
        DA,
        2022,
        ["persistence", "gbm"],
        issue_every_hours=3,
        test_start_utc=train_end,
        test_end_utc=pd.Timestamp("2022-06-08T05:00Z"),
        train_start_utc=pd.Timestamp("2022-05-01T05:00Z"),
    )
    overall = {r.forecaster: r for r in rows if r.lead_bucket == "all"}
    assert overall["gbm"].pinball_usd_per_mwh < 0.9 * overall["persistence"].pinball_usd_per_mwh
    assert overall["gbm"].n == overall["persistence"].n > 1000


def test_gbm_prediction_shape_and_order(real_data: MarketData, fitted_gbm: GbmQuantileForecaster) -> None:
    issued = pd.Timestamp("2022-06-03T17:00Z")
    clock = real_data.clock()
    q = fitted_gbm.predict(clock.known_at(issued), _targets(issued))
    assert q.shape == (48, len(QUANTILES))
    assert np.all(np.isfinite(q))
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.any(np.diff(q, axis=1) > 0)  # real bands, not a point


# --------------------------------------------------------------------------------------------------
# no look-ahead


def _perturbed_after(data: MarketData, issued: pd.Timestamp) -> MarketData:
    """The same data with every value not yet known at ``issued`` changed."""
    rt, da, load = data.rt_price_usd_per_mwh.copy(), data.da_price_usd_per_mwh.copy(), data.load_mw.copy()
    rt[rt.index + data.rt_interval > issued] += 500.0
    da[da.index >= day_ahead_published_until(issued, ERCOT)] *= 3.0
    load[load.index + pd.Timedelta(hours=1) > issued] += 20_000.0
    return MarketData(data.timezone, rt, data.rt_interval, da, load, market=ERCOT)


@pytest.mark.parametrize("name", ["persistence", "day-ahead", "gbm"])
def test_predictions_do_not_see_the_future(
    name: str, real_data: MarketData, fitted_gbm: GbmQuantileForecaster
) -> None:
    model = fitted_gbm if name == "gbm" else make_forecaster(name)
    if name != "gbm":
        model.fit(_until(real_data, pd.Timestamp("2022-06-01T05:00Z")))
    issued = pd.Timestamp("2022-06-03T17:00Z")  # 12:00 Central: 4 June not yet published
    later = issued + pd.Timedelta(hours=6)
    other = _perturbed_after(real_data, issued)
    clock, other_clock = real_data.clock(), other.clock()
    np.testing.assert_array_equal(
        model.predict(clock.known_at(issued), _targets(issued)),
        model.predict(other_clock.known_at(issued), _targets(issued)),
    )
    # the perturbation is real: once it is known, forecasts move
    assert not np.array_equal(
        model.predict(clock.known_at(later), _targets(later)),
        model.predict(other_clock.known_at(later), _targets(later)),
    )


# --------------------------------------------------------------------------------------------------
# evaluation and its command


def _short_evaluation(**overrides: object) -> functools.partial[list[object]]:
    return functools.partial(
        evaluate_forecasts,
        test_start_utc=pd.Timestamp("2022-06-01T05:00Z"),
        test_end_utc=pd.Timestamp("2022-06-03T05:00Z"),
        train_start_utc=pd.Timestamp("2022-05-20T05:00Z"),
        **overrides,
    )


def test_evaluation_scores_every_lead_bucket() -> None:
    rows = _short_evaluation()(
        RT, DA, 2022, ["persistence", "day-ahead"], horizon_hours=24, issue_every_hours=1
    )
    by = {(r.forecaster, r.lead_bucket): r for r in rows}
    assert {b for _, b in by} == {"1 h", "2–6 h", "7–24 h", "all"}
    for name in ("persistence", "day-ahead"):
        total = by[name, "all"]
        assert total.train_years == "2022"
        assert np.isfinite(total.mae_usd_per_mwh) and total.mae_usd_per_mwh > 0
        assert total.pinball_usd_per_mwh > 0
        assert 0 <= total.coverage_10_90 <= 1
        # 48 issues; the 1 h lead of each is scored; targets after the period are not
        assert by[name, "1 h"].n == 48
        assert total.n == sum(by[name, b].n for b in ("1 h", "2–6 h", "7–24 h"))
        assert total.n == sum(min(24, 48 - i) for i in range(48))
    # persistence is exact-ish at 1 h, day-ahead is not: the scores tell them apart
    assert by["persistence", "1 h"].mae_usd_per_mwh != by["day-ahead", "1 h"].mae_usd_per_mwh


def test_evaluation_rejects_bad_options() -> None:
    with pytest.raises(ConfigError, match=r"--horizon-hours = 0 h"):
        evaluate_forecasts(RT, DA, 2022, ["persistence"], horizon_hours=0)
    with pytest.raises(ConfigError, match="each forecaster once"):
        evaluate_forecasts(RT, DA, 2022, ["gbm", "gbm"])
    with pytest.raises(DataError, match="no real-time prices in 2019"):
        evaluate_forecasts(RT, DA, 2020, ["persistence"])


def test_cli_evaluate_prints_a_table_and_writes_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli_forecast, "evaluate_forecasts", _short_evaluation())
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        cli_forecast.forecast_app,
        [
            "evaluate",
            "--test-year",
            "2022",
            "--forecast",
            "persistence",
            "--forecast",
            "day-ahead",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "persistence" in result.output and "25–48 h" in result.output
    rows = json.loads(out.read_text())
    assert {r["forecaster"] for r in rows} == {"persistence", "day-ahead"}
    assert all(np.isfinite(r["pinball_usd_per_mwh"]) for r in rows)


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--forecast", "arima"], 2, "--forecast = 'arima'"),
        (["--horizon-hours", "0"], 2, "--horizon-hours = 0 h"),
        (["--test-year", "2020"], 1, "no real-time prices in 2019"),
    ],
)
def test_cli_errors_are_one_line(args: list[str], code: int, fragment: str) -> None:
    result = CliRunner().invoke(cli_forecast.forecast_app, ["evaluate", *args])
    assert result.exit_code == code
    text = result.output.strip()
    assert text.startswith("error:") and fragment in text and "Traceback" not in text
