"""Regressions for problems found in review: each test failed before its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from powerfirst.backtest.engine import run_policy
from powerfirst.backtest.runner import prepare_backtest
from powerfirst.cli.app import app
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.sources import CsvPriceSource
from powerfirst.market.window import parse_window
from powerfirst.policies import AlwaysOnPolicy, Observation
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.compile import site_params
from powerfirst.site.schema import Site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_no_future_price_is_reachable_through_the_view_base(
    site_factory: Callable[..., Site],
    inputs_factory: Callable[..., DispatchInputs],
    fleet_spec: Callable[..., dict[str, Any]],
) -> None:
    prices = np.array([10.0, 20.0, 30.0, 40.0])
    leaks: list[float] = []

    class Peek(AlwaysOnPolicy):
        def decide(self, obs: Observation) -> np.ndarray:
            base = obs.settled_prices_usd_per_mwh.base
            if base is not None:
                later = np.asarray(base)[obs.step :]
                leaks.extend(float(v) for v in later if np.isfinite(v))
            return super().decide(obs)

    site = site_factory([fleet_spec()])
    inputs = inputs_factory(site, prices)
    run_policy(Peek(), inputs, inputs.hashprice_usd_per_th_day)
    assert leaks == []


@pytest.mark.parametrize("text", ["2023-7-31", "20230731", "2023/07/31", "07/31/2023", "Jul 31 2023"])
def test_only_iso_dates_and_times_are_accepted(text: str) -> None:
    with pytest.raises(ConfigError, match=r"--end = .*YYYY-MM-DD"):
        parse_window("2023-07-01", text, "America/Chicago")


def test_unknown_zone_is_named_as_such() -> None:
    with pytest.raises(ConfigError, match="unknown IANA time zone"):
        parse_window("2023-07-01", "2023-07-02", "Mars/Base")


@pytest.mark.parametrize("value", ["inf", "-inf", "1e308", "60000"])
def test_implausible_csv_prices_are_rejected(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        f"interval_start_utc,P\n2023-07-01T05:00:00Z,20\n2023-07-01T05:15:00Z,{value}\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"row 3: P = .* outside ±50,000 USD/MWh"):
        CsvPriceSource(path, "P").load(pd.Timestamp("2023-07-01T05:00Z"), pd.Timestamp("2023-07-02T05:00Z"))


def test_restart_longer_than_an_interval_is_rejected(
    site_factory: Callable[..., Site], fleet_spec: Callable[..., dict[str, Any]]
) -> None:
    site = site_factory([fleet_spec(restart_time_min=60)])
    assert site_params(site, 1.0).fleets[0].restart_hours == 1.0
    with pytest.raises(
        ConfigError, match=r"fleets\[0\].restart_time_min .* = 60 minutes: .* at most .* 15 minutes"
    ):
        site_params(site, 0.25)


def test_known_hashprice_is_the_previous_utc_days(tmp_path: Path) -> None:
    site = load_site(EXAMPLES / "west-texas-fixed-block.yaml")
    bt = prepare_backtest(site, "2023-07-01", "2023-07-02")
    days = bt.inputs.times_utc.floor("D")
    daily = pd.Series(bt.inputs.hashprice_usd_per_th_day, index=days).groupby(level=0).first()
    # 2023-07-01 00:00 CDT = 05:00Z: intervals on UTC day 07-01 know 06-30's value, on 07-02 know 07-01's
    first_day = days == pd.Timestamp("2023-07-01", tz="UTC")
    second_day = days == pd.Timestamp("2023-07-02", tz="UTC")
    assert np.all(
        bt.known_hashprice_usd_per_th_day[second_day] == daily[pd.Timestamp("2023-07-01", tz="UTC")]
    )
    assert np.all(bt.known_hashprice_usd_per_th_day[first_day] != daily[pd.Timestamp("2023-07-01", tz="UTC")])


def test_out_never_mixes_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    site = str(EXAMPLES / "west-texas-fixed-block.yaml")
    runner = CliRunner()
    first = runner.invoke(
        app, ["backtest", site, "--start", "2023-08-01", "--end", "2023-08-01", "--out", str(out)]
    )
    assert first.exit_code == 0, first.output
    assert {p.name for p in out.iterdir() if p.is_dir()} == {
        "perfect",
        "breakeven",
        "always-on",
        "rule-based",
    }
    second = runner.invoke(
        app,
        [
            "backtest",
            site,
            "--start",
            "2023-08-02",
            "--end",
            "2023-08-02",
            "--out",
            str(out),
            "--strategy",
            "breakeven",
        ],
    )
    assert second.exit_code == 0, second.output
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"breakeven"}
    summary = json.loads((out / "breakeven" / "summary.json").read_text())
    assert summary["window"]["start_local"].startswith("2023-08-02")


def test_bad_out_fails_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(EXAMPLES / "west-texas-fixed-block.yaml"),
            "--start",
            "2023-08-01",
            "--end",
            "2023-08-01",
            "--out",
            str(blocker),
        ],
    )
    assert result.exit_code == 2
    assert "--out" in result.output and "not a folder" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--hashprice-usd-per-ph-day", "inf", "--efficiency-j-per-th", "20"], "--hashprice-usd-per-ph-day"),
        (["--hashprice-usd-per-ph-day", "50", "--efficiency-j-per-th", "1e-300"], "--efficiency-j-per-th"),
        (["--hashprice-usd-per-ph-day", "50", "--efficiency-j-per-th", "nan"], "--efficiency-j-per-th"),
    ],
)
def test_breakeven_rejects_non_finite_and_absurd_input(args: list[str], flag: str) -> None:
    result = CliRunner().invoke(app, ["breakeven", *args])
    assert result.exit_code == 2
    assert flag in result.output


def test_adder_errors_name_the_unit(fleet_spec: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(ConfigError, match=r"adders_usd_per_mwh.tdsp = 'abc' USD/MWh"):
        parse_site(
            {
                "name": "x",
                "grid": {"connection_limit_mw": 10},
                "contract": {
                    "kind": "index",
                    "price_series": "a.csv:P",
                    "adders_usd_per_mwh": {"tdsp": "abc"},
                },
                "fleets": [fleet_spec()],
            }
        )


def test_validate_checks_the_price_series(tmp_path: Path) -> None:
    text = (EXAMPLES / "west-texas-fixed-block.yaml").read_text(encoding="utf-8")
    path = tmp_path / "site.yaml"
    path.write_text(text.replace("ercot-rt:HB_WEST", "ercot-rt:HB_XX"), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code != 0
    assert "HB_XX" in result.output


def test_cli_overrides_fees_and_breakeven_parameters(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "backtest",
        str(EXAMPLES / "west-texas-fixed-block.yaml"),
        "--start",
        "2023-07-01",
        "--end",
        "2023-07-02",
    ]
    result = CliRunner().invoke(
        app,
        [
            *args,
            "--out",
            str(out),
            "--strategy",
            "breakeven",
            "--tx-fees-btc-per-block",
            "0.3",
            "--confirm-intervals",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "breakeven" / "summary.json").read_text())
    assert summary["hashprice"]["tx_fees_btc_per_block"] == 0.3
    assert summary["hashprice"]["note"] == ""
    base = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "base"), "--strategy", "breakeven"])
    assert base.exit_code == 0, base.output
    plain = json.loads((tmp_path / "base" / "breakeven" / "summary.json").read_text())
    # 0.3 BTC/block of fees on a 6.25 BTC subsidy raises mining revenue per hashing MWh by 4.8 %
    assert summary["hashprice"]["mean_usd_per_ph_day"] == pytest.approx(
        plain["hashprice"]["mean_usd_per_ph_day"] * 6.55 / 6.25
    )
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad"), "--tx-fees-btc-per-block", "-1"])
    assert bad.exit_code == 2
    assert "--tx-fees-btc-per-block = -1.0 BTC/block" in bad.output
    assert not (tmp_path / "bad").exists()
