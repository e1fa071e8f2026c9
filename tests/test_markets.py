"""Markets, the zone of dates, the day-ahead clock per market, and coverage against gaps.

Every CSV here is written by the test from the bundled ERCOT prices, under other file and column
names, with ``interval_start_local`` in another market's offsets (New York for NYISO, EST all year
for MISO), a hole, and an end before the window — the kind of file a user brings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from powerfirst.backtest.runner import prepare_backtest
from powerfirst.cli.app import app
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.information import MarketData, day_ahead_published_until
from powerfirst.market.markets import MARKETS, find_market
from powerfirst.market.sources import parse_source, read_bundled_table
from powerfirst.market.window import parse_window
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

ROOT = Path(__file__).resolve().parents[1]
WEST_TEXAS = ROOT / "examples" / "west-texas-fixed-block.yaml"  # contract: ercot-rt:HB_WEST
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NY = "America/New_York"
HOLE = (40, 43)  # rows left out of the NYISO-like file: a 3-interval hole


def _ercot_prices(start_utc: str, count: int) -> pd.Series:
    table = read_bundled_table("ercot", "ercot_rt_hub_spp_15min_2023.csv.gz")
    prices: pd.Series = table["HB_WEST"][table.index >= pd.Timestamp(start_utc)].iloc[:count]
    return prices


def _write(
    path: Path, prices: pd.Series, column: str, local_zone: str | None, drop: range = range(0)
) -> Path:
    index = pd.DatetimeIndex(prices.index)
    frame = pd.DataFrame({"interval_start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ")})
    if local_zone is not None:
        frame["interval_start_local"] = [t.isoformat() for t in index.tz_convert(local_zone)]
    frame[column] = prices.to_numpy()
    frame = frame.drop(index=list(drop))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def nyiso_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2023-07-03 00:00 to 2023-07-05 12:00 New York time (EDT), 15 min, a hole of 3 intervals."""
    prices = _ercot_prices("2023-07-03T04:00Z", 2 * 96 + 48)
    path = tmp_path_factory.mktemp("nyiso") / "nyiso_zone_j_rt.csv"
    return _write(path, prices, "ZONE_J_LBMP", NY, drop=range(*HOLE))


@pytest.fixture(scope="module")
def nyiso_run(nyiso_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A backtest of the West Texas site (whose contract names ercot-rt) on the NYISO-like CSV, over
    three days of which the file covers two and a half."""
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(WEST_TEXAS),
            "--start",
            "2023-07-03",
            "--end",
            "2023-07-05",
            "--prices",
            f"{nyiso_csv}:ZONE_J_LBMP",
            "--strategy",
            "perfect",
            "--strategy",
            "breakeven",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.stdout), out


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --------------------------------------------------------------------------------------------------
# (3) the zone of plain dates


def test_nyiso_csv_dates_are_read_in_new_york_time_and_said(nyiso_run: tuple[str, Path]) -> None:
    stdout, out = nyiso_run
    window = _json(out / "breakeven" / "summary.json")["window"]
    # New York midnight (EDT), not Central: the first hour is not lost
    assert window["start_utc"] == "2023-07-03T04:00:00+00:00"
    assert window["end_utc"] == "2023-07-06T04:00:00+00:00"
    assert window["timezone"] == NY
    assert "interval_start_local" in window["timezone_source"]
    assert window["market"] is None  # a CSV without market: nothing assumed
    assert _json(out / "comparison.json")["window"]["timezone"] == NY
    line = next(x for x in stdout.splitlines() if x.startswith("dates read in"))
    assert line.startswith(f"dates read in {NY} (from ")
    assert "interval_start_local" in line


@pytest.mark.parametrize("site_kind", ["bare", "ercot contract"])
def test_csv_without_local_column_and_no_zone_is_an_error_naming_the_options(
    tmp_path: Path, site_kind: str, fleet_spec: Callable[..., dict[str, Any]]
) -> None:
    path = _write(tmp_path / "pjm_west.csv", _ercot_prices("2023-07-03T04:00Z", 96), "WEST_HUB", None)
    site: Site = (
        parse_site(
            {
                "name": "csv only",
                "grid": {"connection_limit_mw": 10},
                "contract": {"kind": "index", "price_series": f"{path}:WEST_HUB"},
                "fleets": [fleet_spec()],
            }
        )
        if site_kind == "bare"
        else load_site(WEST_TEXAS)
    )
    with pytest.raises(ConfigError) as info:
        prepare_backtest(site, "2023-07-03", "2023-07-03", prices=f"{path}:WEST_HUB")
    message = str(info.value)
    for word in ("interval_start_local", "timezone:", "market:", "--market", "nyiso", "pjm", "miso"):
        assert word in message
    # with the market named, the dates are that market's
    bt = prepare_backtest(site, "2023-07-03", "2023-07-03", prices=f"{path}:WEST_HUB", market="pjm")
    assert bt.window.timezone == NY
    assert bt.window.start_utc == pd.Timestamp("2023-07-03T04:00Z")
    assert "PJM" in bt.window.origin and "--market" in bt.window.origin
    facts = bt.window_summary()
    assert facts.market == "pjm" and facts.market_source == "--market"
    assert facts.market_facts is not None and facts.market_facts.da_publish_local_time == "13:30"


def test_local_offsets_that_conflict_with_the_site_zone_or_market_are_errors(nyiso_csv: Path) -> None:
    site = load_site(WEST_TEXAS)
    spec = f"{nyiso_csv}:ZONE_J_LBMP"
    central = site.model_copy(update={"timezone": "America/Chicago"})
    with pytest.raises(DataError, match=r"America/New_York.*site's timezone is America/Chicago"):
        prepare_backtest(central, "2023-07-03", "2023-07-03", prices=spec)
    with pytest.raises(DataError, match=r"America/New_York.*--market is ERCOT.*America/Chicago"):
        prepare_backtest(site, "2023-07-03", "2023-07-03", prices=spec, market="ercot")
    # agreeing facts are accepted
    bt = prepare_backtest(site, "2023-07-03", "2023-07-03", prices=spec, market="nyiso")
    assert bt.window.timezone == NY and bt.iso_market is MARKETS["nyiso"]


def test_miso_est_offsets_are_ambiguous_in_summer_until_the_market_is_named(tmp_path: Path) -> None:
    # MISO's operating day is on EST all year: in July its offsets (-05:00) are also Central daylight time
    path = _write(
        tmp_path / "miso_indiana_hub.csv", _ercot_prices("2023-07-03T05:00Z", 96), "INDIANA", "Etc/GMT+5"
    )
    site = load_site(WEST_TEXAS)
    with pytest.raises(DataError, match=r"several zones \(America/Chicago, Etc/GMT\+5"):
        prepare_backtest(site, "2023-07-03", "2023-07-03", prices=f"{path}:INDIANA")
    bt = prepare_backtest(site, "2023-07-03", "2023-07-03", prices=f"{path}:INDIANA", market="miso")
    assert bt.window.timezone == "Etc/GMT+5"
    assert bt.window.start_utc == pd.Timestamp("2023-07-03T05:00Z")
    assert bt.gaps.total_missing == 0


# --------------------------------------------------------------------------------------------------
# (5) markets


@pytest.mark.parametrize("name", ["nyso", "ercot-rt", "ISO New England"])
def test_unknown_market_is_an_error_naming_the_options(
    name: str, tmp_path: Path, fleet_spec: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(
        ConfigError, match=r"market.*unknown market.*ercot, caiso, spp, miso, nyiso, isone, pjm"
    ):
        parse_site(
            {
                "name": "x",
                "market": name,
                "grid": {"connection_limit_mw": 10},
                "contract": {"kind": "index", "price_series": "ercot-rt:HB_WEST"},
                "fleets": [fleet_spec()],
            }
        )
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(WEST_TEXAS),
            "--start",
            "2023-07-03",
            "--end",
            "2023-07-03",
            "--market",
            name,
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code != 0
    text = ANSI.sub("", result.output)
    assert "--market" in text and "pjm" in text and "Traceback" not in text


def test_market_names_and_bundled_sources() -> None:
    assert find_market("ISO-NE") is MARKETS["isone"]
    assert find_market("NYISO").timezone == NY
    assert find_market("miso").timezone == "Etc/GMT+5"  # EST all year
    assert parse_source("ercot-rt:HB_WEST").market is MARKETS["ercot"]
    assert parse_source("caiso-rt:SP15").market is MARKETS["caiso"]
    with pytest.raises(ConfigError, match=r"--market = 'nyiso'.*ERCOT data"):
        prepare_backtest(load_site(WEST_TEXAS), "2023-07-03", "2023-07-03", market="nyiso")


@pytest.mark.parametrize(
    ("market", "issued_utc", "until_utc"),
    [
        # 12:00 EDT: NYISO (11:00) has published tomorrow, PJM and ISO-NE (13:30) have not
        ("nyiso", "2023-07-10T16:00Z", "2023-07-12T04:00Z"),
        ("pjm", "2023-07-10T16:00Z", "2023-07-11T04:00Z"),
        ("isone", "2023-07-10T17:30Z", "2023-07-12T04:00Z"),
        # 13:00: CAISO publishes at 13:00 Pacific, ERCOT at 13:30 Central, SPP at 14:00 Central
        ("caiso", "2023-07-10T20:00Z", "2023-07-12T07:00Z"),
        ("ercot", "2023-07-10T18:00Z", "2023-07-11T05:00Z"),
        ("ercot", "2023-07-10T18:30Z", "2023-07-12T05:00Z"),
        ("spp", "2023-07-10T18:30Z", "2023-07-11T05:00Z"),
        ("spp", "2023-07-10T19:00Z", "2023-07-12T05:00Z"),
        # MISO: days on EST (UTC-5) all year, published at 13:30 Eastern prevailing (17:30Z in July)
        ("miso", "2023-07-10T17:29Z", "2023-07-11T05:00Z"),
        ("miso", "2023-07-10T17:30Z", "2023-07-12T05:00Z"),
        ("miso", "2023-01-10T18:30Z", "2023-01-12T05:00Z"),
    ],
)
def test_day_ahead_publication_per_market(market: str, issued_utc: str, until_utc: str) -> None:
    published = day_ahead_published_until(pd.Timestamp(issued_utc), MARKETS[market])
    assert published == pd.Timestamp(until_utc)


def _hourly_market_data(market: str | None) -> MarketData:
    hours = pd.date_range("2023-07-08T00:00Z", periods=24 * 6, freq="h").as_unit("ns")
    return MarketData(
        timezone=NY,
        rt_price_usd_per_mwh=pd.Series(
            np.arange(hours.size * 4.0), index=pd.date_range(hours[0], periods=hours.size * 4, freq="15min")
        ),
        rt_interval=pd.Timedelta(minutes=15),
        da_price_usd_per_mwh=pd.Series(np.arange(hours.size, dtype=float), index=hours),
        load_mw=pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC")),
        market=MARKETS[market] if market else None,
    )


def test_the_market_clock_reveals_day_ahead_prices_at_the_markets_time() -> None:
    issued = pd.Timestamp("2023-07-10T16:00Z")  # 12:00 in New York
    seen = {m: _hourly_market_data(m).clock().known_at(issued).da_price_usd_per_mwh for m in ("nyiso", "pjm")}
    assert seen["nyiso"].index.max() == pd.Timestamp("2023-07-12T03:00Z")  # all of 2023-07-11 (EDT)
    assert seen["pjm"].index.max() == pd.Timestamp("2023-07-11T03:00Z")  # only today
    with pytest.raises(DataError, match=r"market: in the site file or --market \(one of ercot.*pjm\)"):
        _hourly_market_data(None).clock()


def test_day_ahead_csv_without_market_is_an_error(nyiso_csv: Path) -> None:
    spec = f"{nyiso_csv}:ZONE_J_LBMP"
    with pytest.raises(ConfigError, match=r"--day-ahead.*market: in the site file or --market \(one of"):
        prepare_backtest(load_site(WEST_TEXAS), "2023-07-03", "2023-07-03", prices=spec, day_ahead=spec)
    bt = prepare_backtest(
        load_site(WEST_TEXAS), "2023-07-03", "2023-07-03", prices=spec, day_ahead=spec, market="nyiso"
    )
    assert bt.market is not None and bt.market.market is MARKETS["nyiso"]
    with pytest.raises(
        ConfigError, match=r"--day-ahead ercot-da:HB_WEST is ERCOT data, but the market is NYISO"
    ):
        prepare_backtest(
            load_site(WEST_TEXAS),
            "2023-07-03",
            "2023-07-03",
            prices=spec,
            day_ahead="ercot-da:HB_WEST",
            market="nyiso",
        )


# --------------------------------------------------------------------------------------------------
# (4) coverage against gaps


def test_window_beyond_the_file_is_outside_coverage_not_gaps(nyiso_csv: Path) -> None:
    source = parse_source(f"{nyiso_csv}:ZONE_J_LBMP", timezone=NY)
    start, end = pd.Timestamp("2023-07-03T04:00Z"), pd.Timestamp("2023-07-06T04:00Z")
    gaps = source.load(start, end).gaps(start, end)
    assert gaps.expected_intervals == 3 * 96
    assert gaps.count == 3  # the hole inside the file
    assert gaps.longest_intervals == 3
    assert gaps.longest_start_utc == (start + HOLE[0] * pd.Timedelta(minutes=15)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert gaps.outside_intervals == 48  # 2023-07-05 12:00 to 24:00 EDT
    assert gaps.outside_spans_utc == (("2023-07-05T16:00:00Z", "2023-07-06T04:00:00Z"),)
    assert gaps.coverage_utc == ("2023-07-03T04:00:00Z", "2023-07-05T16:00:00Z")


def test_coverage_and_gaps_in_summary_comparison_console_and_report(nyiso_run: tuple[str, Path]) -> None:
    stdout, out = nyiso_run
    for gaps in (
        _json(out / "breakeven" / "summary.json")["data_gaps"],
        _json(out / "comparison.json")["data_gaps"],
    ):
        assert gaps["count"] == 3
        assert gaps["longest_intervals"] == 3
        assert gaps["outside_coverage"]["intervals"] == 48
        assert gaps["outside_coverage"]["spans_utc"] == [
            {"start_utc": "2023-07-05T16:00:00Z", "end_utc": "2023-07-06T04:00:00Z"}
        ]
        assert gaps["outside_coverage"]["coverage_end_utc"] == "2023-07-05T16:00:00Z"
    assert _json(out / "breakeven" / "summary.json")["intervals"] == 3 * 96 - 3 - 48
    line = next(x for x in stdout.splitlines() if x.startswith("intervals:"))
    assert "inside the data: 3 missing (longest 3 from 2023-07-03T14:00:00Z)" in line
    assert "outside the data's coverage: 48 intervals (2023-07-05T16:00:00Z to 2023-07-06T04:00:00Z" in line
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "3 missing intervals inside the data" in report
    assert "48 intervals of the window lie outside the data&#x27;s coverage" in report


def test_a_local_time_repeated_or_skipped_by_a_clock_change_names_the_times_meant() -> None:
    """The error used to end with pandas' hint about an 'ambiguous' argument the user cannot set."""
    with pytest.raises(ConfigError) as repeated:
        parse_window("2024-11-03T01:30", "2024-11-03T05:00", "America/Chicago")
    text = str(repeated.value)
    assert "happens twice" in text and "ambiguous" not in text
    assert "2024-11-03T01:30-05:00 (the first) or 2024-11-03T01:30-06:00 (the second)" in text
    with pytest.raises(ConfigError, match=r"2024-03-10T02:30 does not exist in America/Chicago"):
        parse_window("2024-03-10T02:30", "2024-03-10T05:00", "America/Chicago")
