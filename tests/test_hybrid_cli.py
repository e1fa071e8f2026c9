"""End-to-end CLI runs of the hybrid example (``examples/west-texas-hybrid.yaml``): mining, a GPU hall
with inference, two training jobs and rentals, heat offtake, ERCOT 4CP and ancillary offers.

* three weeks of August 2023 (2023-08-05..2023-08-28, market-local) that hold the whole window of
  the ``finetune-b`` job (2023-08-07 to the end of 2023-08-27) and August's 4CP peak;
* the full year 2023 once (about 30 s for both strategies): both jobs finish by their deadlines
  under both strategies, the four summer 4CP peaks are charged and perfect beats rule-based.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from powerfirst.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
STRATEGIES = ("perfect", "rule-based")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# summary key -> the intervals.parquet column it totals
REVENUE_COLUMNS = {
    "mining": "mining_revenue_usd",
    "power_sellback": "power_sellback_usd",
    "inference": "inference_revenue_usd",
    "training": "training_value_usd",
    "rental": "rental_revenue_usd",
    "heat": "heat_revenue_usd",
    "ancillary": "ancillary_revenue_usd",
}
COST_COLUMNS = {
    "energy": "energy_cost_usd",
    "adders": "adders_usd",
    "pool_fees": "pool_fees_usd",
    "sla_penalty": "sla_penalty_usd",
    "fourcp_charge": "fourcp_charge_usd",
}
JOBS = ("llm-pretrain-a", "finetune-b")
PRODUCTS = ("RRS", "ECRS", "NSPIN")


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _backtest(out: Path, start: str, end: str) -> Result:
    args = ["backtest", str(HYBRID), "--start", start, "--end", end, "--out", str(out)]
    for name in STRATEGIES:
        args += ["--strategy", name]
    return CliRunner().invoke(app, args)


def _job(summary: dict[str, Any], name: str) -> dict[str, Any]:
    jobs = {job["name"]: job for job in summary["training_jobs"]}
    assert set(jobs) == set(JOBS)
    return jobs[name]


# --------------------------------------------------------------------------------------------------
# three weeks of August 2023


@pytest.fixture(scope="module")
def august(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("hybrid_august") / "out"
    return out, _backtest(out, "2023-08-05", "2023-08-28")


def test_august_exits_cleanly_and_writes_every_file(august: tuple[Path, Result]) -> None:
    out, result = august
    assert result.exit_code == 0, result.output
    assert result.exception is None
    for name in STRATEGIES:
        assert (out / name / "summary.json").is_file()
        assert (out / name / "intervals.parquet").is_file()
    assert (out / "comparison.json").is_file()
    assert (out / "report.html").is_file()


def test_august_console_table_has_the_stream_columns(august: tuple[Path, Result]) -> None:
    _, result = august
    stdout = _plain(result.stdout)
    assert "perfect (upper bound)" in stdout
    assert "rule-based" in stdout
    header = stdout[: stdout.index("perfect (upper bound)")]
    assert "AI M USD" in header  # inference + training + rental − SLA penalty
    assert "AS+hea" in header  # ancillary + heat − 4CP (the header may be cut at the console's width)
    assert "intervals: 2304; data gaps inside the data: 0 missing" in stdout  # 24 days × 96


def test_august_console_table_names_every_column_in_full(august: tuple[Path, Result]) -> None:
    """At the 130-character width used when the output is not a terminal, the header of the
    ancillary/heat/4CP column is cut to 'AS+hea…' (and 'sell-back' to 'sell-ba…'): a reader of a
    piped or logged run cannot tell what the column holds."""
    _, result = august
    stdout = _plain(result.stdout)
    header = stdout[: stdout.index("perfect (upper bound)")]
    assert "…" not in header
    assert "AS+heat−4CP" in header


@pytest.mark.parametrize("name", STRATEGIES)
def test_august_summary_accounts_for_every_stream(august: tuple[Path, Result], name: str) -> None:
    out, _ = august
    s = _read_json(out / name / "summary.json")
    frame = pd.read_parquet(out / name / "intervals.parquet")
    assert s["strategy"] == name
    assert s["intervals"] == len(frame) == 2304
    assert set(REVENUE_COLUMNS) <= set(s["revenue_usd"])
    assert set(COST_COLUMNS) <= set(s["cost_usd"])
    # the per-interval file adds up to the summary, stream by stream
    assert frame["net_margin_usd"].sum() == pytest.approx(s["net_margin_usd"], rel=1e-9)
    for key, column in REVENUE_COLUMNS.items():
        assert frame[column].sum() == pytest.approx(s["revenue_usd"][key], rel=1e-9, abs=1e-6), key
    for key, column in COST_COLUMNS.items():
        assert frame[column].sum() == pytest.approx(s["cost_usd"][key], rel=1e-9, abs=1e-6), key
    revenue = sum(s["revenue_usd"].values())
    cost = sum(s["cost_usd"].values())
    assert revenue - cost == pytest.approx(s["net_margin_usd"], rel=1e-9)
    # every stream earns or costs something over these three weeks (ancillary: perfect only)
    for key in ("mining", "inference", "training", "rental", "heat"):
        assert s["revenue_usd"][key] > 0, key
    assert s["cost_usd"]["fourcp_charge"] > 0
    if name == "perfect":
        assert s["revenue_usd"]["ancillary"] > 0
    else:
        assert s["revenue_usd"]["ancillary"] == 0.0  # no offers under today's rules
    # the stream detail agrees with the columns too
    dt = s["interval_minutes"] / 60.0
    hours = s["gpu_hours"]
    assert hours["inference_served"] == pytest.approx(frame["inference_gpus"].sum() * dt, rel=1e-9)
    assert hours["inference_demanded"] == pytest.approx(frame["inference_demand_gpus"].sum() * dt, rel=1e-9)
    assert hours["rental"] == pytest.approx(frame["rental_gpus"].sum() * dt, rel=1e-9)
    for job in JOBS:
        assert hours["training"][job] == pytest.approx(frame[f"training_gpus__{job}"].sum() * dt, rel=1e-9)
    assert s["heat_mwh_thermal"] == pytest.approx(frame["heat_mwth"].sum() * dt, rel=1e-9)
    assert s["fourcp"]["charge_usd"] == pytest.approx(s["cost_usd"]["fourcp_charge"], rel=1e-9)
    for product in PRODUCTS:
        detail = s["ancillary"][product]
        assert detail["revenue_usd"] == pytest.approx(
            frame[f"ancillary_revenue_usd__{product}"].sum(), rel=1e-9
        )
        assert detail["mwh_offered"] == pytest.approx(frame[f"as_offer_mw__{product}"].sum() * dt, rel=1e-9)
    # the site's physical limits hold in every interval
    assert (frame["load_mw"] <= 100 + 1e-6).all()
    working = frame["inference_gpus"] + frame["rental_gpus"]
    working = working + sum(frame[f"training_gpus__{job}"] for job in JOBS)
    assert (working <= 14_000 + 1e-6).all()
    offered = sum(frame[f"as_offer_mw__{product}"] for product in PRODUCTS)
    assert (offered <= 40 + 1e-6).all()


@pytest.mark.parametrize("name", STRATEGIES)
def test_august_training_jobs_report_finish_and_preemptions(august: tuple[Path, Result], name: str) -> None:
    out, _ = august
    s = _read_json(out / name / "summary.json")
    job = _job(s, "finetune-b")
    assert job["in_window"] is True
    assert job["finished"] is True
    assert job["met_deadline"] is True
    assert job["finish_utc"] is not None
    assert pd.Timestamp(job["finish_utc"]) <= pd.Timestamp(job["deadline_utc"])
    assert job["deadline_utc"] == "2023-08-28T05:00:00+00:00"  # end of 2023-08-27 in Chicago (CDT)
    assert job["value_usd"] == 1_200_000
    assert isinstance(job["preemptions"], int) and job["preemptions"] >= 0
    assert job["starts"] == job["preemptions"] + 1  # every stop before the finish is followed by a start
    assert job["gpu_hours_used"] >= 400_000  # the work, plus what restarts and checkpoints lose
    assert job["gpu_hours_lost_to_restarts_and_checkpoints"] > 0
    # the pretraining job's window (June-July) is outside: reported, not scheduled
    other = _job(s, "llm-pretrain-a")
    assert other["in_window"] is False
    assert other["finished"] is False
    assert other["gpu_hours_used"] == 0.0
    assert "note" in other
    assert s["revenue_usd"]["training"] == pytest.approx(1_200_000)


def test_august_perfect_is_the_labelled_upper_bound(august: tuple[Path, Result]) -> None:
    out, _ = august
    perfect = _read_json(out / "perfect" / "summary.json")
    rule = _read_json(out / "rule-based" / "summary.json")
    assert perfect["is_upper_bound"] is True
    assert "upper bound" in perfect["label"]
    assert rule["is_upper_bound"] is False
    assert perfect["net_margin_usd"] >= rule["net_margin_usd"]
    optimum = perfect["optimum"]
    assert optimum["upper_bound_usd"] >= optimum["objective_net_margin_usd"] - 1e-6
    assert optimum["objective_net_margin_usd"] == pytest.approx(perfect["net_margin_usd"], rel=1e-6)
    # perfect keeps the SLA in every month; the comparison says which strategy is the reference
    assert all(month["met"] for month in perfect["inference_sla"])
    comparison = _read_json(out / "comparison.json")
    assert comparison["reference"] == "perfect"
    assert comparison["strategies"]["perfect"]["is_upper_bound"] is True
    assert comparison["strategies"]["rule-based"]["value_captured_pct"] < 100.0
    assert any("upper bound" in note for note in comparison["notes"])


# --------------------------------------------------------------------------------------------------
# the full year 2023, once


@pytest.fixture(scope="module")
def full_year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("hybrid_year") / "out"
    return out, _backtest(out, "2023-01-01", "2023-12-31")


def test_full_year_jobs_meet_deadlines_4cp_is_charged_and_perfect_wins(
    full_year: tuple[Path, Result],
) -> None:
    out, result = full_year
    assert result.exit_code == 0, result.output
    assert "intervals: 35040; data gaps inside the data: 0 missing" in _plain(result.stdout)
    summaries = {name: _read_json(out / name / "summary.json") for name in STRATEGIES}
    for name, s in summaries.items():
        # both training jobs finish by their deadlines under both strategies
        for job_name in JOBS:
            job = _job(s, job_name)
            assert job["in_window"] is True, (name, job_name)
            assert job["finished"] is True, (name, job_name)
            assert pd.Timestamp(job["finish_utc"]) <= pd.Timestamp(job["deadline_utc"]), (name, job_name)
        assert s["revenue_usd"]["training"] == pytest.approx(6_000_000 + 1_200_000)
        # the four monthly 4CP peaks of June-September 2023 are in the window and charged
        peaks = s["fourcp"]["peaks"]
        assert [(p["year"], p["month"]) for p in peaks] == [(2023, 6), (2023, 7), (2023, 8), (2023, 9)]
        assert all(p["charged"] for p in peaks)
        assert all(p["site_load_mw"] is not None and p["site_load_mw"] > 0 for p in peaks)
        # the charge is a quarter of the yearly rate × the site's mean load over each peak hour
        expected = sum(55_000 / 4 * p["site_load_mw"] for p in peaks)
        assert s["fourcp"]["charge_usd"] == pytest.approx(expected, rel=1e-9)
        assert s["cost_usd"]["fourcp_charge"] == pytest.approx(expected, rel=1e-9)
        frame = pd.read_parquet(out / name / "intervals.parquet", columns=["net_margin_usd", "load_mw"])
        assert frame["net_margin_usd"].sum() == pytest.approx(s["net_margin_usd"], rel=1e-9)
        assert float(np.max(frame["load_mw"])) <= 100 + 1e-6
    assert all(month["met"] for month in summaries["perfect"]["inference_sla"])
    assert summaries["perfect"]["net_margin_usd"] > summaries["rule-based"]["net_margin_usd"]
