"""Forecasters on a user's files say what they did: the zone and day-ahead prices of ``forecast
evaluate`` and ``fourcp evaluate``, forecasts made without a current day-ahead price, the hours a
forecaster was really fitted on, an unfitted forecaster, rolling's fallbacks and why the 4CP
predictor is off.

As in ``test_user_inputs.py``, every "user file" is **bundled ERCOT data relabelled** (moved 104
weeks, same weekdays, under other file and column names) so that it plays years the bundled data
does not cover; holes are cut into it. Windows are a few days, to keep the tests fast.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.cli.app import app
from powerfirst.errors import DataError
from powerfirst.forecast.evaluate import evaluate_forecasts
from powerfirst.forecast.features import forecast_features
from powerfirst.forecast.gbm import GbmQuantileForecaster
from powerfirst.forecast.known import KnownArrays, hour_starts_ns
from powerfirst.forecast.simple import DayAheadForecaster, PersistenceForecaster
from powerfirst.fourcp.evaluate import evaluate_fourcp
from powerfirst.market.information import bundled_system_load
from powerfirst.market.loading import load_market_data
from powerfirst.market.markets import find_market
from powerfirst.market.sources import parse_source
from powerfirst.policies import make_policy
from powerfirst.policies.registry import load_site
from powerfirst.policies.rolling import UNFITTED_NOTE, RollingPolicy

ROOT = Path(__file__).resolve().parents[1]
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
SHIFT = pd.Timedelta(weeks=104)
"""2021/2022 → 2023/2024 with the same weekdays (728 days)."""
ERCOT = find_market("ercot")
CHICAGO = "America/Chicago"


def _write(path: Path, index: pd.DatetimeIndex, columns: dict[str, Any], *, zone: str = CHICAGO) -> Path:
    utc = pd.DatetimeIndex(index)
    frame = {
        "interval_start_utc": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interval_start_local": utc.tz_convert(zone).strftime("%Y-%m-%dT%H:%M:%S%z"),
        **columns,
    }
    pd.DataFrame(frame).to_csv(path, index=False)
    return path


def _relabelled(source: str, start: str, end: str) -> pd.Series:
    """A bundled series of [start, end) (UTC) moved :data:`SHIFT` later."""
    prices = parse_source(source).load(pd.Timestamp(start), pd.Timestamp(end)).prices
    prices.index = prices.index + SHIFT
    return prices


# --- forecast evaluate on a user's CSV (findings 2 and 3) ------------------------------------------


@pytest.fixture(scope="module")
def new_year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ERCOT HB_WEST real-time and day-ahead prices of 2021-12-06 … 2022-01-10, relabelled to
    2023-12-04 … 2024-01-08 (Central-time interval_start_local), and the same real-time prices cut
    at 2024-01-01T03:00Z: in the UTC year 2024, but before Central 2024 starts (06:00Z)."""
    folder = tmp_path_factory.mktemp("newyear")
    rt = _relabelled("ercot-rt:HB_WEST", "2021-12-06T06:00Z", "2022-01-10T06:00Z")
    da = _relabelled("ercot-da:HB_WEST", "2021-12-06T06:00Z", "2022-01-10T06:00Z")
    cut = rt[rt.index < pd.Timestamp("2024-01-01T03:00Z")]
    return {
        "rt": _write(folder / "my_rt.csv", rt.index, {"west": rt.to_numpy()}),
        "da": _write(folder / "my_da.csv", da.index, {"west_da": da.to_numpy()}),
        "cut": _write(folder / "cut_rt.csv", cut.index, {"west": cut.to_numpy()}),
    }


def test_forecast_evaluate_runs_on_a_users_csv_without_bundled_day_ahead(new_year: dict[str, Path]) -> None:
    """``forecast evaluate --prices my.csv:COL`` used to pair the CSV with the bundled ERCOT
    HB_WEST day-ahead prices (the default ``--day-ahead``) and then fail for want of a market it
    had no option for. Now a CSV gets no day-ahead prices unless given, the zone of the test year
    is stated, and ``--day-ahead`` asks for ``--market``, which the command now has."""
    common = ["--test-year", "2024", "--forecast", "persistence", "--issue-every-hours", "24"]
    common += ["--horizon-hours", "24"]
    result = CliRunner().invoke(app, ["forecast", "evaluate", "--prices", f"{new_year['rt']}:west", *common])
    assert result.exit_code == 0, result.output
    assert "dates read in America/Chicago (from " in result.output
    assert "my_rt.csv's interval_start_local)" in result.output
    assert "day-ahead prices: none" in result.output

    with_da = ["forecast", "evaluate", "--prices", f"{new_year['rt']}:west"]
    with_da += ["--day-ahead", f"{new_year['da']}:west_da"]
    unknown = CliRunner().invoke(app, [*with_da, *common])
    assert unknown.exit_code != 0
    assert "the market of" in unknown.output and "give --market" in unknown.output
    assert "--day-ahead none" in unknown.output
    named = CliRunner().invoke(app, [*with_da, "--market", "ercot", *common])
    assert named.exit_code == 0, named.output
    assert "the zone of ERCOT" in named.output and "my_da.csv:west_da" in named.output


def test_forecast_evaluate_reads_the_test_year_in_the_csvs_zone(new_year: dict[str, Path]) -> None:
    """``--test-year 2024`` is the market-local year: with Central-time interval_start_local it
    starts at 2024-01-01T06:00Z. It used to be read in UTC: the hours 00:00–03:00Z of the cut file
    were scored as 2024 (they are 2023 in Central time)."""
    with pytest.raises(
        DataError, match=r"no realised real-time price in the test period 2024-01-01T06:00:00\+00:00"
    ):
        evaluate_forecasts(
            f"{new_year['cut']}:west", None, 2024, ["persistence"], horizon_hours=24, issue_every_hours=24
        )


# --- options that fit the forecaster (finding 4) ---------------------------------------------------


def test_unfittable_persistence_is_not_told_to_use_persistence_or_load() -> None:
    """Persistence learns from real-time prices alone: its error offers earlier prices only."""
    data = load_market_data(
        "ercot-rt:HB_WEST", None, pd.Timestamp("2023-03-01T06:00Z"), pd.Timestamp("2023-03-02T18:00Z")
    )
    with pytest.raises(DataError, match="training data holds 36 hours") as caught:
        PersistenceForecaster().fit(data)
    message = str(caught.value)
    assert "give prices that start earlier" in message
    assert "--load" not in message and "use --forecast persistence" not in message
    with pytest.raises(DataError, match="training data holds 36 hours") as day_ahead:
        DayAheadForecaster().fit(
            load_market_data(
                "ercot-rt:HB_WEST",
                "ercot-da:HB_WEST",
                pd.Timestamp("2023-03-01T06:00Z"),
                pd.Timestamp("2023-03-02T18:00Z"),
            )
        )
    assert "use --forecast persistence" in str(day_ahead.value) and "--load" not in str(day_ahead.value)


# --- fourcp evaluate with a day-ahead CSV (finding 5) -----------------------------------------------


@pytest.fixture(scope="module")
def summers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Load, 4CP peaks and HB_HUBAVG day-ahead prices of the ERCOT summers 2021 and 2022,
    relabelled as 2023 and 2024; the day-ahead prices also with a Los Angeles interval_start_local."""
    folder = tmp_path_factory.mktemp("summers")
    loads, prices = [], []
    for year in (2021, 2022):
        start, end = pd.Timestamp(f"{year}-05-25T05:00Z"), pd.Timestamp(f"{year}-10-01T05:00Z")
        loads.append(bundled_system_load(start, end))
        prices.append(parse_source("ercot-da:HB_HUBAVG").load(start, end).prices)
    load, da = pd.concat(loads), pd.concat(prices)
    load.index, da.index = load.index + SHIFT, da.index + SHIFT
    local = load.index.tz_convert(CHICAGO)
    summer = load[(local.month >= 6) & (local.month <= 9)]
    months = summer.index.tz_convert(CHICAGO)
    starts = pd.DatetimeIndex(summer.groupby([months.year, months.month]).idxmax())
    peaks = folder / "peaks.csv"
    pd.DataFrame({"peak_hour_start_utc": starts.strftime("%Y-%m-%dT%H:%M:%SZ")}).to_csv(peaks, index=False)
    return {
        "load": _write(folder / "grid.csv", load.index, {"mw": load.to_numpy()}),
        "peaks": peaks,
        "da": _write(folder / "hub_da.csv", da.index, {"hub": da.to_numpy()}),
        "da_la": _write(
            folder / "hub_da_la.csv", da.index, {"hub": da.to_numpy()}, zone="America/Los_Angeles"
        ),
    }


def test_fourcp_evaluate_takes_a_day_ahead_csv_as_ercots_and_says_so(summers: dict[str, Path]) -> None:
    """``fourcp evaluate --day-ahead FILE`` always failed: the CSV's market was unknown and the
    command has no ``--market``. 4CP is ERCOT's program: the files are taken to be ERCOT's, the
    console says so, and a day-ahead file in another zone is an error naming both."""
    args = ["fourcp", "evaluate", "--load", f"{summers['load']}:mw", "--fourcp-peaks", str(summers["peaks"])]
    result = CliRunner().invoke(app, [*args, "--day-ahead", f"{summers['da']}:hub", "--year", "2024"])
    assert result.exit_code == 0, result.output
    assert "market: ERCOT (4CP is ERCOT's program)" in result.output
    assert "2024" in result.output and "predictor" in result.output
    with pytest.raises(
        DataError, match=r"hub_da_la.csv's interval_start_local offsets are those of America/Los_Angeles"
    ):
        evaluate_fourcp(
            55_000.0,
            60.0,
            load=f"{summers['load']}:mw",
            fourcp_peaks=str(summers["peaks"]),
            day_ahead=f"{summers['da_la']}:hub",
        )


# --- what rolling's forecaster knew (findings 8, 9, 20, 22) ----------------------------------------


def test_day_ahead_forecasts_through_a_day_ahead_hole_are_counted() -> None:
    """Inside a hole of the day-ahead data the day-ahead forecaster forecasts from an older day, or
    from real-time prices only; each such forecast is counted (it was silent)."""
    start, end = pd.Timestamp("2023-07-01T05:00Z"), pd.Timestamp("2023-07-12T05:00Z")
    data = load_market_data("ercot-rt:HB_WEST", "ercot-da:HB_WEST", start, end)
    da = data.da_price_usd_per_mwh
    holed = da[
        (da.index < pd.Timestamp("2023-07-06T05:00Z")) | (da.index >= pd.Timestamp("2023-07-11T05:00Z"))
    ]
    model = DayAheadForecaster()
    model.fit(data)
    clock = replace(data, da_price_usd_per_mwh=holed).clock()
    current = pd.Timestamp("2023-07-05T12:00Z")  # today's day-ahead prices are published
    stale = pd.Timestamp("2023-07-06T12:00Z")  # the hole: 2023-07-05's prices are the latest
    missing = pd.Timestamp("2023-07-10T12:00Z")  # nothing published in the last 72 h
    for t in (current, stale, missing):
        model.predict(clock.known_at(t), pd.date_range(t.floor("h"), periods=6, freq="h"))
    gaps = model.day_ahead_gaps
    assert gaps is not None
    assert (gaps.issues, gaps.stale, gaps.missing) == (3, 1, 1)
    assert gaps.first_utc == stale.isoformat()
    assert gaps.oldest_hours == pytest.approx(7.0)  # the last published hour ended at 05:00Z
    note = gaps.describe()
    assert note is not None and note.startswith("2 of 3 forecasts issued without a day-ahead price")


def test_gbm_anchors_on_day_ahead_right_after_a_real_time_hole() -> None:
    """With no real-time price in the last 72 h but the day-ahead price of the hour published, the
    1-hour lead is anchored on the day-ahead price (it was NaN, and gbm fell back claiming that no
    day-ahead price was known)."""
    start, end = pd.Timestamp("2023-07-01T05:00Z"), pd.Timestamp("2023-07-12T05:00Z")
    data = load_market_data("ercot-rt:HB_WEST", "ercot-da:HB_WEST", start, end)
    rt = data.rt_price_usd_per_mwh
    holed = replace(data, rt_price_usd_per_mwh=rt[rt.index >= pd.Timestamp("2023-07-11T05:00Z")])
    issued = pd.Timestamp("2023-07-11T05:00Z")
    known = KnownArrays.of(holed.clock().known_at(issued))
    assert np.isnan(known.last_rt_usd_per_mwh) and known.da_ns.size
    targets = hour_starts_ns(pd.date_range(issued, periods=3, freq="h"))
    _, anchor = forecast_features(known, targets)
    da = data.da_price_usd_per_mwh
    assert anchor.tolist() == pytest.approx(da.reindex(pd.date_range(issued, periods=3, freq="h")).tolist())
    model = GbmQuantileForecaster(max_iter=5)
    model.fit(data)
    quantiles = model.predict(holed.clock().known_at(issued), pd.date_range(issued, periods=3, freq="h"))
    assert np.isfinite(quantiles).all()


def _rolling(site_path: Path, forecast: str) -> RollingPolicy:
    site = load_site(site_path)
    settings = site.strategies.rolling.model_copy(update={"forecast": forecast})
    site = site.model_copy(update={"strategies": site.strategies.model_copy(update={"rolling": settings})})
    policy = make_policy("rolling", site, CHICAGO)
    assert isinstance(policy, RollingPolicy)
    return policy


def test_rolling_states_the_hours_fitted_on_and_why_the_4cp_predictor_is_off() -> None:
    """The training span came without the hours in it that had no price (a 6-day history can hide
    in a 49-day span); the 4CP note blamed load when only the finished peak month was missing."""
    data = load_market_data(
        "ercot-rt:HB_WEST", None, pd.Timestamp("2023-03-01T06:00Z"), pd.Timestamp("2023-04-01T05:00Z")
    )
    rt = data.rt_price_usd_per_mwh
    hole = (pd.Timestamp("2023-03-06T06:00Z"), pd.Timestamp("2023-03-26T05:00Z"))
    holed = replace(data, rt_price_usd_per_mwh=rt[(rt.index < hole[0]) | (rt.index >= hole[1])])
    policy = _rolling(HYBRID, "persistence")
    assert policy.fourcp is not None
    policy.learn(holed, pd.DataFrame(columns=["year", "month", "peak_start_utc"]))  # no peak month ended
    details = policy.details()
    hours = details["forecast_training_hours"]
    assert hours["hours_in_span"] == 31 * 24 - 1  # 2023-03-01T06Z … 2023-04-01T05Z (UTC hours)
    assert hours["hours_skipped"] == (hole[1] - hole[0]) / pd.Timedelta(hours=1)
    assert hours["longest_hole"].startswith(
        "no price from 2023-03-06T06:00:00+00:00 to 2023-03-26T04:00:00+00:00"
    )
    assert details["forecast_fitted"] is True and details["forecast_note"] is None
    assert details["fourcp_note"] == "no 4CP peak month (June–September) ended before the window"

    no_load = _rolling(HYBRID, "persistence")
    peaks = pd.DataFrame({"year": [2022], "month": [9], "peak_start_utc": ["2022-09-20T21:00:00Z"]})
    no_load.learn(replace(holed, load_mw=holed.load_mw.iloc[:0]), peaks)
    assert no_load.details()["fourcp_note"].startswith("no system load before the window")


# --- the console of a backtest (findings 17 and 18; 8 and 9 end to end) ----------------------------


def _mining_site(folder: Path) -> Path:
    cfg = yaml.safe_load(MINING.read_text(encoding="utf-8"))
    cfg["market"] = "ercot"
    path = folder / "mining.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_backtest_console_states_an_unfitted_forecaster_and_rolling_fallbacks(tmp_path: Path) -> None:
    """Prices that start with the window: persistence has no history to fit on (no error bands:
    the risk quantile is the median) and the first interval has no settled price (a fallback).
    Both were in summary.json only, or not at all; the console said 'fitted'."""
    rt = _relabelled("ercot-rt:HB_WEST", "2022-07-13T05:00Z", "2022-07-15T05:00Z")
    prices = _write(tmp_path / "rt.csv", rt.index, {"west": rt.to_numpy()})
    out = tmp_path / "out"
    args = ["backtest", str(_mining_site(tmp_path)), "--start", "2024-07-10", "--end", "2024-07-10"]
    args += [
        "--out",
        str(out),
        "--strategy",
        "rolling",
        "--forecast",
        "persistence",
        "--prices",
        f"{prices}:west",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"rolling: forecaster persistence {UNFITTED_NOTE}" in text
    assert "fitted with" not in text
    assert "rolling: 1 fallback(s) to the strike-price rule" in text
    assert "persistence: no settled real-time price known at 2024-07-10 05:00:00+00:00" in text
    policy = json.loads((out / "rolling" / "summary.json").read_text())["policy"]
    assert policy["forecast_fitted"] is False and policy["forecast_note"] == UNFITTED_NOTE
    assert policy["fallbacks"] == 1


def test_backtest_console_states_day_ahead_holes_and_skipped_training_hours(tmp_path: Path) -> None:
    """Day-ahead prices with a hole over the window, real-time history with a hole: the console
    counts the forecasts made without a day-ahead price and the training hours skipped."""
    rt = _relabelled("ercot-rt:HB_WEST", "2022-06-20T05:00Z", "2022-07-14T05:00Z")
    rt = rt[(rt.index < pd.Timestamp("2024-06-22T05:00Z")) | (rt.index >= pd.Timestamp("2024-07-02T05:00Z"))]
    da = _relabelled("ercot-da:HB_WEST", "2022-06-20T05:00Z", "2022-07-14T05:00Z")
    da = da[da.index < pd.Timestamp("2024-07-08T05:00Z")]
    prices = _write(tmp_path / "rt.csv", rt.index, {"west": rt.to_numpy()})
    day_ahead = _write(tmp_path / "da.csv", da.index, {"west_da": da.to_numpy()})
    out = tmp_path / "out"
    args = ["backtest", str(_mining_site(tmp_path)), "--start", "2024-07-10", "--end", "2024-07-10"]
    args += [
        "--out",
        str(out),
        "--strategy",
        "rolling",
        "--forecast",
        "day-ahead",
        "--prices",
        f"{prices}:west",
    ]
    args += ["--day-ahead", f"{day_ahead}:west_da"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "hours without one skipped, longest hole: no price from 2024-06-22T05:00:00+00:00" in text
    policy = json.loads((out / "rolling" / "summary.json").read_text())["policy"]
    gaps = policy["forecast_day_ahead_gaps"]
    assert gaps["issues"] >= 24 and gaps["stale"] + gaps["missing"] == gaps["issues"]
    assert f"rolling: {gaps['issues']} of {gaps['issues']} forecasts issued without a day-ahead price" in text
    assert policy["forecast_training_hours"]["hours_skipped"] == 10 * 24
