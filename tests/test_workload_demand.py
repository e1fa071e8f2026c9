"""AI-inference demand: the weekly profile of the Alibaba LoRA trace, CSV demand, profile scaling."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powerfirst.errors import DataError
from powerfirst.workloads.demand import (
    ALIBABA_LORA_TRACE,
    alibaba_lora_weekly_profile,
    constant_demand,
    demand_from_csv,
    demand_from_profile,
    weekly_profile_from_trace,
)

HEADER = "gmt_create,predict_type,predict_status,exec_time_seconds\n"


def _trace(tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{t},TXT_2_IMG,{status},{sec}\n" for t, status, sec in rows))
    return path


# --- weekly profile of the bundled trace -------------------------------------------------------


def test_bundled_profile_is_a_real_weekly_shape() -> None:
    profile = alibaba_lora_weekly_profile()
    assert len(profile) == 168
    assert list(profile.index) == list(range(168))
    assert profile.max() == 1.0
    assert profile.min() >= 0.0
    assert profile.std() > 0.1  # not flat
    assert profile.attrs["weeks"] == 3
    assert profile.attrs["skipped_requests"] == 0
    assert alibaba_lora_weekly_profile() is profile  # cached


def _busy_seconds_direct(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Busy GPU-seconds of SUCCEED requests inside [start, end), one request at a time."""
    created = pd.to_datetime(frame["gmt_create"])
    near = frame[(created >= start - pd.Timedelta(hours=1)) & (created < end)]  # all requests < 1 h
    total = 0.0
    for text, status, seconds in zip(
        near["gmt_create"], near["predict_status"], near["exec_time_seconds"], strict=True
    ):
        if status != "SUCCEED":
            continue
        begin = pd.Timestamp(text)
        finish = begin + pd.Timedelta(seconds=float(seconds))
        overlap = (min(finish, end) - max(begin, start)).total_seconds()
        total += max(overlap, 0.0)
    return total


def test_bundled_profile_matches_a_direct_count_of_two_hours() -> None:
    """Peak hour (Wednesday 18:00 GMT) and Tuesday 00:00, recomputed row by row from the raw file."""
    profile = alibaba_lora_weekly_profile()
    start = profile.attrs["window_start"]  # Sunday 2024-11-17 17:00
    with gzip.open(ALIBABA_LORA_TRACE, "rt") as fh:
        frame = pd.read_csv(fh)
    assert frame["exec_time_seconds"].max() < 3600
    assert start == pd.Timestamp("2024-11-17 17:00")

    def mean_gpus(hour_of_week: int) -> float:
        # First occurrence of that hour of week at or after the window start, then every week.
        first = pd.Timestamp("2024-11-18 00:00") + pd.Timedelta(hours=hour_of_week)
        if first - pd.Timedelta(weeks=1) >= start:
            first -= pd.Timedelta(weeks=1)
        busy = [
            _busy_seconds_direct(
                frame,
                first + pd.Timedelta(weeks=w),
                first + pd.Timedelta(weeks=w, hours=1),
            )
            for w in range(3)
        ]
        return sum(busy) / 3 / 3600

    peak = mean_gpus(66)
    assert peak == pytest.approx(profile.attrs["peak_mean_gpus"], rel=1e-12)
    assert profile.idxmax() == 66
    assert mean_gpus(24) / peak == pytest.approx(profile[24], rel=1e-12)


# --- weekly profile of synthetic traces --------------------------------------------------------


def test_synthetic_trace_splits_requests_exactly_across_hours(tmp_path: Path) -> None:
    # Window: Monday 2024-01-01 00:00 → Monday 2024-01-08 00:00 (one whole week).
    rows = [
        ("2024-01-01 00:00:00", "SUCCEED", "0"),  # first request: opens the window
        ("2024-01-01 00:50:00", "SUCCEED", "1200"),  # 600 s in hour 0, 600 s in hour 1
        ("2024-01-02 10:30:00", "SUCCEED", "9000"),  # Tue 10:30 → 13:00: 1800, 3600, 3600 s
        ("2024-01-03 05:00:00", "FAILED", "3600"),  # not SUCCEED: ignored
        ("2024-01-03 06:00:00", "SUCCEED", ""),  # missing exec time: skipped
        ("2024-01-03 07:00:00", "SUCCEED", "-5"),  # negative: skipped
        ("2024-01-07 23:59:00", "SUCCEED", "120"),  # 60 s in hour 167, the rest past the window
        ("2024-01-08 00:30:00", "SUCCEED", "100"),  # after the last whole hour: outside
    ]
    profile = weekly_profile_from_trace(_trace(tmp_path, rows))
    expected = np.zeros(168)
    expected[0] = expected[1] = 600 / 3600
    expected[34] = 0.5  # Tuesday 10:00
    expected[35] = expected[36] = 1.0
    expected[167] = 60 / 3600
    np.testing.assert_allclose(profile.to_numpy(), expected, rtol=0, atol=1e-12)
    assert profile.attrs["skipped_requests"] == 2
    assert profile.attrs["weeks"] == 1
    assert profile.attrs["peak_mean_gpus"] == pytest.approx(1.0)


def test_synthetic_trace_averages_each_hour_of_week_over_the_weeks(tmp_path: Path) -> None:
    # Starts Wednesday 2024-01-03 10:00, last request Wednesday 2024-01-17 10:20 → 2 whole weeks.
    rows = [
        ("2024-01-03 10:00:00", "SUCCEED", "3600"),  # Wed 10:00 (hour 58), week 1: 1 GPU
        ("2024-01-03 10:00:00", "SUCCEED", "3600"),  # ... a second GPU: 2 GPUs
        ("2024-01-10 10:00:00", "SUCCEED", "1800"),  # Wed 10:00, week 2: 0.5 GPU
        ("2024-01-08 00:00:00", "SUCCEED", "3600"),  # Monday 00:00 (hour 0), week 1 only: 1 GPU
        ("2024-01-17 10:20:00", "SUCCEED", "60"),  # closes the window at 10:00, itself outside
    ]
    profile = weekly_profile_from_trace(_trace(tmp_path, rows))
    assert profile.attrs["weeks"] == 2
    assert profile.attrs["peak_mean_gpus"] == pytest.approx((2 + 0.5) / 2)
    assert profile[58] == 1.0
    assert profile[0] == pytest.approx(0.5 / 1.25)
    assert profile.drop([0, 58]).eq(0).all()


def test_trace_shorter_than_a_week_or_missing_columns_is_a_data_error(tmp_path: Path) -> None:
    short = _trace(
        tmp_path, [("2024-01-01 00:00:00", "SUCCEED", "60"), ("2024-01-07 23:00:00", "SUCCEED", "60")]
    )
    with pytest.raises(DataError, match="less than one whole week"):
        weekly_profile_from_trace(short)
    bad = tmp_path / "bad.csv"
    bad.write_text("gmt_create,status\n2024-01-01 00:00:00,SUCCEED\n")
    with pytest.raises(DataError, match=r"'predict_status', 'exec_time_seconds'.*gmt_create, status"):
        weekly_profile_from_trace(bad)
    with pytest.raises(DataError, match="not found"):
        weekly_profile_from_trace(tmp_path / "nope.csv")


# --- demand_from_profile / constant_demand -----------------------------------------------------


def test_demand_from_profile_uses_local_hours_across_dst() -> None:
    profile = pd.Series(np.arange(168) / 167.0)
    chicago = "America/Chicago"
    # Spring forward, Sunday 2023-03-12: 07:00 UTC = 01:00 CST, 08:00 UTC = 03:00 CDT.
    spring = pd.DatetimeIndex(["2023-03-12 06:00", "2023-03-12 07:00", "2023-03-12 08:00"], tz="UTC")
    np.testing.assert_allclose(
        demand_from_profile(profile, spring, chicago, 167.0), [6 * 24 + 0, 6 * 24 + 1, 6 * 24 + 3]
    )
    # Fall back, Sunday 2023-11-05: 06:00 UTC = 01:00 CDT and 07:00 UTC = 01:00 CST.
    autumn = pd.date_range("2023-11-05 05:00", periods=4, freq="h", tz="UTC")
    np.testing.assert_allclose(demand_from_profile(profile, autumn, chicago, 167.0), [144, 145, 145, 146])
    # Same UTC instants read in UTC give other hours: the local clock is what matters.
    np.testing.assert_allclose(demand_from_profile(profile, autumn, "UTC", 167.0), [149, 150, 151, 152])
    quarter = pd.date_range("2023-01-02 00:00", periods=8, freq="15min", tz="UTC")  # Monday
    out = demand_from_profile(alibaba_lora_weekly_profile(), quarter, "UTC", 10.0)
    assert out.dtype == np.float64 and out.shape == (8,)
    np.testing.assert_allclose(out, 10.0 * alibaba_lora_weekly_profile()[[0, 0, 0, 0, 1, 1, 1, 1]].to_numpy())


def test_demand_from_profile_and_constant_reject_bad_arguments() -> None:
    times = pd.date_range("2023-01-02", periods=3, freq="h", tz="UTC")
    with pytest.raises(ValueError, match="168"):
        demand_from_profile(pd.Series(np.ones(24)), times, "UTC", 1.0)
    with pytest.raises(ValueError, match="peak_gpus = -1"):
        demand_from_profile(alibaba_lora_weekly_profile(), times, "UTC", -1.0)
    with pytest.raises(DataError, match="tz-aware"):
        demand_from_profile(alibaba_lora_weekly_profile(), times.tz_localize(None), "UTC", 1.0)
    np.testing.assert_array_equal(constant_demand(times, 4.0), [4.0, 4.0, 4.0])
    with pytest.raises(ValueError, match="gpus = nan"):
        constant_demand(times, float("nan"))


# --- demand_from_csv ---------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str, name: str = "demand.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_exact_match_in_any_row_order(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "interval_start_utc,gpus,other\n"
        "2023-01-01T00:30:00Z,3,x\n"
        "2023-01-01T00:00:00Z,1.5,x\n"
        "2023-01-01T00:15:00Z,0,x\n"
        "2023-01-01T00:45:00+00:00,2,x\n",
    )
    times = pd.date_range("2023-01-01", periods=4, freq="15min", tz="UTC")
    out = demand_from_csv(path, "gpus", times)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.5, 0.0, 3.0, 2.0])
    # A tz-aware grid in another zone is the same instants.
    np.testing.assert_array_equal(demand_from_csv(path, "gpus", times.tz_convert("America/Chicago")), out)


def test_hourly_csv_on_15_minute_times(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "interval_start_utc,gpus\n2023-01-01 00:00:00Z,10\n2023-01-01 01:00:00Z,20\n2023-01-01 02:00:00Z,30\n",
    )
    times = pd.date_range("2023-01-01 00:30", "2023-01-01 02:45", freq="15min", tz="UTC")
    out = demand_from_csv(path, "gpus", times)
    np.testing.assert_array_equal(out, [10, 10] + [20] * 4 + [30] * 4)
    # One step past the last row is not covered.
    with pytest.raises(DataError, match=r"2023-01-01T03:00:00\+00:00 \(1 of 11 intervals"):
        demand_from_csv(path, "gpus", times.append(pd.DatetimeIndex(["2023-01-01 03:00"], tz="UTC")))


@pytest.mark.parametrize(
    ("text", "column", "pattern"),
    [
        (
            "interval_start_utc,gpus\n2023-01-01T00:00Z,abc\n",
            "gpus",
            r"demand\.csv: row 2 .*gpus = 'abc' GPUs",
        ),
        ("interval_start_utc,gpus\n2023-01-01T00:00Z,\n", "gpus", r"row 2 .*gpus = '' GPUs: need a finite"),
        (
            "interval_start_utc,gpus\n2023-01-01T00:00Z,1\n2023-01-01T01:00Z,-2\n",
            "gpus",
            r"row 3 .*gpus = '-2' GPUs.*≥ 0",
        ),
        ("interval_start_utc,gpus\n2023-01-01T00:00Z,inf\n", "gpus", r"gpus = 'inf' GPUs: need a finite"),
        ("interval_start_utc,gpus\nyesterday,1\n", "gpus", r"row 2: interval_start_utc = 'yesterday'"),
        (
            "time,gpus\n2023-01-01T00:00Z,1\n",
            "gpus",
            r"missing column 'interval_start_utc' .*not a CSV file of this kind",
        ),
        (
            "interval_start_utc,gpus\n2023-01-01T00:00Z,1\n",
            "demand",
            r"missing column 'demand'; columns found: gpus",
        ),
        (
            "interval_start_utc,gpus\n2023-01-01T00:00Z,1\n2023-01-01T01:00Z,1\n2023-01-01T00:00:00+00:00,2\n",
            "gpus",
            r"interval_start_utc 2023-01-01T00:00:00\+00:00 appears 2 times \(rows 2, 4\).*'gpus'",
        ),
    ],
)
def test_csv_errors_name_file_column_and_value(tmp_path: Path, text: str, column: str, pattern: str) -> None:
    path = _csv(tmp_path, text)
    times = pd.date_range("2023-01-01", periods=1, freq="h", tz="UTC")
    with pytest.raises(DataError, match=pattern) as info:
        demand_from_csv(path, column, times)
    assert str(path) in str(info.value)


def test_csv_not_covering_the_window(tmp_path: Path) -> None:
    # Hourly rows with 02:00 missing: 02:00–02:45 uncovered, and everything from 04:00 on.
    path = _csv(
        tmp_path,
        "interval_start_utc,gpus\n2023-01-01T00:00Z,1\n2023-01-01T01:00Z,1\n2023-01-01T03:00Z,1\n",
    )
    times = pd.date_range("2023-01-01 00:00", "2023-01-01 04:45", freq="15min", tz="UTC")
    with pytest.raises(
        DataError, match=r"'gpus' does not cover interval 2023-01-01T02:00:00\+00:00 \(8 of 20"
    ):
        demand_from_csv(path, "gpus", times)
    early = pd.date_range("2022-12-31 23:45", periods=2, freq="15min", tz="UTC")
    with pytest.raises(DataError, match=r"2022-12-31T23:45:00\+00:00 \(1 of 2"):
        demand_from_csv(path, "gpus", early)
    with pytest.raises(DataError, match=r"inference demand file .*missing.csv: file not found"):
        demand_from_csv(tmp_path / "missing.csv", "gpus", times)
    empty = _csv(tmp_path, "interval_start_utc,gpus\n", "empty.csv")
    with pytest.raises(DataError, match="no rows"):
        demand_from_csv(empty, "gpus", times)
