"""``powerfirst plan`` end to end (issue 13): the scenario's drivers and simulation sections, the
Monte Carlo in chunks here and on a Dask LocalCluster, the sensitivities and the CLI's files.

The scenario is small: the West Texas fixed-block site, four months (March–June 2027) backtested
under market year 2023 at two hashprices only (two real backtests of four months, run once into a
cache shared by the module: later runs, and the Dask workers, read them from it).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

from plan_builders import driver_paths, margin_table, scenario
from powerfirst.cli.app import app
from powerfirst.errors import ConfigError
from powerfirst.planning.cashflows import plan_cashflows
from powerfirst.planning.drivers import deterministic, fit_driver_model, simulate_paths
from powerfirst.planning.finance import npv_usd
from powerfirst.planning.plan import PlanRun, run_plan
from powerfirst.planning.results import horizon_notes
from powerfirst.planning.scenario import Scenario, load_scenario, parse_scenario
from powerfirst.planning.sensitivity import scaled_paths
from powerfirst.planning.simulation import MonteCarlo
from powerfirst.planning.sweep import InProcess, executor
from powerfirst.site.files import read_site_yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def small(**overrides: Any) -> dict[str, Any]:
    """A four-month plan: 5 MW leased, 5 MW of own GPUs, all equity."""
    spec: dict[str, Any] = {
        "name": "small plan",
        "site": str(EXAMPLES / "west-texas-fixed-block.yaml"),
        "start_month": "2027-03",
        "horizon_months": 4,
        "discount_rate_pct_per_year": 10.0,
        "tax_rate_pct": 21.0,
        "mining": {"opex_usd_per_mw_month": 5000.0},
        "phases": [
            {
                "name": "lease",
                "convert_mw": 5.0,
                "start_month": "2027-03",
                "build_months": 1,
                "capex_usd_per_mw": 100_000.0,
                "business": {
                    "kind": "colocation_lease",
                    "rate_usd_per_mw_year": 1.6e6,
                    "it_mw_per_utility_mw": 0.74,
                    "term_years": 1,
                },
            },
            {
                "name": "cloud",
                "convert_mw": 5.0,
                "start_month": "2027-03",
                "build_months": 0,
                "capex_usd_per_mw": 100_000.0,
                "business": {
                    "kind": "gpu_cloud",
                    "gpus": 3000,
                    "watts_per_gpu": 1275.0,
                    "usd_per_gpu": 2500.0,
                    "utilisation_pct": 80.0,
                },
            },
        ],
        "drivers": {
            "start_btc_usd": 90_000.0,
            "start_hashrate_ths": 1.0e9,
            "fees_btc_per_block": 0.03,
            "market_years": [2023],
        },
        "simulation": {
            "monte_carlo": {"paths": 10, "seed": 7},
            "chunk_paths": 3,
            "margins": {"hashprice_grid_usd_per_th_day": [0.03, 0.06], "months": [3, 6]},
        },
    }
    spec.update(overrides)
    return spec


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("margin-cache")


@pytest.fixture(scope="module")
def plan_scenario() -> Scenario:
    return parse_scenario(small(), source="small")


@pytest.fixture(scope="module")
def in_process(plan_scenario: Scenario, cache: Path) -> PlanRun:
    return run_plan(plan_scenario, InProcess(), monte_carlo=MonteCarlo(paths=10, seed=7), cache_dir=cache)


def _invoke(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def _write(folder: Path, spec: dict[str, Any]) -> Path:
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_the_cli_writes_the_summary_the_cash_flows_and_the_report(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "out"
    result = _invoke("plan", _write(tmp_path, small()), "--out", out, "--cache-dir", cache, "--paths", 8)
    assert result.exit_code == 0, result.output
    assert "probability the plan beats mining" in result.output and "ran on: this process" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_paths"] == 8 and summary["seed"] == 7 and summary["horizon_months"] == 4
    npv = summary["npv_difference_usd"]
    assert npv["p10"] <= npv["p50"] <= npv["p90"] and npv["paths"] == 8
    assert "min_dscr" not in summary and summary["irr_difference_pct_per_year"]["paths"] == 8  # no debt
    assert any("break-even" not in n and "seed 7" in n for n in summary["notes"])
    frame = pd.read_parquet(out / "cashflows.parquet")
    assert frame["month"].tolist() == ["2027-03", "2027-04", "2027-05", "2027-06"]
    np.testing.assert_allclose(
        frame["difference_net_usd"], frame["plan_net_usd"] - frame["baseline_net_usd"], rtol=1e-12
    )
    # the contract's site-level margin is the same in the plan and the baseline
    assert (frame["plan_contract_fixed_margin_usd"] != 0).all()
    np.testing.assert_array_equal(frame["difference_contract_fixed_margin_usd"], 0.0)
    p10, p50, p90 = (frame[f"net_difference_{p}_usd"] for p in ("p10", "p50", "p90"))
    assert (p10 <= p50).all() and (p50 <= p90).all()
    report = (out / "report.html").read_text()
    assert report.lstrip().lower().startswith("<!doctype html") and "plan-waterfall" in report

    again = _invoke("plan", _write(tmp_path, small()), "--out", out, "--cache-dir", cache, "--no-monte-carlo")
    assert again.exit_code == 0, again.output
    assert json.loads((out / "summary.json").read_text())["num_paths"] == 3  # base, low, high
    assert "note: no Monte Carlo: P10 / P50 / P90 are percentiles over the base, low and high" in again.output
    assert "note: no Monte Carlo" not in result.output
    assert "net_difference_p50_usd" not in pd.read_parquet(out / "cashflows.parquet")


def test_monte_carlo_is_reproducible_with_a_seed(
    plan_scenario: Scenario, cache: Path, in_process: PlanRun
) -> None:
    same = run_plan(plan_scenario, InProcess(), monte_carlo=MonteCarlo(paths=10, seed=7), cache_dir=cache)
    assert same.data.summary.model_dump(exclude={"notes"}) == in_process.data.summary.model_dump(
        exclude={"notes"}
    )
    np.testing.assert_array_equal(same.npv_difference_usd, in_process.npv_difference_usd)
    other = run_plan(plan_scenario, InProcess(), monte_carlo=MonteCarlo(paths=10, seed=8), cache_dir=cache)
    assert not np.allclose(other.npv_difference_usd, in_process.npv_difference_usd)
    assert other.data.summary.npv_difference_usd != in_process.data.summary.npv_difference_usd


def test_chunks_of_3_or_7_paths_give_the_same_paths(
    plan_scenario: Scenario, cache: Path, in_process: PlanRun
) -> None:
    seven = run_plan(
        plan_scenario, InProcess(), monte_carlo=MonteCarlo(paths=10, seed=7), cache_dir=cache, chunk_paths=7
    )
    np.testing.assert_allclose(seven.npv_difference_usd, in_process.npv_difference_usd, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(seven.data.fan.p50_usd, in_process.data.fan.p50_usd, rtol=1e-6)
    # a path is the same whichever batch draws it
    model = fit_driver_model()
    whole = simulate_paths(model, "2027-03", 4, 7, 0, 250, plan_scenario.drivers)
    for first, count in ((6, 4), (95, 10), (199, 51)):  # within a block, across one, across two
        part = simulate_paths(model, "2027-03", 4, 7, first, count, plan_scenario.drivers)
        for name in ("btc_usd", "hashrate_ths", "gpu_usd_per_gpu_hour", "market_year"):
            np.testing.assert_array_equal(getattr(whole, name)[first : first + count], getattr(part, name))
    assert len({float(x) for x in whole.btc_usd[:, -1]}) == 250  # every path its own draws


def test_a_dask_local_cluster_gives_the_same_results(
    plan_scenario: Scenario, cache: Path, in_process: PlanRun
) -> None:
    with executor("local", workers=2) as ex:
        assert ex.workers == 2 and "127.0.0.1" in ex.name
        on_dask = run_plan(plan_scenario, ex, monte_carlo=MonteCarlo(paths=10, seed=7), cache_dir=cache)
    np.testing.assert_allclose(
        on_dask.npv_difference_usd, in_process.npv_difference_usd, rtol=1e-9, atol=1e-6
    )
    ours, theirs = on_dask.data.summary, in_process.data.summary
    assert ours.irr_difference_pct_per_year is not None
    for name in ("npv_difference_usd", "npv_plan_usd", "npv_baseline_usd", "irr_difference_pct_per_year"):
        a, b = getattr(ours, name).model_dump(), getattr(theirs, name).model_dump()
        assert a.keys() == b.keys()
        assert all(a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-6) for k in a), name
    assert ours.probability_plan_beats_baseline == theirs.probability_plan_beats_baseline
    assert on_dask.data.breakevens == in_process.data.breakevens
    assert "2 of 2 backtests read from the cache" in " ".join(on_dask.data.notes)


def test_the_cli_on_a_running_scheduler_gives_the_results_of_this_process(
    tmp_path: Path, cache: Path
) -> None:
    """``--cluster tcp://HOST:PORT``: a scheduler started apart (a LocalCluster on 127.0.0.1, as a
    user's Kubernetes- or Slurm-launched one would be) runs the sweep; same summary as in-process."""
    from distributed import LocalCluster

    spec = _write(tmp_path, small())
    here = _invoke("plan", spec, "--out", tmp_path / "here", "--cache-dir", cache, "--paths", 8)
    assert here.exit_code == 0, here.output
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        there = _invoke(
            "plan",
            spec,
            "--out",
            tmp_path / "there",
            "--cache-dir",
            cache,
            "--paths",
            8,
            "--cluster",
            address,
        )
    assert there.exit_code == 0, there.output
    assert f"ran on: Dask scheduler at {address}" in there.output
    ours, theirs = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("there", "here"))
    for name in ("npv_difference_usd", "npv_plan_usd", "npv_baseline_usd"):
        assert ours[name] == pytest.approx(theirs[name], rel=1e-9), name
    assert ours["probability_plan_beats_baseline"] == theirs["probability_plan_beats_baseline"]


def test_a_scheduler_that_does_not_answer_is_a_clear_error(tmp_path: Path, cache: Path) -> None:
    result = _invoke(
        "plan", _write(tmp_path, small()), "--out", tmp_path / "out", "--cache-dir", cache,
        "--cluster", "tcp://127.0.0.1:1", "--connect-timeout-s", 1,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no Dask scheduler answered at tcp://127.0.0.1:1 within 1 s" in result.output
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "3"], "--workers = 3 sets a local cluster's worker processes; --cluster is 'none'"),
        (
            ["--no-monte-carlo", "--paths", "5"],
            "--no-monte-carlo with --paths or --seed: give one or the other",
        ),
        (["--cluster", "udp://x:1"], "--cluster: 'udp://x:1' is not a cluster"),
    ],
)
def test_options_that_contradict_are_refused(tmp_path: Path, options: list[str], message: str) -> None:
    result = _invoke("plan", _write(tmp_path, small()), "--out", tmp_path / "out", *options)
    assert result.exit_code == 2 and message in result.output, result.output


def test_paths_without_a_seed_where_the_file_has_none(tmp_path: Path) -> None:
    spec = small(simulation={"margins": {"hashprice_grid_usd_per_th_day": [0.03, 0.06], "months": [3, 6]}})
    result = _invoke("plan", _write(tmp_path, spec), "--out", tmp_path / "out", "--paths", 5)
    assert result.exit_code == 2 and "no simulation.monte_carlo section: give --seed too" in result.output


def test_the_breakevens_make_the_conversion_worth_nothing(
    plan_scenario: Scenario, in_process: PlanRun
) -> None:
    hashprice, gpu = in_process.data.breakevens
    assert hashprice.unit == "USD/PH/day" and gpu.unit == "USD/GPU-hour"
    model = fit_driver_model()
    path = deterministic(model, "2027-03", 4, plan_scenario.drivers)
    for found, driver in ((hashprice, "hashprice"), (gpu, "gpu")):
        assert found.value is not None, found.note
        factor = found.value / found.base_value
        flows = plan_cashflows(plan_scenario, scaled_paths(path, driver, factor), in_process.margins)
        assert abs(float(flows.metrics.npv_difference_usd[0])) < 1e-3  # USD, of an NPV of millions
        moved = plan_cashflows(plan_scenario, scaled_paths(path, driver, factor * 1.05), in_process.margins)
        assert abs(float(moved.metrics.npv_difference_usd[0])) > 100.0
    assert hashprice.base_value == pytest.approx(
        1000 * float(np.mean(path.hashprice_usd_per_th_day[0, :4])), rel=1e-12
    )


def test_the_waterfall_adds_up_to_the_base_paths_npv(in_process: PlanRun) -> None:
    data = in_process.data
    assert sum(step.npv_usd for step in data.waterfall) == pytest.approx(
        data.deterministic_npv_difference_usd, rel=1e-9
    )
    assert {"ai revenue", "capex", "mining margin"} <= {s.label for s in data.waterfall}
    rows = {row.driver: row for row in data.tornado}
    assert rows["GPU rental price"].npv_difference_low_usd < rows["GPU rental price"].npv_difference_high_usd
    assert rows["capex"].npv_difference_low_usd > rows["capex"].npv_difference_high_usd
    assert rows["BTC price"].npv_difference_low_usd > rows["BTC price"].npv_difference_high_usd
    assert len(data.fan.months) == 4 and data.executor == "this process"


def test_the_contract_fixed_margin_is_a_line_of_both_cases_nan_as_zero() -> None:
    spec = scenario(mining_mw=10.0, horizon_months=14)
    table = margin_table(market_years=(2022, 2023))
    fixed = np.arange(24, dtype=np.float64).reshape(2, 12) * 1000.0
    fixed[1, 4] = np.nan  # May 2023 not backtested
    table = dataclasses.replace(table, contract_fixed_margin_usd_per_month=fixed)
    years = np.array([[0] * 12 + [1] * 2, [1] * 12 + [0] * 2])
    flows = plan_cashflows(spec, driver_paths(2, 14, market_year=years, market_years=(2022, 2023)), table)
    expected = np.array([[fixed[y, m % 12] for m, y in enumerate(row)] for row in years])
    expected[np.isnan(expected)] = 0.0
    for lines in (flows.plan, flows.baseline):
        np.testing.assert_array_equal(lines.contract_fixed_margin_usd, expected)
    np.testing.assert_array_equal(flows.baseline.net_usd, expected)  # nothing else: margins 0, no tax
    assert any("no figure in 1 path-months (calendar months 5" in n for n in flows.summary.notes)
    np.testing.assert_allclose(
        npv_usd(10.0, flows.difference_usd), flows.metrics.npv_difference_usd, rtol=1e-12
    )


def _error(tmp_path: Path, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_scenario(_write(tmp_path, small(**overrides)))
    return str(caught.value)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"monte_carlo": {"paths": 0, "seed": 1}}, "simulation.monte_carlo.paths = 0 paths: Input should be greater than or equal to 1"),
        ({"monte_carlo": {"paths": 10}}, "simulation.monte_carlo.seed: required field is missing"),
        ({"chunk_paths": 200_000}, "simulation.chunk_paths = 200000 paths per task: Input should be less than or equal to 100000"),
        ({"margins": {"hashprice_grid_usd_per_th_day": [0.06, 0.03]}}, "hashprice_grid_usd_per_th_day = [0.06, 0.03] USD/(TH/s)/day: the hashprices must be strictly increasing"),
        ({"margins": {"hashprice_grid_usd_per_th_day": [0.03, 150.0]}}, "each hashprice must be in (0, 100] USD/(TH/s)/day"),
        ({"margins": {"strategy": "psychic"}}, "simulation.margins.strategy = 'psychic': unknown strategy; one of"),
        ({"margins": {"months": [3, 5]}}, "simulation.margins.months = [3, 5] (calendar months backtested): the horizon (4 months from 2027-03) also has months 6"),
        ({"margins": {"market_years": [2022]}}, "the driver paths resample market years [2023] (drivers.market_years), so each must be backtested; missing: [2023]"),
        ({"montecarlo": {}}, "simulation.montecarlo: unknown field; did you mean 'monte_carlo'?"),
    ],
)  # fmt: skip
def test_bad_simulation_sections_name_field_value_unit_and_limit(
    tmp_path: Path, section: dict[str, Any], message: str
) -> None:
    assert message in _error(tmp_path, simulation=section)


def test_bad_driver_sections_name_field_value_unit_and_limit(tmp_path: Path) -> None:
    text = _error(tmp_path, drivers={"btc_growth_per_year": 20.0})
    assert (
        "drivers.btc_growth_per_year = 20.0 fraction per year: Input should be less than or equal to 10"
        in text
    )
    text = _error(tmp_path, drivers={"fees_csv_path": "no-such-network.csv"})
    assert "drivers.fees_csv_path = 'no-such-network.csv': no such file" in text
    assert "read from the scenario file's folder" in text
    assert "drivers.start_btc: unknown field" in _error(tmp_path, drivers={"start_btc": 1.0})


def test_the_bundled_example_has_drivers_and_a_monte_carlo() -> None:
    example = load_scenario(EXAMPLES / "plan-west-texas-conversion.yaml")
    mc = example.file.simulation.monte_carlo
    assert mc is not None and mc.paths >= 1_000
    assert example.drivers.start_btc_usd is not None and example.drivers.fees_btc_per_block > 0


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_cache_dir_that_is_a_file_is_refused_before_anything_runs(tmp_path: Path, below: str) -> None:
    # review of issue 13: a file given as --cache-dir ran every backtest uncached, each with two
    # warnings calling a missing entry "corrupt" and promising a rewrite that never came
    mine = tmp_path / "mine.txt"
    mine.write_text("precious\n")
    cache_dir = mine / below if below else mine
    result = _invoke("plan", tmp_path / "missing.yaml", "--out", tmp_path / "out", "--cache-dir", cache_dir)
    assert result.exit_code == 2, result.output
    assert f"--cache-dir = '{cache_dir}': exists and is not a folder" in result.output
    assert "Traceback" not in result.output
    assert mine.read_text() == "precious\n"


def test_a_market_year_without_prices_names_the_scenario_field(tmp_path: Path) -> None:
    # review of issue 13: the error named the year and the price source, not the field to change
    margins = {"hashprice_grid_usd_per_th_day": [0.03, 0.06], "months": [3, 6]}
    spec = small(drivers={"market_years": [1999]}, simulation={"margins": margins})
    result = _invoke("plan", _write(tmp_path, spec), "--out", tmp_path / "out", "--no-monte-carlo")
    assert result.exit_code == 1, result.output
    assert "error: drivers.market_years = [1999] (the real market years backtested): market year 1999-03" in (
        " ".join(result.output.split())
    )
    assert "bundled years: 2020–2023" in result.output and "Traceback" not in result.output


@pytest.mark.filterwarnings("always::powerfirst.planning.margins_cache.MarginCacheWarning")
def test_a_corrupt_cache_entry_is_one_warning_line_and_recomputed(tmp_path: Path) -> None:
    # review of issue 13: the warning came in Python's format, file:line and the source line after it
    cache_dir, path = tmp_path / "cache", _write(tmp_path, small())
    first = _invoke("plan", path, "--out", tmp_path / "a", "--cache-dir", cache_dir, "--no-monte-carlo")
    assert first.exit_code == 0, first.output
    entry = sorted(cache_dir.glob("margins-*.json"))[0]
    entry.write_text(entry.read_text().replace('"payload": {', '"payload": {"tampered": 1, ', 1))
    again = _invoke("plan", path, "--out", tmp_path / "b", "--cache-dir", cache_dir, "--no-monte-carlo")
    assert again.exit_code == 0, again.output
    lines = [x for x in again.output.splitlines() if "is corrupt" in x]
    assert len(lines) == 1 and lines[0].startswith(f"warning: margin cache: {entry} is corrupt"), again.output
    assert "store.load(key)" not in again.output and "MarginCacheWarning" not in again.output
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    assert a["npv_difference_usd"] == b["npv_difference_usd"]


def test_the_gpu_breakeven_is_over_the_months_a_gpu_cloud_rents(cache: Path) -> None:
    # review of issue 13: it was the first year's mean, months before any GPU was rented (the
    # bundled example's cloud rents from month 30: 6.42 "USD/GPU-hour" against ~1.2 paid then)
    spec = small()
    spec["phases"][1]["build_months"] = 2
    scenario = parse_scenario(spec, source="late cloud")
    run = run_plan(scenario, InProcess(), monte_carlo=None, cache_dir=cache)
    gpu = run.data.breakevens[1]
    path = deterministic(fit_driver_model(), "2027-03", 4, scenario.drivers)
    assert gpu.base_value == pytest.approx(float(np.mean(path.gpu_usd_per_gpu_hour[0, 2:])), rel=1e-12)
    assert gpu.base_value != pytest.approx(float(np.mean(path.gpu_usd_per_gpu_hour[0, :4])), rel=1e-6)
    assert "mean over the months a GPU cloud rents, 2027-05 to 2027-06" in gpu.note
    assert gpu.value is not None
    flows = plan_cashflows(scenario, scaled_paths(path, "gpu", gpu.value / gpu.base_value), run.margins)
    assert abs(float(flows.metrics.npv_difference_usd[0])) < 1e-3  # USD


def test_the_notes_say_what_the_horizon_cuts_off() -> None:
    # review of issue 13: a build ending after the horizon, rent after it and GPUs held at it were
    # counted as nothing with only a general note (the example's lease loses 15 of its 120 months)
    spec = small(horizon_months=12, terminal_value={"method": "none"})
    spec["simulation"]["margins"]["months"] = [1, 12]
    spec["phases"][0]["build_months"] = 3  # a 1-year lease from 2027-06: 3 months beyond
    spec["phases"][1]["business"]["refresh_years"] = None
    notes = horizon_notes(parse_scenario(spec, source="s"))
    assert notes == [
        "phases[0] ('lease'): the lease runs to 2028-05; its last 3 months of rent fall after the horizon "
        "and count for nothing",
        "phases[1] ('cloud'): GPUs bought 2027-03 are held at the horizon: no resale value is counted for them",
    ]
    spec["phases"][1]["build_months"] = 12
    assert horizon_notes(parse_scenario(spec, source="s"))[1] == (
        "phases[1] ('cloud'): its build ends 2028-03, after the horizon's last month 2028-02: its capex is "
        "paid and its MW stop mining, but it earns nothing within the horizon"
    )
    example = load_scenario(EXAMPLES / "plan-west-texas-conversion.yaml")
    none = parse_scenario(
        {
            **read_site_yaml(EXAMPLES / "plan-west-texas-conversion.yaml"),
            "terminal_value": {"method": "none"},
        },
        source="example",
        base_dir=EXAMPLES,
    )
    assert horizon_notes(none) == [
        "phases[0] ('hall-a-colocation'): the lease runs to 2038-03; its last 15 months of rent fall after "
        "the horizon and count for nothing",
        "phases[1] ('hall-b-gpu-cloud'): the GPUs bought 2035-07 (18 months before the horizon's end) are "
        "held at the horizon: no resale value is counted for them (resale_pct_of_cost = 20 % is counted "
        "only at a refresh)",
    ]
    # the default, a terminal value: the lease's last 15 months and the GPUs 18 months old are valued
    lease_note, gpu_note = horizon_notes(example)
    assert lease_note.startswith(
        "phases[0] ('hall-a-colocation'): the lease runs to 2038-03; its last 15 months of rent fall after "
        "the horizon and count as a terminal value of "
    )
    assert "discounted at 10 %/year to the horizon" in lease_note
    age = 18 / 36  # of the 36-month refresh: worth 1 − 0.8 × 0.5 = 60 % of 6,000 × 37,000 USD
    assert f"deemed sold at the horizon for {1 - 0.8 * age:.1%} of their cost, 133.20 M USD" in gpu_note
