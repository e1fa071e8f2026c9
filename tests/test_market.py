"""Market data: the bundled ERCOT/CAISO readers, how --start/--end are read, and user CSV files.

Facts about the bundled files come from shared/data/README.md (row counts and gaps per year).
CSV files are generated in tmp_path; their prices are made-up numbers, only the timestamps matter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powerfirst.errors import ConfigError, DataError
from powerfirst.market import (
    BundledPriceSource,
    CsvPriceSource,
    PriceSeries,
    bundled_sources,
    parse_source,
    parse_window,
)

CHICAGO = "America/Chicago"
LOS_ANGELES = "America/Los_Angeles"
QUARTER = pd.Timedelta(minutes=15)


def _load(spec: str, start: str, end: str, timezone: str | None = None) -> tuple[PriceSeries, object]:
    """Load ``spec`` for the window --start/--end; returns the series and its gap report."""
    source = parse_source(spec, timezone=timezone)
    window = parse_window(start, end, timezone or source.timezone)
    series = source.load(window.start_utc, window.end_utc)
    return series, series.gaps(window.start_utc, window.end_utc)


def _utc_stamps(start: str, periods: int, freq: str = "15min") -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start, tz="UTC"), periods=periods, freq=freq)


def _write_csv(path: Path, stamps: list[str], values: list[str], column: str = "LMP") -> Path:
    lines = [f"interval_start_utc,{column}"]
    lines += [f"{s},{v}" for s, v in zip(stamps, values, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _iso_z(index: pd.DatetimeIndex) -> list[str]:
    return list(index.strftime("%Y-%m-%dT%H:%M:%SZ"))


# --------------------------------------------------------------------------------------------------
# bundled readers


@pytest.mark.parametrize(
    ("spec", "timezone", "interval"),
    [
        ("ercot-rt:HB_WEST", CHICAGO, QUARTER),
        ("ercot-da:LZ_WEST", CHICAGO, pd.Timedelta(hours=1)),
        ("caiso-rt:SP15", LOS_ANGELES, QUARTER),
    ],
)
def test_bundled_source_syntax_gives_market_timezone(
    spec: str, timezone: str, interval: pd.Timedelta
) -> None:
    source = parse_source(spec)
    assert isinstance(source, BundledPriceSource)
    assert source.name == spec
    assert source.timezone == timezone
    series = source.load(pd.Timestamp("2023-06-01T07:00Z"), pd.Timestamp("2023-06-01T09:00Z"))
    assert series.interval == interval
    assert len(series) == pd.Timedelta(hours=2) / interval


def test_bundled_sources_lists_the_three_markets() -> None:
    assert set(bundled_sources()) == {"ercot-rt", "ercot-da", "caiso-rt"}


def test_ercot_rt_hb_west_2023_is_complete() -> None:
    series, gaps = _load("ercot-rt:HB_WEST", "2023-01-01", "2023-12-31")
    assert len(series) == 35_040
    assert series.interval == QUARTER
    assert gaps.count == 0
    assert gaps.longest_intervals == 0
    assert gaps.longest_start_utc is None
    assert gaps.expected_intervals == 35_040
    # the local year 2023 in Central time: 06:00Z to 06:00Z
    assert series.prices.index[0] == pd.Timestamp("2023-01-01T06:00Z")
    assert series.prices.index[-1] == pd.Timestamp("2024-01-01T05:45Z")
    assert str(series.prices.index.tz) == "UTC"
    assert series.prices.mean() == pytest.approx(49.45, abs=0.06)
    assert series.prices.notna().all()
    assert series.unit == "USD/MWh"


def test_ercot_da_lz_west_is_hourly() -> None:
    series, gaps = _load("ercot-da:LZ_WEST", "2023-01-01", "2023-12-31")
    assert series.interval == pd.Timedelta(hours=1)
    assert series.interval_hours == 1.0
    assert len(series) == 8_760
    assert gaps.count == 0
    steps = series.prices.index.to_series().diff().dropna().unique()
    assert list(steps) == [pd.Timedelta(hours=1)]


def test_caiso_rt_sp15_2023_reports_its_gaps() -> None:
    series, gaps = _load("caiso-rt:SP15", "2023-01-01", "2023-12-31")
    assert gaps.expected_intervals == 35_040
    assert gaps.count == 5_595
    assert len(series) == 35_040 - 5_595
    assert gaps.longest_intervals > 1
    assert gaps.longest_start_utc is not None
    # the longest run starts at a missing interval whose predecessor is present
    start = pd.Timestamp(gaps.longest_start_utc)
    assert start not in series.prices.index
    assert start - QUARTER in series.prices.index


def test_caiso_point_accepts_the_lmp_suffix() -> None:
    plain, _ = _load("caiso-rt:SP15", "2023-06-01", "2023-06-01")
    suffixed, _ = _load("caiso-rt:SP15_LMP", "2023-06-01", "2023-06-01")
    np.testing.assert_array_equal(plain.prices.to_numpy(), suffixed.prices.to_numpy())


def test_ercot_rt_2021_gaps_counted_with_longest_run_and_not_filled() -> None:
    series, gaps = _load("ercot-rt:HB_WEST", "2021-01-01", "2021-12-31")
    assert gaps.count == 57
    assert len(series) == 35_040 - 57
    assert gaps.longest_intervals == 8
    assert gaps.longest_start_utc == "2021-02-08T22:00:00Z"
    # independent check: the same count from the raw index
    grid = pd.date_range("2021-01-01T06:00Z", "2022-01-01T06:00Z", freq="15min", inclusive="left")
    assert int((~grid.isin(series.prices.index)).sum()) == 57
    # the Winter Storm Uri hole (2021-02-15 12:00-12:45 UTC) stays a hole
    for minute in (0, 15, 30, 45):
        assert pd.Timestamp(f"2021-02-15T12:{minute:02d}Z") not in series.prices.index
    assert gaps.as_dict()["count"] == 57
    assert "excluded" in gaps.as_dict()["handling"]


def test_window_across_two_bundled_years_reads_both_files() -> None:
    series, gaps = _load("ercot-rt:HB_WEST", "2022-12-31", "2023-01-01")
    assert len(series) == 2 * 96
    assert gaps.count == 0
    assert series.prices.index.is_unique


@pytest.mark.parametrize(
    ("spec", "start", "end", "missing_year"),
    [
        ("ercot-rt:HB_WEST", "2019-06-01", "2019-06-02", "2019"),
        ("ercot-rt:HB_WEST", "2023-12-31", "2024-01-01", "2024"),
        ("ercot-da:LZ_WEST", "2020-03-01", "2020-03-01", "2020"),
    ],
)
def test_bundled_year_not_available_is_a_clear_error(
    spec: str, start: str, end: str, missing_year: str
) -> None:
    with pytest.raises(DataError) as info:
        _load(spec, start, end)
    message = str(info.value)
    assert missing_year in message
    assert "bundled years" in message
    assert spec in message


# --------------------------------------------------------------------------------------------------
# windows


def test_plain_dates_are_market_local_and_end_date_is_included() -> None:
    window = parse_window("2023-01-01", "2023-12-31", CHICAGO)
    assert window.start_utc == pd.Timestamp("2023-01-01T06:00Z")
    assert window.end_utc == pd.Timestamp("2024-01-01T06:00Z")
    assert (window.end_utc - window.start_utc) / QUARTER == 35_040
    one_day = parse_window("2023-06-01", "2023-06-01", CHICAGO)
    assert one_day.end_utc - one_day.start_utc == pd.Timedelta(hours=24)
    la = parse_window("2023-06-01", "2023-06-01", LOS_ANGELES)
    assert la.start_utc == pd.Timestamp("2023-06-01T07:00Z")
    assert "end exclusive" in window.describe()


@pytest.mark.parametrize(("day", "intervals"), [("2023-11-05", 100), ("2023-03-12", 92), ("2023-07-04", 96)])
def test_dst_days_have_100_or_92_intervals(day: str, intervals: int) -> None:
    window = parse_window(day, day, CHICAGO)
    assert (window.end_utc - window.start_utc) / QUARTER == intervals
    series, gaps = _load("ercot-rt:HB_WEST", day, day)
    assert len(series) == intervals
    assert gaps.count == 0
    hourly, _ = _load("ercot-da:LZ_WEST", day, day)
    assert len(hourly) == intervals // 4


def test_iso_times_with_z_are_instants_and_end_is_exclusive() -> None:
    window = parse_window("2023-06-01T05:00:00Z", "2023-06-01T06:00:00Z", CHICAGO)
    assert window.start_utc == pd.Timestamp("2023-06-01T05:00Z")
    assert window.end_utc == pd.Timestamp("2023-06-01T06:00Z")
    series, _ = _load("ercot-rt:HB_WEST", "2023-06-01T05:00:00Z", "2023-06-01T06:00:00Z")
    assert list(series.prices.index) == list(_utc_stamps("2023-06-01T05:00", 4))


def test_iso_time_with_offset_and_local_time_without_offset() -> None:
    with_offset = parse_window("2023-06-01T00:00:00-05:00", "2023-06-01T01:00:00-05:00", CHICAGO)
    assert with_offset.start_utc == pd.Timestamp("2023-06-01T05:00Z")
    local = parse_window("2023-06-01T14:00", "2023-06-01T15:00", CHICAGO)
    assert local.start_utc == pd.Timestamp("2023-06-01T19:00Z")  # CDT = UTC-5
    assert local.end_utc == pd.Timestamp("2023-06-01T20:00Z")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2023-06-02", "2023-06-01"),
        ("2023-06-01T06:00:00Z", "2023-06-01T05:00:00Z"),
        ("2023-06-01T05:00:00Z", "2023-06-01T05:00:00Z"),
    ],
)
def test_end_before_start_is_an_error(start: str, end: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_window(start, end, CHICAGO)
    message = str(info.value)
    assert "--end" in message
    assert "--start" in message
    assert repr(end) in message


@pytest.mark.parametrize("text", ["nonsense", "2023-02-30", ""])
def test_unreadable_start_names_the_option(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_window(text, "2023-12-31", CHICAGO)
    assert "--start" in str(info.value)
    assert "YYYY-MM-DD" in str(info.value)


@pytest.mark.parametrize("local", ["2023-03-12T02:30", "2023-11-05T01:30"])
def test_nonexistent_or_ambiguous_local_time_asks_for_an_offset(local: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_window(local, "2023-11-30", CHICAGO)
    message = str(info.value)
    assert "DST" in message
    assert "UTC offset" in message


# --------------------------------------------------------------------------------------------------
# CSV sources


def test_csv_source_syntax(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "p.csv", _iso_z(_utc_stamps("2023-01-01", 4)), ["1", "2", "3", "4"])
    source = parse_source(f"{path}:LMP", timezone=CHICAGO)
    assert isinstance(source, CsvPriceSource)
    assert source.path == path
    assert source.column == "LMP"
    assert source.timezone == CHICAGO
    assert parse_source(f"{path}:LMP").timezone == "UTC"


def test_csv_gaps_reported_and_not_filled(tmp_path: Path) -> None:
    stamps = _utc_stamps("2023-06-01T00:00", 96)
    values = [f"{20.0 + i:.2f}" for i in range(96)]
    blank = 10  # an empty cell is a missing interval
    values[blank] = ""
    dropped = set(range(40, 46))  # six rows absent from the file: the longest run
    keep = [i for i in range(96) if i not in dropped]
    path = _write_csv(tmp_path / "gappy.csv", [_iso_z(stamps)[i] for i in keep], [values[i] for i in keep])

    source = CsvPriceSource(path, "LMP")
    start, end = stamps[0], stamps[-1] + QUARTER
    series = source.load(start, end)
    gaps = series.gaps(start, end)
    assert series.interval == QUARTER
    assert gaps.expected_intervals == 96
    assert gaps.count == 7
    assert gaps.longest_intervals == 6
    assert gaps.longest_start_utc == stamps[40].strftime("%Y-%m-%dT%H:%M:%SZ")
    # not filled: the dropped rows are absent and the empty cell stays empty
    for i in dropped:
        assert stamps[i] not in series.prices.index
    assert np.isnan(series.prices[stamps[blank]])
    assert series.prices.dropna().size == 96 - 7
    assert series.prices[stamps[11]] == pytest.approx(31.0)


def test_csv_window_partly_outside_file_is_outside_coverage_not_a_gap(tmp_path: Path) -> None:
    stamps = _utc_stamps("2023-06-01T05:00", 48)  # the first half of the local day
    path = _write_csv(tmp_path / "half.csv", _iso_z(stamps), ["1.0"] * 48)
    series, gaps = _load(f"{path}:LMP", "2023-06-01", "2023-06-01", timezone=CHICAGO)
    assert len(series) == 48
    assert gaps.count == 0
    assert gaps.outside_intervals == 48
    assert gaps.outside_spans_utc == (("2023-06-01T17:00:00Z", "2023-06-02T05:00:00Z"),)


def test_csv_in_utc_across_dst_fall_back_day(tmp_path: Path) -> None:
    stamps = _utc_stamps("2023-11-04T00:00", 96 * 3)
    path = _write_csv(tmp_path / "utc.csv", _iso_z(stamps), [f"{i % 50}.5" for i in range(len(stamps))])
    series, gaps = _load(f"{path}:LMP", "2023-11-05", "2023-11-05", timezone=CHICAGO)
    assert len(series) == 100
    assert gaps.count == 0
    assert series.prices.index[0] == pd.Timestamp("2023-11-05T05:00Z")
    assert series.prices.index[-1] == pd.Timestamp("2023-11-06T05:45Z")


def test_csv_with_utc_offsets_across_fall_back_day(tmp_path: Path) -> None:
    local = pd.date_range("2023-11-05T00:00", periods=100, freq="15min", tz=CHICAGO)
    stamps = [t.isoformat() for t in local]  # ...T01:00:00-05:00 and ...T01:00:00-06:00 both appear
    assert len(set(stamps)) == 100
    path = _write_csv(tmp_path / "offsets.csv", stamps, ["42"] * 100)
    series, gaps = _load(f"{path}:LMP", "2023-11-05", "2023-11-05", timezone=CHICAGO)
    assert len(series) == 100
    assert gaps.count == 0


def test_csv_written_in_local_time_on_fall_back_is_a_clear_error(tmp_path: Path) -> None:
    local = pd.date_range("2023-11-05T00:00", periods=100, freq="15min", tz=CHICAGO)
    # local wall-clock times labelled as UTC: 01:00-01:45 twice
    mislabelled = list(local.tz_localize(None).strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = _write_csv(tmp_path / "local.csv", mislabelled, ["30"] * 100)
    with pytest.raises(DataError) as info:
        _load(f"{path}:LMP", "2023-11-05", "2023-11-05", timezone=CHICAGO)
    message = str(info.value)
    assert "2023-11-05T01:00:00" in message
    assert "more than once" in message
    assert "DST" in message
    assert str(path) in message


def test_csv_missing_interval_start_column(tmp_path: Path) -> None:
    path = tmp_path / "no_time.csv"
    path.write_text("time,LMP\n2023-01-01T06:00:00Z,1\n2023-01-01T06:15:00Z,2\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        parse_source(f"{path}:LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-01T07:00Z"))
    message = str(info.value)
    assert "missing column 'interval_start_utc'" in message
    assert "time, LMP" not in message  # a file of another kind is not quoted (it may be any file)


def test_csv_unknown_price_column_names_available_columns(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text(
        "interval_start_utc,interval_start_local,NODE_A,NODE_B\n"
        "2023-01-01T06:00:00Z,2023-01-01T00:00:00-06:00,1,2\n"
        "2023-01-01T06:15:00Z,2023-01-01T00:15:00-06:00,3,4\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as info:
        parse_source(f"{path}:NODE_C").load(
            pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-01T07:00Z")
        )
    message = str(info.value)
    assert "'NODE_C'" in message
    assert "NODE_A, NODE_B" in message
    assert "interval_start_local" not in message.split("found:")[1]


def test_csv_unparsable_number_names_row_and_value(tmp_path: Path) -> None:
    stamps = _iso_z(_utc_stamps("2023-01-01T06:00", 8))
    values = ["10", "11", "12", "1O.5", "14", "15", "16", "17"]  # letter O instead of zero
    path = _write_csv(tmp_path / "typo.csv", stamps, values)
    with pytest.raises(DataError) as info:
        parse_source(f"{path}:LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-01T08:00Z"))
    message = str(info.value)
    assert "row 5" in message  # header is line 1, the bad value is the 4th data row
    assert "'1O.5'" in message
    assert "LMP" in message


def test_csv_unparsable_timestamp_names_row_and_value(tmp_path: Path) -> None:
    stamps = _iso_z(_utc_stamps("2023-01-01T06:00", 4))
    stamps[2] = "yesterday"
    path = _write_csv(tmp_path / "badtime.csv", stamps, ["1", "2", "3", "4"])
    with pytest.raises(DataError) as info:
        parse_source(f"{path}:LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-01T08:00Z"))
    assert "row 4" in str(info.value)
    assert "'yesterday'" in str(info.value)


def test_csv_off_grid_timestamp(tmp_path: Path) -> None:
    stamps = _iso_z(_utc_stamps("2023-01-01T06:00", 12))
    stamps[5] = "2023-01-01T07:17:00Z"
    path = _write_csv(tmp_path / "offgrid.csv", stamps, ["5"] * 12)
    with pytest.raises(DataError) as info:
        parse_source(f"{path}:LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-01T09:00Z"))
    message = str(info.value)
    assert "07:17" in message
    assert "grid" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (bytes(range(256)) * 4, "not a CSV text file: a NUL byte at offset 0"),
        (bytes(range(1, 256)) * 4, "not UTF-8 text: byte 127 (0x80)"),
        (b"hello world\nthis is not a price file\n", "interval_start_utc"),
        (b"interval_start_utc,LMP\n", "at least two rows"),
        (b"interval_start_utc,LMP\n2023-01-01T06:00:00Z,1\n", "at least two rows"),
    ],
    ids=["empty", "binary", "binary-without-nul", "prose", "header-only", "one-row"],
)
def test_csv_empty_or_garbage_file_is_a_data_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        parse_source(f"{path}:LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-02T06:00Z"))
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_csv_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match="not found"):
        parse_source(f"{path}:LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-02T06:00Z"))


def test_csv_window_outside_file(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "june.csv", _iso_z(_utc_stamps("2023-06-01", 96)), ["7"] * 96)
    with pytest.raises(DataError) as info:
        _load(f"{path}:LMP", "2023-08-01", "2023-08-02", timezone=CHICAGO)
    message = str(info.value)
    assert "outside" in message
    assert "2023-06-01T00:00:00+00:00" in message  # what the file covers
    assert "2023-08-01T05:00:00+00:00" in message  # what was asked


def test_csv_hourly_interval_is_inferred(tmp_path: Path) -> None:
    stamps = _utc_stamps("2023-01-01T06:00", 48, freq="1h")
    path = _write_csv(tmp_path / "hourly.csv", _iso_z(stamps), ["3"] * 48)
    series, gaps = _load(f"{path}:LMP", "2023-01-01", "2023-01-01", timezone=CHICAGO)
    assert series.interval == pd.Timedelta(hours=1)
    assert len(series) == 24
    assert gaps.count == 0


# --------------------------------------------------------------------------------------------------
# SOURCE strings


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ercot-rt", "MARKET:POINT"),
        ("HB_WEST", "MARKET:POINT"),
        ("ercot-rt:", "after ':'"),
        ("pjm-rt:WEST", "unknown market 'pjm-rt'"),
        ("ERCOT:HB_WEST", "unknown market 'ERCOT'"),
    ],
)
def test_malformed_source_strings(spec: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        parse_source(spec)
    assert expected in str(info.value)


def test_unknown_market_lists_bundled_markets() -> None:
    with pytest.raises(DataError) as info:
        parse_source("nordpool:SE3")
    message = str(info.value)
    for market in ("ercot-rt", "ercot-da", "caiso-rt"):
        assert market in message
    with pytest.raises(DataError, match="bundled markets"):
        BundledPriceSource("nordpool", "SE3")


@pytest.mark.parametrize(
    ("spec", "listed", "not_listed"),
    [
        ("ercot-rt:HB_NOWHERE", ["HB_WEST", "HB_NORTH", "HB_HOUSTON"], ["LZ_WEST"]),
        ("ercot-rt:LZ_WEST", ["HB_WEST"], []),  # load zones exist only day-ahead
        ("ercot-da:LZ_EAST", ["LZ_WEST", "HB_WEST"], []),
        ("caiso-rt:SP15_Energy", ["NP15", "SP15", "ZP26"], ["_Energy", "_LMP"]),
    ],
)
def test_unknown_price_point_lists_available_points(
    spec: str, listed: list[str], not_listed: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        parse_source(spec)
    message = str(info.value)
    point = spec.split(":")[1]
    assert repr(point) in message
    for name in listed:
        assert name in message
    available = message.split("available:")[1]
    for fragment in not_listed:
        assert fragment not in available


def test_source_with_nothing_before_colon_says_so() -> None:
    with pytest.raises(DataError) as info:
        parse_source(":LMP").load(pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-02T06:00Z"))
    message = str(info.value)
    assert "':LMP'" in message
    assert not message.startswith(".:")
