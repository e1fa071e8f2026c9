"""Regressions found in review of the hybrid site: each case once broke the agreement between the
optimizer, the engine and the accounting, or a number in the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.market.sources import parse_source
from powerfirst.policies.registry import load_site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "west-texas-hybrid.yaml"


def _site_file(tmp_path: Path, edit: dict[str, Any]) -> Path:
    cfg = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    job = cfg["gpu_hall"]["training_jobs"][1]
    job.update(edit.pop("job", {}))
    cfg.update(edit)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_a_job_released_within_an_hour_runs_from_its_release(tmp_path: Path) -> None:
    # released at 10:30 local: the optimizer plans the half hour before 11:00; the engine must let
    # the job start then, so perfect replays its plan and books its objective
    path = _site_file(
        tmp_path,
        {"job": {"release": "2023-08-07T10:30", "deadline": "2023-08-09T10:30", "gpu_hours": 97_800}},
    )
    bt = prepare_backtest(load_site(path), "2023-08-06", "2023-08-10")
    result = run_strategy(bt, "perfect")
    plan = result.policy.plan  # type: ignore[attr-defined]
    assert result.run.adjusted_intervals == 0
    assert np.allclose(result.run.schedule.training_gpus, plan.schedule.training_gpus, atol=1e-6)
    assert np.isclose(result.ledger.net_margin_usd, plan.net_margin_usd, rtol=1e-9)
    assert result.summary.training_jobs is not None
    job = result.summary.training_jobs[1]
    assert job.in_window and job.met_deadline


def test_a_missing_price_at_the_window_edge_keeps_a_job_inside_the_window(tmp_path: Path) -> None:
    prices = (
        parse_source("ercot-rt:HB_WEST")
        .load(pd.Timestamp("2023-08-06T05:00Z"), pd.Timestamp("2023-08-11T05:00Z"))
        .prices
    )
    prices.iloc[-1] = np.nan  # the window's last price is missing
    frame = pd.DataFrame(
        {"interval_start_utc": prices.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "P": prices.to_numpy()}
    ).dropna()
    frame.to_csv(tmp_path / "prices.csv", index=False)
    path = _site_file(
        tmp_path,
        {
            "contract": {
                **yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["contract"],
                "price_series": "prices.csv:P",
            },
            "timezone": "America/Chicago",
            "market": "ercot",
            "job": {"release": "2023-08-07", "deadline": "2023-08-10", "gpu_hours": 80_000},
        },
    )
    bt = prepare_backtest(load_site(path), "2023-08-06", "2023-08-10")
    assert bt.gaps.total_missing == 1  # the file ends one interval before the window
    assert bt.gaps.outside_intervals == 1
    assert bt.inputs.stream.jobs_in_window == (False, True)  # the deadline is the window's end
    result = run_strategy(bt, "rule-based")
    assert result.summary.training_jobs[1].value_usd == 1_200_000  # type: ignore[index]


def test_the_4cp_summary_reports_the_load_that_was_charged(tmp_path: Path) -> None:
    pd.DataFrame({"peak_interval_start_utc": ["2023-08-10T21:30:00Z"]}).to_csv(
        tmp_path / "peaks.csv", index=False
    )
    cfg = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = _site_file(
        tmp_path, {"timezone": "America/Chicago", "fourcp": {**cfg["fourcp"], "peaks_csv": "peaks.csv"}}
    )
    bt = prepare_backtest(load_site(path), "2023-08-09", "2023-08-11")
    result = run_strategy(bt, "rule-based")
    fourcp = result.summary.fourcp
    assert fourcp is not None
    charged_mw = fourcp.charge_usd / (fourcp.rate_usd_per_mw_year / 4)
    peak_load = float(result.ledger.intervals.loc[pd.Timestamp("2023-08-10T21:30Z"), "load_mw"])
    assert np.isclose(charged_mw, peak_load, rtol=1e-9)
    assert np.isclose(fourcp.peaks[0].site_load_mw, peak_load, rtol=1e-9)


def test_training_gpus_held_for_the_hour_are_not_rented_out_when_the_job_finishes(tmp_path: Path) -> None:
    # the job finishes at 02:30 local; its GPUs stay allocated to the end of the clock hour (as in
    # the optimizer), so a rental slice starting at 02:30 must not take them
    cfg = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    rental = {**cfg["gpu_hall"]["rental"], "min_block_hours": 0.25}
    gpu_hall = {**cfg["gpu_hall"], "rental": rental}
    gpu_hall["training_jobs"][1].update(release="2023-08-07", deadline="2023-08-08", gpu_hours=2048 * 2.5)
    path = _site_file(tmp_path, {"gpu_hall": gpu_hall})
    bt = prepare_backtest(load_site(path), "2023-08-06", "2023-08-09")
    result = run_strategy(bt, "rule-based")
    schedule = result.run.schedule
    local = bt.inputs.times_utc.tz_convert("America/Chicago")
    at = {ts.strftime("%m-%d %H:%M"): k for k, ts in enumerate(local)}
    job = schedule.training_gpus[1]
    assert job[at["08-07 02:15"]] == 2048.0
    assert job[at["08-07 02:30"]] == job[at["08-07 02:45"]] == 2048.0  # held to the hour's end
    assert job[at["08-07 03:00"]] == 0.0  # finished: released at the next hour
    used = schedule.inference_gpus + schedule.training_gpus.sum(axis=0) + schedule.rental_gpus
    assert used.max() <= 14_000 + 1e-6
    assert result.summary.training_jobs[1].met_deadline  # type: ignore[index]
