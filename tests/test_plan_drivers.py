"""Driver paths of a plan (issue 13 item 2): the fit on the bundled history, the halving schedule,
Monte Carlo and deterministic paths, market-year resampling and the settings' errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powerfirst.bitcoin.hashprice import _bundled_inputs
from powerfirst.errors import ConfigError
from powerfirst.planning.drivers import (
    DriverModel,
    DriverSettings,
    deterministic,
    driver_notes,
    fit_driver_model,
    halving_schedule,
    parse_driver_settings,
    simulate,
    subsidy_btc_per_block_monthly,
)

SCHEDULE = Path(__file__).resolve().parents[1] / "src/powerfirst/data/bitcoin/btc_block_subsidy_schedule.csv"


@pytest.fixture(scope="module")
def model() -> DriverModel:
    return fit_driver_model()


def test_same_seed_same_arrays_other_seed_different(model: DriverModel) -> None:
    settings = DriverSettings(
        start_btc_usd=90_000.0,
        start_hashrate_ths=9e8,
        fees_btc_per_block=0.05,
        fees_btc_price_elasticity=-0.5,
    )
    a = simulate(model, "2026-01", 36, 200, seed=11, settings=settings)
    b = simulate(model, "2026-01", 36, 200, seed=11, settings=settings)
    c = simulate(model, "2026-01", 36, 200, seed=12, settings=settings)
    for name in ("btc_usd", "hashrate_ths", "fees_btc_per_block", "gpu_usd_per_gpu_hour", "market_year"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert not np.array_equal(getattr(a, name)[:, 1:], getattr(c, name)[:, 1:]), name
    assert a.seed == 11 and c.seed == 12


def test_shapes_and_starting_levels(model: DriverModel) -> None:
    paths = simulate(model, "2026-03", 120, 50, seed=1, settings=DriverSettings(start_btc_usd=80_000.0))
    for name in ("btc_usd", "hashrate_ths", "fees_btc_per_block", "gpu_usd_per_gpu_hour", "market_year"):
        assert getattr(paths, name).shape == (50, 120), name
    assert paths.subsidy_btc_per_block.shape == (120,)
    assert paths.market_year.dtype == np.int64
    assert paths.hashprice_usd_per_th_day.shape == (50, 120)
    assert np.all(paths.btc_usd[:, 0] == 80_000.0)
    # hashrate not given and the plan starts after the data: the last bundled month, with a note
    assert np.all(paths.hashrate_ths[:, 0] == model.history.hashrate_ths[-1])
    notes = driver_notes(model, DriverSettings(start_btc_usd=80_000.0), "2026-03")
    assert any("last month of history (2025-03)" in n and "hashrate" in n for n in notes)
    assert not any("BTC price [USD/BTC]" in n and "last month" in n for n in notes)
    assert np.all(paths.gpu_usd_per_gpu_hour[:, 0] == 2.35)
    one = simulate(model, "2026-03", 1, 4, seed=np.int64(2))
    assert one.btc_usd.shape == (4, 1) and one.seed == 2
    # a plan inside the history starts from that month's observation
    inside = deterministic(model, "2022-06", 3)
    row = model.history.months.index("2022-06")
    assert inside.btc_usd[0, 0] == model.history.btc_usd[row]
    assert inside.hashrate_ths[0, 0] == model.history.hashrate_ths[row]


def test_halving_schedule_matches_the_bundled_file_and_projects_2028() -> None:
    table = pd.read_csv(SCHEDULE)
    era4 = table[table["era"] == 4].iloc[0]
    assert (era4["first_height"], era4["subsidy_btc"]) == (840_000, 3.125)
    schedule = halving_schedule()
    assert schedule.loc[4, "start_utc"] == pd.Timestamp(era4["era_start_block_time_utc"])
    assert not schedule.loc[4, "projected"] and schedule.loc[5, "projected"]
    # era 5 at 210,000 blocks × 600 s after block 840,000's time
    expected = pd.Timestamp("2024-04-20T00:09:27Z") + pd.Timedelta(seconds=210_000 * 600)
    assert schedule.loc[5, "start_utc"] == expected
    assert pd.Timestamp("2028-03-01", tz="UTC") < expected < pd.Timestamp("2028-06-01", tz="UTC")
    assert schedule.loc[5, "subsidy_btc"] == 1.5625 == table[table["era"] == 5]["subsidy_btc"].iloc[0]
    subsidy = subsidy_btc_per_block_monthly("2024-03", 3)
    assert subsidy[0] == 6.25 and subsidy[2] == 3.125
    # April 2024: 19 days 00:09:27 at 6.25, the rest at 3.125
    share_old = (19 * 86_400 + 9 * 60 + 27) / (30 * 86_400)
    assert subsidy[1] == pytest.approx(6.25 * share_old + 3.125 * (1 - share_old), rel=1e-12)
    later = subsidy_btc_per_block_monthly("2028-03", 3)
    assert later[0] == 3.125 and later[2] == 1.5625 and 1.5625 < later[1] < 3.125


def test_fitted_parameters_are_sensible(model: DriverModel) -> None:
    assert model.months_fitted >= 50 and model.first_month >= "2020-05" and model.last_month == "2025-03"
    assert 0.0 < model.btc_drift_log_per_month < 0.1
    assert 0.08 < model.btc_volatility_log_per_month < 0.3
    assert 0.02 < model.hashrate_volatility_log_per_month < model.btc_volatility_log_per_month
    assert -1.0 <= model.shock_correlation <= 1.0
    # hashrate follows the price: positive response after the lag, the best lag within 1..6
    assert model.hashrate_response_to_btc > 0.0
    assert model.r_squared_by_lag[model.hashrate_lag_months - 1] == max(model.r_squared_by_lag)
    lag = model.hashrate_lag_months
    r = np.diff(np.log(model.history.btc_usd))
    g = np.diff(np.log(model.history.hashrate_ths))
    assert np.corrcoef(r[:-lag], g[lag:])[0, 1] > 0.2
    assert model.fees is None and any("FEES ARE ASSUMED, NOT FITTED" in n for n in model.notes)
    text = "\n".join(model.describe())
    assert f"r_(t−{lag})" in text and "σ_p" in text


def test_simulated_returns_match_the_fit(model: DriverModel) -> None:
    paths = simulate(model, "2026-01", 120, 10_000, seed=3)
    r = np.diff(np.log(paths.btc_usd), axis=1)
    n = r.size
    sigma = model.btc_volatility_log_per_month
    assert abs(r.std() - sigma) < 4 * sigma / np.sqrt(2 * n)
    assert abs(r.mean() - model.btc_drift_log_per_month) < 4 * sigma / np.sqrt(n)
    g = np.diff(np.log(paths.hashrate_ths), axis=1)
    lag = model.hashrate_lag_months
    slope = np.polyfit(r[:, :-lag].ravel(), g[:, lag:].ravel(), 1)[0]
    assert slope == pytest.approx(model.hashrate_response_to_btc, abs=0.02)
    assert g[:, lag:].std() == pytest.approx(
        np.hypot(model.hashrate_response_to_btc * sigma, model.hashrate_volatility_log_per_month), rel=0.01
    )


def test_deterministic_base_equals_the_given_assumptions(model: DriverModel) -> None:
    settings = DriverSettings(
        start_btc_usd=100_000.0,
        start_hashrate_ths=1.0e9,
        btc_growth_per_year=0.10,
        hashrate_growth_per_year=0.25,
        fees_btc_per_block=0.04,
        fees_btc_price_elasticity=-1.0,
        gpu_start_usd_per_gpu_hour=2.0,
        gpu_floor_usd_per_gpu_hour=1.2,
        gpu_half_life_months=10.0,
    )
    paths = deterministic(model, "2026-01", 60, settings, scenarios=("low", "base", "high"))
    t = np.arange(60)
    base = 1
    np.testing.assert_allclose(paths.btc_usd[base], 100_000.0 * 1.10 ** (t / 12), rtol=1e-12)
    np.testing.assert_allclose(paths.hashrate_ths[base], 1.0e9 * 1.25 ** (t / 12), rtol=1e-12)
    np.testing.assert_allclose(paths.gpu_usd_per_gpu_hour[base], 1.2 + 0.8 * 0.5 ** (t / 10), rtol=1e-12)
    # elasticity −1: fees keep their USD value per block
    np.testing.assert_allclose(paths.fees_btc_per_block * paths.btc_usd, 0.04 * 100_000.0, rtol=1e-12)
    assert np.all(paths.btc_usd[0, 1:] < paths.btc_usd[1, 1:]) and np.all(
        paths.btc_usd[2, 1:] > paths.btc_usd[1, 1:]
    )
    # low/high are the price's P10/P90 under the model: ln P_t = ln P_0 + μ t ∓ 1.2816 σ √t
    sigma = model.btc_volatility_log_per_month
    np.testing.assert_allclose(
        np.log(paths.btc_usd[2] / paths.btc_usd[1]), 1.2815515655446004 * sigma * np.sqrt(t), atol=1e-12
    )
    assert paths.seed is None and paths.num_paths == 3


def test_market_years_resampled_from_the_given_ones_constant_within_a_calendar_year(
    model: DriverModel,
) -> None:
    settings = DriverSettings(market_years=(2021, 2023), deterministic_market_year=2023)
    paths = simulate(model, "2026-07", 30, 2_000, seed=5, settings=settings)
    assert paths.market_years == (2021, 2023)
    assert set(np.unique(paths.market_year)) == {0, 1}
    # calendar years of the plan: Jul–Dec 2026, 2027, Jan–Dec 2028
    for first, last in ((0, 6), (6, 18), (18, 30)):
        block = paths.market_year[:, first:last]
        assert np.all(block == block[:, :1])
    assert 0.45 < paths.market_year[:, 0].mean() < 0.55
    assert np.any(paths.market_year[:, 0] != paths.market_year[:, 6])
    fixed = deterministic(model, "2026-07", 30, settings)
    assert np.all(fixed.market_year == 1)
    cycled = deterministic(model, "2026-07", 30, DriverSettings(market_years=(2021, 2022, 2023)))
    assert list(cycled.market_year[0, [0, 5, 6, 17, 18, 29]]) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("data", "parts"),
    [
        ({"gpu_half_life_months": -3}, ("gpu_half_life_months", "-3", "months", "greater than 0")),
        (
            {"btc_growth_per_year": 20},
            ("btc_growth_per_year", "20", "fraction per year", "less than or equal to 10"),
        ),
        (
            {"fees_btc_per_block": 150.0},
            ("fees_btc_per_block", "150", "BTC/block", "less than or equal to 100"),
        ),
        ({"market_years": [2021, 2021]}, ("market_years", "[2021, 2021]", "year", "repeats")),
        ({"market_years": [2021, 3021]}, ("market_years.1", "3021", "year", "less than or equal to 2100")),
        ({"start_btc_usd": "90000"}, ("start_btc_usd", "'90000'", "USD/BTC", "valid number")),
        ({"gpu_floor_usd_per_gpu_hour": 3.0}, ("gpu_floor_usd_per_gpu_hour", "3", "USD/GPU-hour", "at most")),
        ({"btc_price_usd": 1.0}, ("btc_price_usd", "unknown field", "start_btc_usd")),
    ],
)
def test_bad_settings_name_field_value_unit_limit(data: dict[str, object], parts: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_driver_settings(data, source="plan.yaml", prefix="drivers.")
    message = str(caught.value)
    assert message.startswith("plan.yaml: invalid driver settings")
    for part in parts:
        assert part in message


def test_bad_call_arguments(model: DriverModel) -> None:
    with pytest.raises(ConfigError, match=r"start_month = '2026-13'.*YYYY-MM"):
        simulate(model, "2026-13", 12, 10, seed=1)
    with pytest.raises(ConfigError, match=r"num_paths = 0 paths.*\[1, 1,000,000\]"):
        simulate(model, "2026-01", 12, 0, seed=1)
    with pytest.raises(ConfigError, match=r"scenarios = \['median'\]"):
        deterministic(model, "2026-01", 12, scenarios=("median",))
    with pytest.raises(ConfigError, match="before the driver history"):
        deterministic(model, "2019-01", 12)


def test_fees_fitted_jointly_from_a_network_csv(tmp_path: Path) -> None:
    """A network CSV in the format `powerfirst data fetch bitcoin` writes: the bundled days' real
    price and difficulty, plus the rest of April 2025 (the last bundled day carried forward, so the
    file holds a whole month the bundled data lacks), with fees per
    block following a known monthly AR(1) (constant within a month): the fit recovers it."""
    bundled = _bundled_inputs().dropna()
    days = pd.date_range("2020-05-01", "2025-04-30", freq="D", tz="UTC")
    frame = bundled.reindex(days).ffill()
    codes, uniques = pd.factorize(pd.Series(days.strftime("%Y-%m")))
    rng = np.random.default_rng(0)
    phi, mean_log, sigma = 0.7, np.log(0.08), 0.25
    x = np.zeros(len(uniques))
    for k in range(1, len(x)):
        x[k] = phi * x[k - 1] + sigma * rng.standard_normal()
    fees = np.exp(mean_log + x)
    csv = tmp_path / "network.csv"
    pd.DataFrame(
        {
            "date_utc": days.strftime("%Y-%m-%d"),
            "btc_usd": frame["close_usd"].to_numpy(),
            "difficulty": frame["difficulty"].to_numpy(),
            "tx_fees_btc_per_block": fees[codes],
        }
    ).to_csv(csv, index=False)
    model = fit_driver_model(csv)
    assert model.history.months[-1] == "2025-04" and model.fees is not None
    assert model.fees.persistence == pytest.approx(phi, abs=0.25)
    assert model.fees.volatility_log_per_month == pytest.approx(sigma, rel=0.3)
    assert not any("ASSUMED" in n for n in model.notes)
    assert "fees:" in "\n".join(model.describe())
    paths = simulate(model, "2025-04", 24, 500, seed=2)
    assert np.all(paths.fees_btc_per_block[:, 0] == pytest.approx(fees[-1]))
    assert np.all(paths.btc_usd[:, 0] == pytest.approx(frame["close_usd"]["2025-04"].mean()))
    spread = np.log(paths.fees_btc_per_block[:, -1]).std()
    assert 0.5 * sigma < spread < 3 * sigma
    with pytest.raises(ConfigError, match="must be left out"):
        parse_driver_settings({"fees_csv_path": str(csv), "fees_btc_per_block": 0.1})
    with pytest.raises(ConfigError, match="must be left out"):
        simulate(model, "2025-04", 3, 2, seed=1, settings=DriverSettings(fees_btc_per_block=0.1))
