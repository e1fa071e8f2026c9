"""Every data file is read strictly, and the window lies on the prices' grid (issue 10, part 2).

Each test is a bad input a hostile user gave: an off-grid window or a shifted CSV, a CSV mixing 5-
and 15-minute rows, duplicate column names, ragged rows, naive timestamps, bad bytes, a column
name with ':', a file that is not a CSV of the expected kind. Each must be a clear DataError or
ConfigError naming the file, the row or the option — never a silent guess.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.backtest.realised import build_stream_arrays
from powerfirst.backtest.runner import prepare_backtest
from powerfirst.bitcoin.hashprice import CsvHashprice, NetworkCsvHashprice
from powerfirst.cli import forecast as cli_forecast
from powerfirst.cli.app import app
from powerfirst.errors import ConfigError, DataError, PowerfirstError
from powerfirst.forecast import evaluate_forecasts
from powerfirst.market.grid_programs import fourcp_peaks_csv
from powerfirst.market.sources import parse_source
from powerfirst.market.user_inputs import read_ancillary_csv, read_load_csv
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.workloads.demand import demand_from_csv

ROOT = Path(__file__).resolve().parents[1]
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
T0 = pd.Timestamp("2023-01-01T06:00Z")
T1 = pd.Timestamp("2023-01-02T06:00Z")


def _prices_csv(path: Path, stamps: list[str], column: str = "P", values: list[str] | None = None) -> Path:
    values = values if values is not None else [f"{20 + i % 7}" for i in range(len(stamps))]
    lines = [f"interval_start_utc,{column}"] + [f"{t},{v}" for t, v in zip(stamps, values, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _grid(start: str, periods: int, minutes: int) -> list[str]:
    index = pd.date_range(start, periods=periods, freq=f"{minutes}min", tz="UTC")
    return list(index.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _load(spec: str) -> pd.Series:
    return parse_source(spec).load(T0, T1).prices


# --- the window on the series' grid -------------------------------------------------------------


def test_a_window_starting_off_the_bundled_grid_is_rejected_with_the_nearest_valid_times() -> None:
    site = load_site(MINING)
    with pytest.raises(ConfigError) as info:
        prepare_backtest(site, "2023-01-01T06:07:00Z", "2023-01-02T06:00:00Z")
    message = str(info.value)
    assert "--start = '2023-01-01T06:07:00Z'" in message
    assert "nearest valid times: 2023-01-01T06:00:00Z or 2023-01-01T06:15:00Z" in message
    with pytest.raises(
        ConfigError, match=r"--end = '2023-01-02T06:05:00Z'.*06:00:00Z or 2023-01-02T06:15:00Z"
    ):
        prepare_backtest(site, "2023-01-01T06:00:00Z", "2023-01-02T06:05:00Z")


def test_prices_command_rejects_an_off_grid_start() -> None:
    result = CliRunner().invoke(
        app, ["prices", "ercot-rt:HB_WEST", "--start", "2023-01-01T06:07:00Z", "--end", "2023-01-02"]
    )
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "nearest valid times" in result.output


def test_a_csv_shifted_by_seven_minutes_is_rejected_not_booked_as_all_missing(tmp_path: Path) -> None:
    path = _prices_csv(tmp_path / "shifted.csv", _grid("2022-12-31T00:07Z", 4 * 24 * 4, 15))
    site = load_site(MINING)
    with pytest.raises(ConfigError) as info:
        prepare_backtest(site, "2023-01-01", "2023-01-01", prices=f"{path}:P", market="ercot")
    message = str(info.value)
    assert "not on the 15 min interval grid" in message
    assert "2023-01-01T05:52:00Z or 2023-01-01T06:07:00Z" in message


def test_a_window_on_the_grid_of_a_shifted_csv_runs(tmp_path: Path) -> None:
    path = _prices_csv(tmp_path / "shifted.csv", _grid("2022-12-31T00:07Z", 4 * 24 * 4, 15))
    bt = prepare_backtest(
        load_site(MINING), "2023-01-01T06:07:00Z", "2023-01-01T12:07:00Z", prices=f"{path}:P", market="ercot"
    )
    assert bt.gaps.total_missing == 0
    assert len(bt.prices) == 24


# --- one interval length per file -----------------------------------------------------------------


def test_a_csv_mixing_5_and_15_minute_rows_is_an_error_naming_the_row(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T06:00Z", 60, 5)  # 06:00 .. 10:55 every 5 min
    stamps += _grid("2023-01-01T11:00Z", 40, 15)  # then every 15 min
    path = _prices_csv(tmp_path / "mixed.csv", stamps)
    with pytest.raises(DataError) as info:
        _load(f"{path}:P")
    message = str(info.value)
    assert "row 63: interval_start_utc 2023-01-01T11:15:00Z is 15 min after" in message
    assert "interval length changes" in message
    assert str(path) in message


def test_a_15_minute_file_turning_into_5_minute_rows_is_an_error(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T06:00Z", 60, 15) + _grid(
        "2023-01-01T21:00Z", 10, 5
    )  # 06:00 .. 20:45, 21:00 ..
    path = _prices_csv(tmp_path / "finer.csv", stamps)
    with pytest.raises(DataError, match=r"row 63: interval_start_utc 2023-01-01T21:05:00Z is 5 min"):
        _load(f"{path}:P")


def test_a_single_longer_step_is_a_gap_not_a_change_of_resolution(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T06:00Z", 96, 15)
    del stamps[10:22]  # three hours missing: one step of 3 h 15 min
    del stamps[40:41]  # and a single quarter-hour, further on
    path = _prices_csv(tmp_path / "holes.csv", stamps)
    series = parse_source(f"{path}:P").load(T0, T1)
    assert series.interval == pd.Timedelta(minutes=15)
    assert series.gaps(T0, T1).count == 13


def test_a_row_off_the_grid_is_named(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T06:00Z", 20, 15)
    stamps[7] = "2023-01-01T07:50:00Z"  # 07:45 written as 07:50
    path = _prices_csv(tmp_path / "off.csv", stamps)
    with pytest.raises(DataError, match=r"row 9: interval_start_utc 2023-01-01T07:50:00Z"):
        _load(f"{path}:P")


# --- the header and the rows --------------------------------------------------------------------


def test_duplicate_column_names_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        "interval_start_utc,P,P\n" + "".join(f"{t},1,2\n" for t in _grid("2023-01-01T06:00Z", 8, 15)),
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"column 'P' appears twice in the header \(columns 2 and 3\)"):
        _load(f"{path}:P")


def test_a_row_with_more_fields_than_the_header_is_an_error_naming_the_row(tmp_path: Path) -> None:
    rows = [f"{t},1" for t in _grid("2023-01-01T06:00Z", 8, 15)]
    rows[4] += ",7"
    path = tmp_path / "ragged.csv"
    path.write_text("interval_start_utc,P\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 6 has 3 fields, more than the header's 2 columns"):
        _load(f"{path}:P")


def test_bad_bytes_are_an_error_naming_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = "interval_start_utc,Préis\n" + "".join(f"{t},1\n" for t in _grid("2023-01-01T06:00Z", 4, 15))
    path.write_bytes(text.encode("latin-1"))
    offset = len(b"interval_start_utc,Pr")
    with pytest.raises(DataError, match=rf"not UTF-8 text: byte {offset} \(0xe9\)"):
        _load(f"{path}:Préis")


def test_a_file_of_another_kind_is_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/false\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        _load(f"{path}:P")
    message = str(info.value)
    assert "missing column 'interval_start_utc'" in message
    assert "root" not in message.replace(str(path), "")


# --- naive timestamps ---------------------------------------------------------------------------


def test_a_naive_timestamp_in_a_price_csv_is_an_error_naming_the_row(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T06:00Z", 8, 15)
    stamps[3] = stamps[3].removesuffix("Z")
    path = _prices_csv(tmp_path / "naive.csv", stamps)
    with pytest.raises(
        DataError, match=r"row 5: interval_start_utc = '2023-01-01T06:45:00' has no time zone"
    ):
        _load(f"{path}:P")


def test_a_date_without_a_time_is_naive_not_utc(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T00:00Z", 4, 24 * 60)
    stamps[2] = "2023-01-03"  # "-03" is the day, not a UTC offset
    path = _prices_csv(tmp_path / "dates.csv", stamps)
    with pytest.raises(DataError, match=r"row 4: interval_start_utc = '2023-01-03' has no time zone"):
        _load(f"{path}:P")


def test_naive_timestamps_are_errors_in_every_reader(tmp_path: Path) -> None:
    naive = [t.removesuffix("Z") for t in _grid("2023-01-01T06:00Z", 4, 60)]
    path = tmp_path / "naive.csv"
    path.write_text(
        "interval_start_utc,mw,RRS,gpus\n" + "".join(f"{t},100,5,1\n" for t in naive), encoding="utf-8"
    )
    times = pd.date_range("2023-01-01T06:00Z", periods=4, freq="h")
    for call in (
        lambda: read_load_csv(f"{path}:mw"),
        lambda: read_ancillary_csv(path, ("RRS",)),
        lambda: demand_from_csv(path, "gpus", times),
    ):
        with pytest.raises(
            DataError, match=r"row 2: interval_start_utc = '2023-01-01T06:00:00' has no time zone"
        ):
            call()
    peaks = tmp_path / "peaks.csv"
    peaks.write_text("peak_hour_start_utc\n2023-07-15T21:00:00\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"row 2: peak_hour_start_utc = '2023-07-15T21:00:00' has no time zone"
    ):
        fourcp_peaks_csv(peaks, pd.Timedelta(minutes=15))


def test_a_4cp_peak_off_the_hour_is_an_error(tmp_path: Path) -> None:
    peaks = tmp_path / "peaks.csv"
    peaks.write_text("peak_hour_start_utc\n2023-07-15T21:07:00Z\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 2: peak_hour_start_utc = '2023-07-15T21:07:00Z' is not on the"):
        fourcp_peaks_csv(peaks, pd.Timedelta(minutes=15))


def test_a_load_file_mixing_resolutions_is_an_error(tmp_path: Path) -> None:
    stamps = _grid("2023-01-01T00:00Z", 24, 15) + _grid(
        "2023-01-01T06:00Z", 6, 60
    )  # .. 05:45, 06:00, 07:00 ..
    path = tmp_path / "load.csv"
    path.write_text("interval_start_utc,mw\n" + "".join(f"{t},100\n" for t in stamps), encoding="utf-8")
    with pytest.raises(
        DataError, match=r"row 27: interval_start_utc 2023-01-01T07:00:00Z .*interval length changes"
    ):
        read_load_csv(f"{path}:mw")


def test_hashprice_files_are_read_strictly(tmp_path: Path) -> None:
    dup = tmp_path / "hp.csv"
    dup.write_text("date_utc,hashprice_usd_per_ph_day,date_utc\n2023-01-01,50,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column 'date_utc' appears twice"):
        CsvHashprice(dup).daily(T0, T1)
    ragged = tmp_path / "net.csv"
    ragged.write_text(
        "date_utc,btc_usd,difficulty,tx_fees_btc_per_block\n2023-01-01,16000,3.5e13,0.1,9\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"row 2 has 5 fields, more than the header's 4"):
        NetworkCsvHashprice(ragged).inputs()
    hours = tmp_path / "hours.csv"
    hours.write_text("date_utc,hashprice_usd_per_ph_day\n2023-01-01T05:00:00Z,50\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 2: date_utc = '2023-01-01T05:00:00Z' is not a whole UTC day"):
        CsvHashprice(hours).daily(T0, T1)


# --- messages -----------------------------------------------------------------------------------


def test_a_column_name_with_a_colon_can_be_chosen(tmp_path: Path) -> None:
    path = _prices_csv(tmp_path / "hubs.csv", _grid("2023-01-01T06:00Z", 96, 15), column="HB:WEST")
    prices = _load(f"{path}:HB:WEST")
    assert len(prices) == 96
    load = tmp_path / "load.csv"
    load.write_text(
        "interval_start_utc,ERCOT:MW\n" + "".join(f"{t},100\n" for t in _grid("2023-01-01T06:00Z", 4, 60)),
        encoding="utf-8",
    )
    assert read_load_csv(f"{load}:ERCOT:MW").to_numpy().tolist() == [100.0] * 4


def test_a_relative_column_with_a_colon_in_a_site_file_resolves(tmp_path: Path) -> None:
    _prices_csv(tmp_path / "hubs.csv", _grid("2023-01-01T06:00Z", 96, 15), column="HB:WEST")
    data = yaml.safe_load(MINING.read_text(encoding="utf-8"))
    data["contract"]["price_series"] = "hubs.csv:HB:WEST"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    site = load_site(tmp_path / "site.yaml")
    assert site.contract.price_series == f"{tmp_path / 'hubs.csv'}:HB:WEST"
    assert len(parse_source(site.contract.price_series).load(T0, T1)) == 96


def test_a_missing_rental_price_file_is_called_a_rental_price_file(tmp_path: Path) -> None:
    data = yaml.safe_load(HYBRID.read_text(encoding="utf-8"))
    data["gpu_hall"]["rental"].pop("price_usd_per_gpu_hour")
    data["gpu_hall"]["rental"]["price_series"] = f"{tmp_path / 'rental.csv'}:usd"
    site = parse_site(data)
    times = pd.date_range("2023-01-01T06:00Z", periods=4, freq="15min")
    from powerfirst.site.compile import hall_params

    assert site.gpu_hall is not None
    hall = hall_params(site.gpu_hall, "America/Chicago", 0.25)
    with pytest.raises(DataError) as info:
        build_stream_arrays(site, times, "America/Chicago", 0.25, hall)
    message = str(info.value)
    assert message.startswith(f"rental price file {tmp_path / 'rental.csv'}: file not found")
    assert "demand" not in message


def test_every_reader_error_is_a_powerfirst_error(tmp_path: Path) -> None:
    """A NUL byte, a quote left open: errors of the csv layer, never a traceback."""
    for name, content in (
        ("nul.csv", b"interval_start_utc,P\n2023\x00,1\n"),
        ("quote.csv", b'interval_start_utc,P\n"2023,1\n'),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(PowerfirstError):
            _load(f"{path}:P")


# --- forecast evaluate on data with a long hole (CAISO has days without prices) ------------------


def _hourly_csv(path: Path, start: str, end: str, hole: tuple[str, str]) -> str:
    index = pd.date_range(start, end, freq="h", tz="UTC", inclusive="left")
    index = index[(index < pd.Timestamp(hole[0])) | (index >= pd.Timestamp(hole[1]))]
    values = 30 + 10 * np.sin(np.arange(len(index)) * 2 * np.pi / 24)
    pd.DataFrame({"interval_start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "P": values}).to_csv(
        path, index=False
    )
    return f"{path}:P"


def test_forecast_evaluation_skips_issue_times_inside_a_long_hole_and_says_so(tmp_path: Path) -> None:
    hole = ("2023-02-14T00:00Z", "2023-02-19T00:00Z")  # five days: longer than any look-back
    rt = _hourly_csv(tmp_path / "rt.csv", "2023-01-01", "2023-03-01", hole)
    rows = evaluate_forecasts(
        rt,
        None,
        2023,
        ["persistence"],
        horizon_hours=24,
        issue_every_hours=24,
        test_start_utc=pd.Timestamp("2023-02-10T00:00Z"),
        test_end_utc=pd.Timestamp("2023-02-25T00:00Z"),
        train_start_utc=pd.Timestamp("2023-01-01T00:00Z"),
        timezone="UTC",  # the CSV has no interval_start_local: its zone must be given
    )
    total = next(r for r in rows if r.lead_bucket == "all")
    # 02-17 and 02-18 00:00 have nothing to score (their 24 h lie in the hole); 02-19 00:00 has prices
    # to score but nothing settled in the 72 h before it: skipped and counted
    assert total.skipped_issues == 1
    assert total.skipped_first_utc == "2023-02-19T00:00:00+00:00"
    assert total.skipped_last_utc == "2023-02-19T00:00:00+00:00"
    assert total.n > 0


def test_forecast_evaluation_rejects_a_day_ahead_of_another_market() -> None:
    with pytest.raises(ConfigError, match=r"--day-ahead ercot-da:HB_WEST is ERCOT data, but .*caiso-rt:SP15"):
        evaluate_forecasts("caiso-rt:SP15", "ercot-da:HB_WEST", 2022, ["persistence"])


def test_forecast_evaluate_on_caiso_has_no_ercot_day_ahead_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []

    def fake(prices: str, day_ahead: str | None, *args: object, **kwargs: object) -> list[object]:
        seen.append(day_ahead)
        return []

    monkeypatch.setattr(cli_forecast, "evaluate_forecasts", fake)
    for prices in ("caiso-rt:SP15", "ercot-rt:HB_WEST"):
        result = CliRunner().invoke(
            cli_forecast.forecast_app, ["evaluate", "--prices", prices, "--test-year", "2022"]
        )
        assert result.exit_code == 0, result.output
    assert seen == [None, "ercot-da:HB_WEST"]


def test_a_demand_csv_off_the_windows_clock_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    stamps = _grid("2023-01-01T06:07Z", 6, 60)  # hourly rows at :07, the window's intervals at :00/:15/...
    path.write_text("interval_start_utc,gpus\n" + "".join(f"{t},10\n" for t in stamps), encoding="utf-8")
    times = pd.date_range("2023-01-01T07:00Z", periods=8, freq="15min")
    with pytest.raises(DataError, match=r"its 1 h grid \(from 2023-01-01T06:07:00\+00:00\) does not line up"):
        demand_from_csv(path, "gpus", times)
    holed = times.delete([1, 2, 3])  # a hole right after the first interval: still the 15 min clock
    on_clock = tmp_path / "on_clock.csv"
    on_clock.write_text(
        "interval_start_utc,gpus\n" + "".join(f"{t},10\n" for t in _grid("2023-01-01T06:30Z", 6, 60)),
        encoding="utf-8",
    )
    assert demand_from_csv(on_clock, "gpus", holed).tolist() == [10.0] * 5
