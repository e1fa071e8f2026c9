"""The days of market data before a window are optional history: a window that starts on its price
source's first day runs with the history that exists and says how much that was; a window whose own
days are missing still fails, naming the coverage.

The bundled ERCOT real-time prices start 2020-01-01 (Central) and have no 2019 file; the bundled
CAISO ones start 2020-08-04 (Pacific). Windows of one or two days; no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.backtest.runner import HISTORY_DAYS, prepare_backtest, run_strategy
from powerfirst.cli.app import app
from powerfirst.errors import DataError
from powerfirst.policies.registry import load_site
from powerfirst.site.schema import Site

ROOT = Path(__file__).resolve().parents[1]
ERCOT_SITE = ROOT / "examples" / "west-texas-fixed-block.yaml"
CAISO_SITE = ROOT / "examples" / "caiso-index.yaml"
ERCOT_FIRST = "2020-01-01T06:00:00Z"
"""The first interval of the bundled ERCOT real-time prices (midnight Central)."""
CONSTANT = {"source": "constant", "constant_usd_per_ph_day": 60.0}


def _site_file(folder: Path, example: Path, **edits: object) -> Path:
    """The example site with a constant hashprice (and ``edits`` over its top-level keys)."""
    cfg = yaml.safe_load(example.read_text(encoding="utf-8"))
    cfg["bitcoin"] = CONSTANT
    cfg.update(edits)
    path = folder / f"{example.stem}-constant.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _history_warnings(warnings: list[str] | tuple[str, ...]) -> list[str]:
    return [w for w in warnings if w.startswith("history before the window")]


def test_a_bundled_window_on_the_first_day_of_the_data_runs_and_says_it_had_no_history(
    tmp_path: Path,
) -> None:
    """ERCOT 2020-01-01: breakeven and rolling with persistence run (the engine used to ask for the
    28 days before, in 2019, and fail); the console and each summary.json say 0 of 28 days."""
    out = tmp_path / "out"
    args = [
        "backtest", str(_site_file(tmp_path, ERCOT_SITE)), "--start", "2020-01-01", "--end", "2020-01-01",
        "--strategy", "breakeven", "--strategy", "rolling", "--forecast", "persistence", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    said = (
        f"history before the window: 0 of {HISTORY_DAYS} days (ercot-rt:HB_WEST: prices start {ERCOT_FIRST})"
    )
    assert said in " ".join(result.output.split())
    for strategy in ("breakeven", "rolling"):
        summary = json.loads((out / strategy / "summary.json").read_text(encoding="utf-8"))
        assert [w for w in summary["warnings"] if w.startswith(said)], summary["warnings"]
        assert summary["intervals"] == 96
    assert "forecaster persistence not fitted: no history before the window" in " ".join(
        result.output.split()
    )


@pytest.mark.parametrize(
    ("example", "start", "had", "first"),
    [
        (ERCOT_SITE, "2020-01-15", 14, ERCOT_FIRST),  # 2019-12-18 asked: no 2019 file
        (CAISO_SITE, "2020-08-10", 6, "2020-08-04T07:00:00Z"),  # the 2020 file starts in August
    ],
)
def test_a_window_less_than_the_history_after_the_data_starts_gets_the_days_there_are(
    tmp_path: Path, example: Path, start: str, had: int, first: str
) -> None:
    site = load_site(_site_file(tmp_path, example))
    bt = prepare_backtest(site, start, start)
    assert bt.market is not None
    rt = bt.market.rt_price_usd_per_mwh.dropna()
    assert rt.index[0] == pd.Timestamp(first)
    assert (bt.window.start_utc - rt.index[0]) / pd.Timedelta(days=1) == had
    [note] = _history_warnings(bt.warnings)
    assert note.startswith(f"history before the window: {had} of {HISTORY_DAYS} days (") and first in note
    result = run_strategy(bt, "breakeven")
    assert _history_warnings(result.summary.warnings) == [note]


def _own_prices(folder: Path) -> Path:
    """A user's price file in the bundled format (UTC and Central interval starts), named and with a
    column unlike the bundled ones, starting at midnight Central of 2024-03-04: 15-minute prices."""
    index = pd.date_range("2024-03-04T06:00Z", periods=3 * 96, freq="15min")
    prices = 30.0 + 20.0 * np.sin(np.arange(len(index)) * 2 * np.pi / 96)
    frame = pd.DataFrame(
        {
            "interval_start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_start_local": index.tz_convert("America/Chicago").strftime("%Y-%m-%dT%H:%M:%S%z"),
            "west_node_usd_per_mwh": np.round(prices, 2),
        }
    )
    path = folder / "my_node_prices.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_users_price_file_starting_on_the_windows_first_day_runs_and_says_so(tmp_path: Path) -> None:
    prices = _own_prices(tmp_path)
    site_file = _site_file(tmp_path, ERCOT_SITE, market="ercot")
    spec = f"{prices}:west_node_usd_per_mwh"
    bt = prepare_backtest(load_site(site_file), "2024-03-04", "2024-03-05", prices=spec)
    assert bt.gaps.total_missing == 0 and bt.inputs.num_intervals == 2 * 96
    assert _history_warnings(bt.warnings) == [
        f"history before the window: 0 of {HISTORY_DAYS} days ({spec}: prices start 2024-03-04T06:00:00Z); "
        "policies and forecasters see only those days before the window's first interval"
    ]
    out = tmp_path / "out"
    args = [
        "backtest", str(site_file), "--start", "2024-03-04", "--end", "2024-03-04", "--prices", spec,
        "--strategy", "rolling", "--forecast", "persistence", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "rolling" / "summary.json").read_text(encoding="utf-8"))
    assert len(_history_warnings(summary["warnings"])) == 1


def test_the_forecaster_fits_on_the_history_there_is(tmp_path: Path) -> None:
    """The walk-forward fit asks for the 731 days before the window; for March 2021 the bundled ERCOT
    prices have 14 months of them, which it gets (it used to get none: 2019 has no file)."""
    site = load_site(_site_file(tmp_path, ERCOT_SITE))
    bt = prepare_backtest(site, "2021-03-01", "2021-03-01")
    assert _history_warnings(bt.warnings) == []
    assert bt.past is not None
    past = bt.past()
    assert past is not None
    rt = past.rt_price_usd_per_mwh.dropna()
    assert rt.index[0] == pd.Timestamp(ERCOT_FIRST)
    assert rt.index[-1] < bt.window.start_utc


def test_a_window_whose_own_first_day_is_missing_still_fails_naming_the_coverage(tmp_path: Path) -> None:
    site = load_site(_site_file(tmp_path, ERCOT_SITE))
    with pytest.raises(
        DataError, match=r"ercot-rt:HB_WEST: no bundled data for 2019 .*bundled years: 2020–2023"
    ):
        prepare_backtest(site, "2019-12-31", "2020-01-02")
    caiso: Site = load_site(_site_file(tmp_path, CAISO_SITE))
    with pytest.raises(DataError, match=r"caiso-rt:SP15: the bundled data covers 2020-08-04T07:00:00\+00:00"):
        prepare_backtest(caiso, "2020-08-01", "2020-08-02")
