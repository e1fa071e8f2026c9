"""A user's CSVs of each market run through every strategy, rolling included, without a traceback.

For each of the seven markets a user may bring, the test writes the kind of file a user has: a name
and a price column that are not the bundled ones, ``interval_start_local`` in that market's zone,
real holes (a day missing in the history before the window, three hours inside it), and — for the
markets with day-ahead data here — a day-ahead CSV. There is no network here, so the values are
the bundled real prices (ERCOT HB_WEST, CAISO SP15 for CAISO, ERCOT HB_WEST day-ahead), relabelled
as the other markets' files: they exercise each market's zone, day-ahead clock and the paths a
user's files take, not that market's price level.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.cli.app import app
from powerfirst.market.markets import MARKETS
from powerfirst.market.sources import read_bundled_table

ROOT = Path(__file__).resolve().parents[1]
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"  # its contract names ercot-rt:HB_WEST
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STRATEGIES = ("perfect", "breakeven", "always-on", "rolling")
HISTORY = ("2023-02-01", "2023-03-24")  # UTC span of each file: across the March clock change
WINDOW = ("2023-03-20", "2023-03-21")  # market-local dates, both included
HISTORY_HOLE = ("2023-03-02T00:00Z", "2023-03-03T00:00Z")  # a day missing before the window
WINDOW_HOLE = ("2023-03-20T20:00Z", "2023-03-20T23:00Z")  # three hours missing inside it


def _relabelled(folder: str, filename: str, column: str) -> pd.Series:
    table = read_bundled_table(folder, filename)
    inside = (table.index >= pd.Timestamp(HISTORY[0], tz="UTC")) & (
        table.index < pd.Timestamp(HISTORY[1], tz="UTC")
    )
    return table.loc[inside, column].astype("float64")


def _drop(prices: pd.Series, span: tuple[str, str]) -> pd.Series:
    index = pd.DatetimeIndex(prices.index)
    return prices[(index < pd.Timestamp(span[0])) | (index >= pd.Timestamp(span[1]))]


def _write(path: Path, prices: pd.Series, column: str, zone: str) -> str:
    index = pd.DatetimeIndex(prices.index)
    frame = pd.DataFrame(
        {
            "interval_start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_start_local": [t.isoformat() for t in index.tz_convert(zone)],
            column: prices.to_numpy(),
        }
    )
    frame.to_csv(path, index=False)
    return f"{path}:{column}"


def _files(folder: Path, market: str) -> tuple[str, str | None]:
    """The user's real-time CSV (and day-ahead CSV for markets given one) in ``market``'s zone."""
    zone = MARKETS[market].timezone
    if market == "caiso":
        rt = _relabelled("caiso", "caiso_rt_lmp_15min_2023.csv.gz", "SP15_LMP")
    else:
        rt = _relabelled("ercot", "ercot_rt_hub_spp_15min_2023.csv.gz", "HB_WEST")
    rt = _drop(_drop(rt, HISTORY_HOLE), WINDOW_HOLE)
    prices = _write(folder / f"{market}_node_prices.csv", rt, f"{market.upper()}_NODE_USD", zone)
    if market not in {"ercot", "nyiso", "miso"}:
        return prices, None
    da = _relabelled("ercot", "ercot_dam_spp_hourly_2023.csv.gz", "HB_WEST")
    return prices, _write(folder / f"{market}_dayahead.csv", da, "DA_NODE", zone)


def _run(tmp: Path, market: str) -> tuple[int, str, Path]:
    prices, day_ahead = _files(tmp, market)
    site = yaml.safe_load(MINING.read_text(encoding="utf-8"))
    site["name"] = f"a {MARKETS[market].label} mining site"
    site["market"] = market
    site["strategies"] = {"rolling": {"forecast": "gbm" if day_ahead else "persistence"}}
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    out = tmp / "out"
    args = ["backtest", str(path), "--start", WINDOW[0], "--end", WINDOW[1], "--out", str(out)]
    args += ["--prices", prices]
    if day_ahead:
        args += ["--day-ahead", day_ahead]
    for name in STRATEGIES:
        args += ["--strategy", name]
    result = CliRunner().invoke(app, args)
    return result.exit_code, ANSI.sub("", result.output), out


@pytest.mark.parametrize("market", list(MARKETS))
def test_a_users_csvs_of_each_market_run_through_every_strategy(tmp_path: Path, market: str) -> None:
    code, output, out = _run(tmp_path, market)
    assert code == 0, output
    assert "Traceback" not in output
    facts = MARKETS[market]
    # dates were read in the market's zone, and the console says so
    assert facts.timezone in output
    summaries: dict[str, dict[str, Any]] = {
        name: json.loads((out / name / "summary.json").read_text(encoding="utf-8")) for name in STRATEGIES
    }
    window = summaries["perfect"]["window"]
    assert window["timezone"] == facts.timezone
    assert window["market"] == market
    start_local = pd.Timestamp(window["start_local"])
    assert (start_local.hour, start_local.minute) == (0, 0)
    assert pd.Timestamp(window["start_utc"]) == pd.Timestamp(WINDOW[0]).tz_localize(facts.timezone)
    # the three missing hours inside the window are gaps, nothing lies outside the file's coverage
    gaps = summaries["perfect"]["data_gaps"]
    grid = pd.date_range(window["start_utc"], window["end_utc"], freq="15min", inclusive="left")
    written = pd.to_datetime(
        pd.read_csv(tmp_path / f"{market}_node_prices.csv")["interval_start_utc"], utc=True
    )
    assert gaps["count"] == int((~grid.isin(written)).sum()) >= 12  # the bundled CAISO data has its own hole
    assert gaps["longest_intervals"] == 12
    assert gaps["outside_coverage"]["intervals"] == 0
    # every strategy ran on the intervals that have a price, and none beats the hindsight bound
    bound = summaries["perfect"]["net_margin_usd"]
    for name in STRATEGIES:
        assert summaries[name]["intervals"] == summaries["perfect"]["intervals"]
        assert summaries[name]["net_margin_usd"] <= bound + 1e-6 * abs(bound)
    # rolling fitted on the history before the window, across its one-day hole, with what exists
    inputs = summaries["rolling"]["policy"]["forecast_inputs"]
    assert "real-time prices" in inputs
    assert ("day-ahead prices" in inputs) == (market in {"ercot", "nyiso", "miso"})
    assert "system load" not in inputs  # no load file given, and none is bundled for a user's CSV
