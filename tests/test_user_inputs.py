"""Every market input from the user's own files, and forecasters that use what exists.

There is no network in the tests: every "user file" here is **bundled ERCOT data relabelled to
exercise the path** — copied under other file and column names, moved by 104 weeks (2022 → 2024,
same weekdays and season) so that it plays a year the bundled data does not cover, and cut with
holes (43 days missing) like the public NYISO real-time history. Nothing here reads the bundled
file of a series that a user file gives.
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

from powerfirst.backtest.runner import _peaks_known_before, prepare_backtest, run_strategy
from powerfirst.cli.app import app
from powerfirst.errors import ConfigError, DataError
from powerfirst.forecast.gbm import GbmQuantileForecaster
from powerfirst.forecast.simple import DayAheadForecaster, PersistenceForecaster
from powerfirst.fourcp.evaluate import evaluate_fourcp
from powerfirst.market.grid_programs import fourcp_peaks_bundled, fourcp_peaks_csv, fourcp_weights
from powerfirst.market.information import MarketData, bundled_system_load
from powerfirst.market.loading import load_market_data
from powerfirst.market.markets import find_market
from powerfirst.market.sources import parse_source, read_bundled_table
from powerfirst.market.user_inputs import read_load_csv
from powerfirst.policies.registry import load_site

ROOT = Path(__file__).resolve().parents[1]
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"
SHIFT = pd.Timedelta(weeks=104)
"""2022 → 2024 with the same weekdays (728 days)."""
FROM_2022, TO_2022 = pd.Timestamp("2022-05-01T05:00Z"), pd.Timestamp("2022-08-20T05:00Z")
HOLE = (pd.Timestamp("2024-05-20T05:00Z"), pd.Timestamp("2024-07-02T05:00Z"))
"""43 days without a real-time price in the relabelled history."""
WINDOW = ("2024-08-05", "2024-08-07")


def _stamps(index: pd.DatetimeIndex) -> pd.Index:
    return pd.DatetimeIndex(index).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, index: pd.DatetimeIndex, columns: dict[str, Any]) -> Path:
    local = pd.DatetimeIndex(index).tz_convert("America/Chicago").strftime("%Y-%m-%dT%H:%M:%S%z")
    pd.DataFrame({"interval_start_utc": _stamps(index), "interval_start_local": local, **columns}).to_csv(
        path, index=False
    )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The user's files: bundled ERCOT May–August 2022 relabelled as 2024 (see the module docstring),
    real-time prices with a 43-day hole, under other names."""
    folder = tmp_path_factory.mktemp("user")
    rt = parse_source("ercot-rt:HB_WEST").load(FROM_2022, TO_2022).prices
    rt.index = rt.index + SHIFT
    rt = rt[(rt.index < HOLE[0]) | (rt.index >= HOLE[1])]
    da = parse_source("ercot-da:HB_WEST").load(FROM_2022, TO_2022).prices
    da.index = da.index + SHIFT
    load = bundled_system_load(FROM_2022, TO_2022)
    load.index = load.index + SHIFT
    ancillary = read_bundled_table("ercot", "ercot_dam_as_mcpc_hourly_2022_2023.csv.gz")
    ancillary = ancillary[(ancillary.index >= FROM_2022) & (ancillary.index < TO_2022)]
    ancillary.index = ancillary.index + SHIFT
    # each relabelled month's peak hour of the relabelled load (as the bundled peaks are derived)
    local = load.index.tz_convert("America/Chicago")
    summer = load[(local.month >= 6) & (local.month <= 8)]
    starts = pd.DatetimeIndex(summer.groupby(summer.index.tz_convert("America/Chicago").month).idxmax())
    peak_frame = pd.DataFrame(
        {
            "year": starts.tz_convert("America/Chicago").year,
            "month": starts.tz_convert("America/Chicago").month,
            "peak_hour_start_utc": _stamps(starts),
            "peak_hour_start_local": starts.tz_convert("America/Chicago").strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ercot_native_load_mw": summer[starts].to_numpy(),
        }
    )
    peak_frame.to_csv(folder / "my_peaks.csv", index=False)
    return {
        "prices": _write(folder / "rt_west.csv", rt.index, {"west_rt": rt.to_numpy()}),
        "day_ahead": _write(folder / "da_west.csv", da.index, {"west_da": da.to_numpy()}),
        "load": _write(folder / "grid_load.csv", load.index, {"system_mw": load.to_numpy()}),
        "ancillary": _write(
            folder / "as_clearing.csv",
            ancillary.index,
            {p: ancillary[p].to_numpy() for p in ("REGDN", "REGUP", "RRS", "NSPIN", "ECRS")},
        ),
        "peaks": folder / "my_peaks.csv",
        "folder": folder,
    }


def _site_file(folder: Path, base: Path, edit: dict[str, Any] | None = None, name: str = "site.yaml") -> Path:
    cfg = yaml.safe_load(base.read_text(encoding="utf-8"))
    cfg.setdefault("contract", {})["price_series"] = "rt_west.csv:west_rt"
    cfg["market"] = "ercot"  # the relabelled files are ERCOT's: its zone and day-ahead clock
    if "gpu_hall" in cfg:  # the example's training jobs are dated 2023: move them into 2024
        jobs = cfg["gpu_hall"]["training_jobs"]
        jobs[0].update(release="2024-09-01", deadline="2024-09-30")  # after the window: not scheduled
        jobs[1].update(release="2024-08-05", deadline="2024-08-07", gpu_hours=40_000)
    cfg.update(edit or {})
    path = folder / name
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _ercot(data: MarketData) -> MarketData:
    """The user's CSVs are ERCOT's (relabelled): the day-ahead clock is ERCOT's."""
    return replace(data, market=find_market("ercot"), timezone="America/Chicago")


def _rolling(path: Path, forecast: str) -> Any:
    site = load_site(path)
    settings = site.strategies.rolling.model_copy(update={"forecast": forecast})
    return site.model_copy(update={"strategies": site.strategies.model_copy(update={"rolling": settings})})


# --- 2. forecasters that use what exists ------------------------------------------------------------


def test_gbm_on_csv_prices_without_load_leaves_the_load_out(files: dict[str, Path]) -> None:
    """Prices from a CSV give no system load (load was added only for ``ercot-*`` sources): the gbm
    fit used to crash inside scikit-learn on the all-NaN load features. Now it is fitted without
    them and says so; with ``--load`` it uses the load."""
    prices = f"{files['prices']}:west_rt"
    start, end = pd.Timestamp("2024-07-02T05:00Z"), pd.Timestamp("2024-07-30T05:00Z")
    without = GbmQuantileForecaster(max_iter=20)
    without.fit(load_market_data(prices, None, start, end))
    assert without.inputs_used == ("real-time prices",)
    assert not any(n.startswith("load_") or "da_" in n for n in without.features_used)
    with_load = GbmQuantileForecaster(max_iter=20)
    data = _ercot(
        load_market_data(prices, f"{files['day_ahead']}:west_da", start, end, f"{files['load']}:system_mw")
    )
    with_load.fit(data)
    assert with_load.inputs_used == ("real-time prices", "day-ahead prices", "system load")
    history = data.clock().known_at(pd.Timestamp("2024-07-29T17:00Z"))
    quantiles = with_load.predict(history, pd.date_range("2024-07-29T17:00Z", periods=6, freq="h"))
    assert quantiles.shape == (6, 3) and np.isfinite(quantiles).all()


@pytest.mark.parametrize("forecaster", [PersistenceForecaster, DayAheadForecaster])
def test_a_43_day_hole_in_the_history_is_skipped_while_fitting(
    files: dict[str, Path], forecaster: type[PersistenceForecaster | DayAheadForecaster]
) -> None:
    """The fit walks through a 43-day hole (NYISO real-time, mid-2023): issue times with nothing
    settled are skipped, where the fit used to stop with 'no settled real-time price known'."""
    data = _ercot(
        load_market_data(
            f"{files['prices']}:west_rt",
            None if forecaster is PersistenceForecaster else f"{files['day_ahead']}:west_da",
            pd.Timestamp("2024-05-06T05:00Z"),
            pd.Timestamp("2024-07-20T05:00Z"),
        )
    )
    model = forecaster()
    model.fit(data)
    offsets = model._offsets_usd_per_mwh
    assert np.abs(offsets[0]).sum() > 0  # error bands were learned from both sides of the hole


def test_nothing_to_fit_names_the_hole_and_the_options(files: dict[str, Path]) -> None:
    """Half a day of prices, the 43-day hole, half a day: the error names the first and last missing
    hour and what to do."""
    data = load_market_data(
        f"{files['prices']}:west_rt",
        None,
        pd.Timestamp("2024-05-19T17:00Z"),
        pd.Timestamp("2024-07-02T17:00Z"),
    )
    for model in (PersistenceForecaster(), GbmQuantileForecaster(max_iter=5)):
        with pytest.raises(DataError) as caught:
            model.fit(data)
        text = str(caught.value)
        assert "no price from 2024-05-20T05:00:00+00:00 to 2024-07-02T04:00:00+00:00" in text, text
        if model.name == "persistence":  # persistence learns from prices alone: earlier prices only
            assert "prices that start earlier" in text and "--load" not in text
        else:
            assert "use --forecast persistence" in text and "--load" in text


def test_day_ahead_forecast_without_day_ahead_prices_is_an_error(files: dict[str, Path]) -> None:
    """``--forecast day-ahead`` with CSV prices and no ``--day-ahead`` used to run as persistence."""
    path = _site_file(files["folder"], MINING, name="mining.yaml")
    bt = prepare_backtest(_rolling(path, "day-ahead"), *WINDOW)
    with pytest.raises(DataError, match=r"--forecast day-ahead: no day-ahead prices.*--day-ahead SOURCE"):
        run_strategy(bt, "rolling")
    with_da = prepare_backtest(
        _rolling(path, "day-ahead"), *WINDOW, day_ahead=f"{files['day_ahead']}:west_da"
    )
    result = run_strategy(with_da, "rolling")
    assert result.summary.policy["forecast_inputs"] == ["day-ahead prices", "real-time prices"]


def test_rolling_gbm_on_a_csv_market_runs_and_reports_its_inputs(files: dict[str, Path]) -> None:
    """The user's crash: ``--strategy rolling`` (gbm) on CSV prices with no load. It now fits on what
    exists (across the 43-day hole) and summary.json says which inputs and files were used."""
    path = _site_file(files["folder"], MINING, name="mining.yaml")
    bt = prepare_backtest(_rolling(path, "gbm"), *WINDOW)
    result = run_strategy(bt, "rolling")
    policy = result.summary.policy
    assert policy["forecast_inputs"] == ["real-time prices"]
    assert result.summary.market_inputs["system_load"] is None
    rt = result.summary.market_inputs["real_time_prices"]
    assert rt is not None and rt.endswith("rt_west.csv:west_rt")


# --- 1. every input from the user's files -------------------------------------------------------------


def test_ancillary_prices_after_2023_come_from_the_users_file(files: dict[str, Path]) -> None:
    """Only the bundled 2022–2023 AS prices could be read: a 2024 hybrid window failed."""
    path = _site_file(files["folder"], HYBRID, {"fourcp": None}, name="hybrid-as.yaml")
    with pytest.raises(DataError, match="--ancillary-prices"):
        prepare_backtest(load_site(path), *WINDOW)
    bt = prepare_backtest(load_site(path), *WINDOW, ancillary_prices=str(files["ancillary"]))
    expected = read_bundled_table("ercot", "ercot_dam_as_mcpc_hourly_2022_2023.csv.gz")["RRS"]
    hour = pd.Timestamp("2024-08-06T20:00Z")
    rrs = bt.inputs.stream.as_price_usd_per_mw_hour[0][bt.inputs.times_utc == hour]
    assert rrs == pytest.approx(float(expected[hour - SHIFT]))
    assert bt.market_inputs["ancillary_prices"] == str(files["ancillary"])


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("abc", r"row 3: RRS = 'abc' is not a number \[USD/MW per hour\]"),
        ("-5", r"row 3: RRS = -5 .*outside 0"),
    ],
)
def test_a_bad_ancillary_file_names_row_column_and_unit(tmp_path: Path, cell: str, message: str) -> None:
    bad = tmp_path / "as.csv"
    bad.write_text(
        f"interval_start_utc,RRS,ECRS,NSPIN\n2024-08-05T05:00:00Z,1,2,3\n2024-08-05T06:00:00Z,{cell},2,3\n"
    )
    site = load_site(HYBRID).model_copy(update={"fourcp": None})
    with pytest.raises(DataError, match=message):
        prepare_backtest(site, "2023-08-05", "2023-08-06", ancillary_prices=str(bad))
    missing = tmp_path / "as2.csv"
    missing.write_text("interval_start_utc,RRS\n2024-08-05T05:00:00Z,1\n")
    with pytest.raises(DataError, match="missing columns 'ECRS', 'NSPIN'"):
        prepare_backtest(site, "2023-08-05", "2023-08-06", ancillary_prices=str(missing))


def test_peak_hours_are_charged_once_per_month_over_the_hour(tmp_path: Path) -> None:
    """The bundled format (one peak hour per month) is charged as the bundled peaks are: a quarter of
    the yearly rate per month, spread over the hour's intervals (the load averaged over the hour)."""
    path = tmp_path / "p.csv"
    path.write_text(
        "year,month,peak_hour_start_utc,peak_hour_start_local,ercot_native_load_mw\n"
        "2024,8,2024-08-20T21:00:00Z,2024-08-20T16:00:00-05:00,85000\n"
    )
    quarter = pd.Timedelta(minutes=15)
    peaks = fourcp_peaks_csv(path, quarter, "America/Chicago")
    times = pd.date_range("2024-08-20T20:00Z", periods=12, freq="15min")
    weights, listed = fourcp_weights(peaks, times, 400.0)
    assert weights.sum() == pytest.approx(100.0)
    assert weights[4:8] == pytest.approx([25.0] * 4) and listed[0]["intervals_in_window"] == 4


def test_the_four_quarter_hours_of_one_peak_are_charged_once(tmp_path: Path) -> None:
    """A user listing the four quarter-hours of a peak was charged four quarters of the yearly rate."""
    path = tmp_path / "p.csv"
    quarters = pd.date_range("2024-08-20T21:00Z", periods=4, freq="15min")
    path.write_text("peak_interval_start_utc\n" + "\n".join(_stamps(quarters)) + "\n")
    peaks = fourcp_peaks_csv(path, pd.Timedelta(minutes=15), "America/Chicago")
    times = pd.date_range("2024-08-20T20:00Z", periods=12, freq="15min")
    weights, _ = fourcp_weights(peaks, times, 400.0)
    assert weights.sum() == pytest.approx(100.0)  # one quarter of 400 USD/MW-year, not four


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "year,month,peak_hour_start_utc\n2024,8,2024-08-20T21:00:00Z\n2024,8,2024-08-21T21:00:00Z\n",
            "rows 2 and 3 are both peaks of 2024-08",
        ),
        (
            "peak_interval_start_utc\n2024-08-20T21:00:00Z\n2024-08-22T21:00:00Z\n",
            "not consecutive",
        ),
        (
            "year,month,peak_hour_start_utc\n2024,7,2024-08-20T21:00:00Z\n",
            "row 2: month = '7' does not match",
        ),
        ("peak_hour_start_utc\n20/08/2024 21:00\n", "row 2: peak_hour_start_utc = '20/08/2024 21:00'"),
    ],
)
def test_a_bad_peaks_file_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        fourcp_peaks_csv(path, pd.Timedelta(minutes=15), "America/Chicago")


def test_load_from_a_file_is_checked_with_row_column_and_unit(tmp_path: Path) -> None:
    bad = tmp_path / "load.csv"
    bad.write_text("interval_start_utc,mw\n2024-08-05T05:00:00Z,40000\n2024-08-05T06:00:00Z,-3\n")
    with pytest.raises(DataError, match=r"row 3: mw = -3 MW is outside 0"):
        load_market_data(
            "ercot-rt:HB_WEST",
            None,
            pd.Timestamp("2023-08-01T05:00Z"),
            pd.Timestamp("2023-08-02T05:00Z"),
            f"{bad}:mw",
        )
    with pytest.raises(DataError, match="missing column 'gw'"):
        load_market_data(
            "ercot-rt:HB_WEST",
            None,
            pd.Timestamp("2023-08-01T05:00Z"),
            pd.Timestamp("2023-08-02T05:00Z"),
            f"{bad}:gw",
        )


def test_site_file_market_data_and_the_old_peaks_name(files: dict[str, Path]) -> None:
    """``market_data:`` in the site file (paths relative to it); ``fourcp.peaks_csv`` still works,
    and naming both is a clear error."""
    edit = {
        "market_data": {
            "load": "grid_load.csv:system_mw",
            "ancillary_prices": "as_clearing.csv",
            "fourcp_peaks": "my_peaks.csv",
        }
    }
    site = load_site(_site_file(files["folder"], HYBRID, edit, name="hybrid-md.yaml"))
    assert site.fourcp_peaks_path == str(files["peaks"])
    assert site.market_data.load == f"{files['load']}:system_mw"
    both = {**edit, "fourcp": {"rate_usd_per_mw_year": 55000, "peaks_csv": "my_peaks.csv"}}
    with pytest.raises(ConfigError, match=r"fourcp\.peaks_csv and market_data\.fourcp_peaks"):
        load_site(_site_file(files["folder"], HYBRID, both, name="hybrid-both.yaml"))


# --- 8. the 4CP predictor learns only from finished months --------------------------------------------


@pytest.mark.parametrize("peaks", ["bundled", "user"])
def test_the_4cp_predictor_learns_only_peaks_of_finished_months(files: dict[str, Path], peaks: str) -> None:
    """A month's peak is known once the month is over: a window starting on 15 July (or at the
    first instant of August, Central time) must not learn July's peak in the first case and must in
    the second. A cut-off that includes the month in progress is a look-ahead."""
    table = (
        fourcp_peaks_bundled().query("year == 2023")
        if peaks == "bundled"
        else fourcp_peaks_csv(files["peaks"], pd.Timedelta(minutes=15), "America/Chicago")
    )
    year = int(table["year"].iloc[0])
    mid_july = pd.Timestamp(f"{year}-07-15", tz="America/Chicago").tz_convert("UTC")
    known = _peaks_known_before(table, mid_july, "America/Chicago")
    assert sorted(known["month"]) == [6]
    august = pd.Timestamp(f"{year}-08-01", tz="America/Chicago").tz_convert("UTC")
    assert sorted(_peaks_known_before(table, august, "America/Chicago")["month"]) == [6, 7]
    just_before = august - pd.Timedelta(minutes=15)
    assert sorted(_peaks_known_before(table, just_before, "America/Chicago")["month"]) == [6]


# --- the hybrid example on 2024 from the user's files only ----------------------------------------------


def test_the_hybrid_example_runs_on_2024_from_user_files_only(files: dict[str, Path]) -> None:
    """perfect, rule-based and rolling (gbm) on two days of August 2024 with prices, day-ahead,
    AS prices, load and 4CP peaks all from the user's files (bundled 2022 relabelled): no traceback,
    every input named in summary.json and the console, the job dated outside the window said in
    the console, and the 4CP predictor fitted on the user's finished months."""
    path = _site_file(files["folder"], HYBRID, name="hybrid-2024.yaml")
    out = files["folder"] / "out"
    args = [
        "backtest", str(path), "--start", WINDOW[0], "--end", WINDOW[1], "--out", str(out),
        "--strategy", "perfect", "--strategy", "rule-based", "--strategy", "rolling",
        "--day-ahead", f"{files['day_ahead']}:west_da",
        "--load", f"{files['load']}:system_mw",
        "--ancillary-prices", str(files["ancillary"]),
        "--fourcp-peaks", str(files["peaks"]),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.exception is None
    console = result.output
    assert f"input fourcp_peaks: {files['peaks']}" in console
    assert f"input ancillary_prices: {files['ancillary']}" in console
    assert "rolling: forecaster gbm fitted with real-time prices, day-ahead prices, system load" in console
    assert "training job 'llm-pretrain-a'" in console and "not scheduled" in console
    summary = json.loads((out / "rolling" / "summary.json").read_text())
    inputs = summary["market_inputs"]
    assert inputs["system_load"] == f"{files['load']}:system_mw"
    assert inputs["day_ahead_prices"] == f"{files['day_ahead']}:west_da"
    assert summary["policy"]["fourcp_predictor"] is True
    assert summary["policy"]["fourcp_trained_on_months"] == ["2024-06", "2024-07"]  # the user's, finished
    assert summary["policy"]["forecast_inputs"] == ["real-time prices", "day-ahead prices", "system load"]
    assert summary["fourcp"]["peaks"] == [] or all(p["year"] == 2024 for p in summary["fourcp"]["peaks"])
    assert summary["revenue_usd"]["ancillary"] > 0


def test_fourcp_evaluate_learns_from_the_users_load_and_peaks(tmp_path: Path) -> None:
    """``fourcp evaluate --load --fourcp-peaks``: leave-one-year-out over the years of the user's
    peaks file. The files are bundled ERCOT summers 2021 and 2022 relabelled as 2024 and 2025
    (156 weeks later, same weekdays), with peaks derived from the relabelled load."""
    shift = pd.Timedelta(weeks=156)
    parts = []
    for year in (2021, 2022):
        start = pd.Timestamp(f"{year}-05-15T05:00Z")
        parts.append(bundled_system_load(start, pd.Timestamp(f"{year}-10-01T05:00Z")))
    load = pd.concat(parts)
    load.index = load.index + shift
    _write(tmp_path / "load.csv", load.index, {"mw": load.to_numpy()})
    local = load.index.tz_convert("America/Chicago")
    summer = load[(local.month >= 6) & (local.month <= 9)]
    keys = [summer.index.tz_convert("America/Chicago").year, summer.index.tz_convert("America/Chicago").month]
    starts = pd.DatetimeIndex(summer.groupby(keys).idxmax())
    pd.DataFrame({"peak_hour_start_utc": _stamps(starts)}).to_csv(tmp_path / "peaks.csv", index=False)
    with pytest.raises(ConfigError, match="--load and --fourcp-peaks go together"):
        evaluate_fourcp(55_000.0, 60.0, load=f"{tmp_path / 'load.csv'}:mw")
    rows = evaluate_fourcp(
        55_000.0, 60.0, load=f"{tmp_path / 'load.csv'}:mw", fourcp_peaks=str(tmp_path / "peaks.csv")
    )
    assert [(r.year, r.method) for r in rows] == [
        (2024, "predictor"), (2024, "rule"), (2025, "predictor"), (2025, "rule")
    ]  # fmt: skip
    assert all(r.peaks == 4 for r in rows)
    assert sum(r.peaks_caught for r in rows if r.method == "predictor") >= 4


def test_load_finer_than_hourly_is_averaged_over_the_hour(tmp_path: Path) -> None:
    """Load at 15 minutes (as NYISO/ISO-NE publish at 5 minutes) is averaged per clock hour [MW];
    a daily file is an error naming the unit."""
    quarters = pd.date_range("2024-08-05T05:00Z", periods=8, freq="15min")
    _write(tmp_path / "q.csv", quarters, {"mw": [100.0, 200.0, 300.0, 400.0, 10.0, 10.0, 10.0, 10.0]})
    data = load_market_data(
        "ercot-rt:HB_WEST",
        None,
        pd.Timestamp("2023-08-01T05:00Z"),
        pd.Timestamp("2023-08-02T05:00Z"),
        f"{tmp_path / 'q.csv'}:mw",
    )
    assert data.load_mw.empty  # the file's hours are outside the period: nothing borrowed from ERCOT
    hourly = read_load_csv(f"{tmp_path / 'q.csv'}:mw")
    assert hourly.to_list() == [250.0, 10.0]
    assert list(hourly.index) == [pd.Timestamp("2024-08-05T05:00Z"), pd.Timestamp("2024-08-05T06:00Z")]
    days = pd.date_range("2024-08-05T05:00Z", periods=3, freq="D")
    _write(tmp_path / "d.csv", days, {"mw": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"hourly or finer \[MW"):
        read_load_csv(f"{tmp_path / 'd.csv'}:mw")
