"""``powerfirst sites rank`` (issue 13, item 4): the bundled ERCOT and CAISO candidates over January
of 2022 and 2023 (``evaluation.months: [1, 1]``; one month-long backtest per year and hashprice,
cached in a folder of the test), their figures recomputed from the bundled price CSVs with pandas
and from the formulas, a user CSV of another year under other names, the CLI end to end, and bad
candidates files.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from powerfirst._paths import DATA_DIR
from powerfirst.cli.app import app
from powerfirst.errors import ConfigError, DataError
from powerfirst.planning.candidates import CLIMATE_PUE, parse_candidates
from powerfirst.planning.margins import margin_table
from powerfirst.planning.ranking import rank_sites
from powerfirst.planning.ranking_result import CandidateResult, Ranking
from powerfirst.policies.registry import load_site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ERCOT = "West Texas (ERCOT HB_WEST)"
CAISO = "Southern California (CAISO SP15)"
HASHPRICE = 55.0  # USD/PH/day, as in examples/candidates.yaml


def _quick_example() -> dict[str, Any]:
    """examples/candidates.yaml, January only, with the site paths made absolute."""
    data = yaml.safe_load((EXAMPLES / "candidates.yaml").read_text())
    data["evaluation"]["months"] = [1, 1]
    for candidate in data["candidates"]:
        candidate["site"] = str(EXAMPLES / candidate["site"])
    return data


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("margin-cache")


@pytest.fixture(scope="module")
def ranked(cache: Path) -> Ranking:
    plan, ready = parse_candidates(_quick_example(), base=EXAMPLES, source="quick")
    return rank_sites(plan, ready, source="quick", cache_dir=cache)


def _by_name(ranking: Ranking, name: str) -> CandidateResult:
    return next(c for c in ranking.candidates if c.name == name)


def _january(market: str, file: str, column: str, year: int) -> pd.Series:
    """January of ``year`` (market-local) of a bundled price CSV, read with pandas alone."""
    frame = pd.read_csv(
        DATA_DIR / market / file, usecols=["interval_start_utc", "interval_start_local", column]
    )
    frame = frame[frame["interval_start_local"].str.startswith(f"{year}-01-")]
    index = pd.DatetimeIndex(pd.to_datetime(frame["interval_start_utc"], utc=True))
    return pd.Series(frame[column].to_numpy(dtype=float), index=index).dropna()


def _breakeven(site_file: str) -> float:
    """The site's breakeven by the formula: hashprice / (0.024 × J/TH) / PUE × (1 − pool fee), per
    fleet, weighted by the fleets' MW at the meter."""
    site = load_site(EXAMPLES / site_file)
    mw = np.array([f.units * f.unit_power_w * f.effective_pue / 1e6 for f in site.fleets])
    each = np.array(
        [
            HASHPRICE
            / (0.024 * f.unit_power_w / f.unit_hashrate_ths)
            / f.effective_pue
            * (1 - f.pool_fee_fraction)
            for f in site.fleets
        ]
    )
    return float(np.sum(mw * each) / np.sum(mw))


@pytest.mark.parametrize(
    ("name", "market", "file", "column", "site_file", "adders"),
    [
        (ERCOT, "ercot", "ercot_rt_hub_spp_15min_{}.csv.gz", "HB_WEST", "west-texas-fixed-block.yaml", 3.5),
        (CAISO, "caiso", "caiso_rt_lmp_15min_{}.csv.gz", "SP15_LMP", "caiso-index.yaml", 18.0),
    ],
)
def test_price_figures_are_those_counted_from_the_csv(
    ranked: Ranking, name: str, market: str, file: str, column: str, site_file: str, adders: float
) -> None:
    result = _by_name(ranked, name)
    assert result.market == market and result.market_years == [2022, 2023]
    breakeven = _breakeven(site_file)
    assert result.breakeven_usd_per_mwh == pytest.approx(breakeven, rel=1e-12)
    assert 60.0 < breakeven < 120.0
    for year in result.years:
        prices = _january(market, file.format(year.market_year), column, year.market_year)
        assert year.priced_hours == pytest.approx(len(prices) * 0.25)
        assert year.negative_price_hours == pytest.approx((prices < 0).sum() * 0.25)
        assert year.below_breakeven_hours == pytest.approx((prices + adders < breakeven).sum() * 0.25)
        hourly = prices.groupby(prices.index.floor("h")).mean()
        assert year.volatility_usd_per_mwh == pytest.approx(hourly.std(ddof=1), rel=1e-9)
        assert year.mean_price_usd_per_mwh == pytest.approx(prices.mean(), rel=1e-9)
        assert year.negative_price_share == pytest.approx(year.negative_price_hours / year.priced_hours)
    if market == "ercot":
        assert all(y.negative_price_hours > 50 for y in result.years)  # West Texas wind: ~15 % of January


def test_values_per_mw_are_the_margin_table_and_the_gpu_arithmetic(ranked: Ranking, cache: Path) -> None:
    west, caiso = _by_name(ranked, ERCOT), _by_name(ranked, CAISO)
    for result, site_file, pue, price, heat in (
        (west, "west-texas-fixed-block.yaml", CLIMATE_PUE["hot-arid"], 2.35, 0.0),  # remote: batch price only
        (caiso, "caiso-index.yaml", CLIMATE_PUE["temperate"], 0.5 * 2.35 + 0.5 * 2.85, 15.0 * 0.4),  # metro
    ):
        site = load_site(EXAMPLES / site_file)
        table = margin_table(site, [2022, 2023], [0.055, 0.066], months=(1, 1), cache_dir=cache)
        assert any("4 of 4 backtests read from the cache" in n for n in table.notes)  # the same backtests
        for k, year in enumerate(result.years):
            mining = table.mining_margin_usd_per_mw_month[k, 0, 0] * 12
            cost = table.ai_power_cost_usd_per_mw_month[k, 0] * 12
            assert table.contract_fixed_margin_usd_per_month is not None
            contract = table.contract_fixed_margin_usd_per_month[k, 0] / site.max_load_mw * 12
            revenue = 1000 / (1.275 * pue) * 744 * 0.8 * price * 12  # GPUs per meter MW × January hours
            ai = revenue - cost
            assert year.mining_margin_usd_per_mw_year == pytest.approx(mining, rel=1e-12)
            assert year.ai_revenue_usd_per_mw_year == pytest.approx(revenue, rel=1e-12)
            assert year.ai_margin_usd_per_mw_year == pytest.approx(ai, rel=1e-12)
            assert year.ai_margin_usd_per_it_mw_year == pytest.approx(revenue * pue - cost * pue, rel=1e-12)
            assert year.hybrid_margin_usd_per_mw_year == pytest.approx(0.2 * ai + 0.8 * mining, rel=1e-12)
            flat_heat = heat * 744 * 12
            share = year.below_breakeven_share
            assert year.heat_usd_per_mw_year["ai"] == pytest.approx(flat_heat)
            assert year.heat_usd_per_mw_year["mining"] == pytest.approx(flat_heat * share)
            assert year.value_usd_per_mw_year["mining"] == pytest.approx(
                mining + flat_heat * share + contract
            )
            assert year.value_usd_per_mw_year["ai"] == pytest.approx(ai + flat_heat + contract)
            slope = (
                table.mining_margin_usd_per_mw_month[k, 1, 0] - table.mining_margin_usd_per_mw_month[k, 0, 0]
            ) * 12
            assert year.mining_margin_per_hashprice_usd_per_mw_year_per_usd_ph_day == pytest.approx(
                slope / 11.0
            )
            assert slope > 0  # mining earns more at a higher hashprice
    assert all(y.contract_usd_per_mw_year != 0 for y in west.years)  # the fixed block's site-level margin
    assert all(y.contract_usd_per_mw_year == 0 for y in caiso.years)  # an index contract has none


def test_the_score_is_the_weighted_components_relative_to_the_best(ranked: Ranking) -> None:
    # review of issue 13: min–max normalisation gave two candidates only 0 or 1 on every component
    assert [c.rank for c in ranked.candidates] == [1, 2]
    first, second = ranked.candidates
    assert first.score >= second.score
    weights = {
        "value": 0.5,
        "below_breakeven": 0.1,
        "negative_prices": 0.1,
        "volatility": 0.1,
        "policy_risk": 0.2,
    }
    west, caiso = _by_name(ranked, ERCOT), _by_name(ranked, CAISO)
    for c in ranked.candidates:
        assert c.score == pytest.approx(sum(p.points for p in c.components))
        for part in c.components:
            assert part.weight == pytest.approx(weights[part.name])
            assert part.points == pytest.approx(100 * part.weight * part.normalised)
        assert c.best_use == max(c.net_value_usd_per_mw_year, key=lambda u: c.net_value_usd_per_mw_year[u])
    parts = {c.name: {p.name: p for p in c.components} for c in (west, caiso)}
    # policy risk on its 0–10 scale: 4 → 0.6, 6 → 0.4 (min–max made them 1 and 0)
    assert parts[ERCOT]["policy_risk"].normalised == pytest.approx(0.6)
    assert parts[CAISO]["policy_risk"].normalised == pytest.approx(0.4)
    # volatility, lower is better: best / value; negative-price share, higher is better: value / best
    vol = [west.volatility_usd_per_mwh, caiso.volatility_usd_per_mwh]
    assert parts[ERCOT]["volatility"].normalised == pytest.approx(min(vol) / vol[0])
    assert parts[CAISO]["volatility"].normalised == pytest.approx(min(vol) / vol[1])
    neg = [west.negative_price_share, caiso.negative_price_share]
    assert parts[ERCOT]["negative_prices"].normalised == 1.0  # more negative hours in West Texas than SP15
    assert parts[CAISO]["negative_prices"].normalised == pytest.approx(neg[1] / neg[0])
    assert 0.0 < parts[CAISO]["negative_prices"].normalised < 1.0
    assert not west.interactive_inference and caiso.interactive_inference


def test_uses_are_compared_net_of_capital(ranked: Ranking) -> None:
    # review of issue 13: the AI value per MW was compared before its GPUs and hall, so AI always won.
    # CRF(10 %, 15 y) = 0.131474, CRF(10 %, 3 y) = 0.402115 (r (1 + r)^n / ((1 + r)^n − 1))
    crf15 = 0.1 * 1.1**15 / (1.1**15 - 1)
    crf3 = 0.1 * 1.1**3 / (1.1**3 - 1)
    assert crf15 == pytest.approx(0.131474, abs=1e-6) and crf3 == pytest.approx(0.402115, abs=1e-6)
    for c in ranked.candidates:
        gpus_per_mw = 1000 / (1.275 * c.ai_pue)
        ai = 11e6 * crf15 + gpus_per_mw * 37_000 * crf3
        mining = 0.35e6 * crf15
        charge = c.capital_charge_usd_per_mw_year
        assert charge["ai"] == pytest.approx(ai) and charge["mining"] == pytest.approx(mining)
        assert charge["hybrid"] == pytest.approx(0.2 * ai + 0.8 * mining)
        for use in ("mining", "ai", "hybrid"):
            assert c.net_value_usd_per_mw_year[use] == pytest.approx(
                c.value_usd_per_mw_year[use] - charge[use]
            )
        value = next(p for p in c.components if p.name == "value")
        assert value.raw == pytest.approx(c.net_value_usd_per_mw_year[c.ranked_use])
        # before capital AI is far ahead; net of its ~10 M USD/MW-year of capital it no longer is
        assert c.value_usd_per_mw_year["ai"] > c.value_usd_per_mw_year["mining"]
        assert c.value_usd_per_mw_year["ai"] - c.net_value_usd_per_mw_year["ai"] > 9e6


def test_two_candidates_score_by_their_ratio_to_the_best() -> None:
    from powerfirst.planning.ranking import capital_recovery_factor
    from powerfirst.planning.ranking_score import score_components

    weights = {
        "value": 1.0,
        "below_breakeven": 1.0,
        "negative_prices": 1.0,
        "volatility": 1.0,
        "policy_risk": 1.0,
    }
    raw = [
        {
            "value": 2e6,
            "below_breakeven": 0.5,
            "negative_prices": 0.1,
            "volatility": 20.0,
            "policy_risk": 2.0,
        },
        {
            "value": 1.5e6,
            "below_breakeven": 0.4,
            "negative_prices": 0.0,
            "volatility": 40.0,
            "policy_risk": 5.0,
        },
    ]
    a, b = ({p.name: p.normalised for p in parts} for parts in score_components(raw, weights))
    assert a == pytest.approx(
        {"value": 1.0, "below_breakeven": 1.0, "negative_prices": 1.0, "volatility": 1.0, "policy_risk": 0.8}
    )
    assert b == pytest.approx(
        {"value": 0.75, "below_breakeven": 0.8, "negative_prices": 0.0, "volatility": 0.5, "policy_risk": 0.5}
    )
    # every net value a loss: best / value (a loss twice the best's scores 0.5); a loss beside a gain: 0
    losses = [dict(raw[0], value=-1e6), dict(raw[1], value=-2e6)]
    assert [parts[0].normalised for parts in score_components(losses, weights)] == pytest.approx([1.0, 0.5])
    mixed = [dict(raw[0], value=1e6), dict(raw[1], value=-2e6)]
    assert [parts[0].normalised for parts in score_components(mixed, weights)] == [1.0, 0.0]
    assert capital_recovery_factor(0.0, 4) == 0.25 and capital_recovery_factor(10.0, 1) == pytest.approx(1.1)


def test_the_latency_rule_and_rank_by(cache: Path) -> None:
    data = _quick_example()
    base = data["candidates"][1]
    data["candidates"] = [
        {**base, "name": "remote", "latency": "remote", "market_years": [2023]},
        {**base, "name": "regional", "latency": "regional", "market_years": [2023]},
    ]
    data["evaluation"]["rank_by"] = "mining"
    plan, ready = parse_candidates(data, base=EXAMPLES)
    ranking = rank_sites(plan, ready, cache_dir=cache)
    remote, regional = _by_name(ranking, "remote"), _by_name(ranking, "regional")
    gpus = 1000 / (1.275 * 1.25)
    extra = gpus * 744 * 0.8 * 0.5 * (2.85 - 2.35) * 12  # half the GPU-hours at the interactive price
    assert regional.years[0].ai_revenue_usd_per_mw_year - remote.years[0].ai_revenue_usd_per_mw_year == (
        pytest.approx(extra)
    )
    assert remote.years[0].mining_margin_usd_per_mw_year == regional.years[0].mining_margin_usd_per_mw_year
    assert remote.ranked_use == regional.ranked_use == "mining"
    assert any("latency rule" in n for n in remote.notes)


def _user_csv(folder: Path) -> Path:
    """January 2023 of the bundled HB_WEST series moved to January 2025 (731 days, CST both), under
    other column names."""
    prices = _january("ercot", "ercot_rt_hub_spp_15min_2023.csv.gz", "HB_WEST", 2023)
    stamps = prices.index + pd.Timedelta(days=731)
    local = stamps.tz_convert("America/Chicago").strftime("%Y-%m-%dT%H:%M:%S%z")
    frame = pd.DataFrame(
        {
            "interval_start_utc": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_start_local": [re.sub(r"(\d{2})(\d{2})$", r"\1:\2", s) for s in local],
            "lmp_west_usd": prices.to_numpy(),
        }
    )
    path = folder / "west_2025.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_user_csv_of_another_year_under_other_names(ranked: Ranking, tmp_path: Path, cache: Path) -> None:
    _user_csv(tmp_path)
    data = _quick_example()
    data["candidates"] = [
        {
            "name": "West Texas, my own 2025 prices",
            "site": str(EXAMPLES / "west-texas-fixed-block.yaml"),
            "prices": "west_2025.csv:lmp_west_usd",  # relative to the candidates file
            "market": "ercot",
            "pue": 1.3,
            "latency": "regional",
            "policy_risk_score": 2.5,
        }
    ]
    (tmp_path / "candidates.yaml").write_text(yaml.safe_dump(data))
    from powerfirst.planning.candidates import load_candidates

    plan, ready = load_candidates(tmp_path / "candidates.yaml")
    mine = rank_sites(plan, ready, cache_dir=cache).candidates[0]
    assert mine.market_years == [2025]  # every year the file covers
    assert mine.ai_pue == 1.3 and mine.climate is None and mine.market == "ercot"
    year, bundled = mine.years[0], _by_name(ranked, ERCOT).years[1]
    assert bundled.market_year == 2023 and year.price_source.endswith("west_2025.csv:lmp_west_usd")
    for field in (
        "priced_hours",
        "negative_price_hours",
        "below_breakeven_hours",
        "volatility_usd_per_mwh",
        "mining_margin_usd_per_mw_year",
        "ai_power_cost_usd_per_mw_year",
        "contract_usd_per_mw_year",
    ):
        assert getattr(year, field) == pytest.approx(getattr(bundled, field), rel=1e-9), field
    assert mine.score == pytest.approx(
        95.0
    )  # alone, the best on every component but policy risk: 2.5 of 10 → 0.75 × 20


def _write_quick(folder: Path) -> Path:
    path = folder / "candidates.yaml"
    path.write_text(yaml.safe_dump(_quick_example()))
    return path


def test_the_cli_writes_the_three_files_and_a_self_contained_report(
    ranked: Ranking, tmp_path: Path, cache: Path
) -> None:
    path, out = _write_quick(tmp_path), tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["sites", "rank", str(path), "--out", str(out), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "ranking.json",
        "ranking.csv",
        "ranking.html",
        "powerfirst-run.json",
    }
    assert "Site ranking" in result.output and "Southern" in result.output and "West Texas" in result.output
    written = Ranking.model_validate_json((out / "ranking.json").read_text())
    assert [c.name for c in written.candidates] == [c.name for c in ranked.candidates]
    assert [c.score for c in written.candidates] == pytest.approx([c.score for c in ranked.candidates])
    table = pd.read_csv(out / "ranking.csv")
    assert list(table["name"]) == [c.name for c in ranked.candidates]
    assert table["score"].to_numpy() == pytest.approx([c.score for c in ranked.candidates])
    assert {"value_points", "policy_risk_raw", "ai_value_usd_per_mw_year"} <= set(table.columns)
    html = (out / "ranking.html").read_text()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and not any("src=" in s for s in scripts)  # plotly.js inlined, nothing fetched
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?https?:", html)
    assert "Plotly.newPlot" in html and ERCOT in html and "policy risk" in html
    manifest = json.loads((out / "powerfirst-run.json").read_text())
    assert sorted(f["path"] for f in manifest["files"]) == ["ranking.csv", "ranking.html", "ranking.json"]
    again = runner.invoke(app, ["sites", "rank", str(path), "--out", str(out), "--cache-dir", str(cache)])
    assert again.exit_code == 0, again.output  # an earlier run of its own is replaced


def test_a_foreign_file_in_out_is_never_overwritten(tmp_path: Path, cache: Path) -> None:
    path, out = _write_quick(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / "ranking.csv").write_text("mine, not powerfirst's\n")
    result = CliRunner().invoke(
        app, ["sites", "rank", str(path), "--out", str(out), "--cache-dir", str(cache)]
    )
    assert result.exit_code == 2
    assert "ranking.csv" in result.output and "did not write" in result.output
    assert (out / "ranking.csv").read_text() == "mine, not powerfirst's\n"
    assert [p.name for p in out.iterdir()] == ["ranking.csv"]


def _candidate(**changes: Any) -> dict[str, Any]:
    data = _quick_example()
    data["candidates"] = [copy.deepcopy(data["candidates"][0]) | changes]
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            _candidate(policy_risk_score=11),
            "candidates[0] ('West Texas (ERCOT HB_WEST)').policy_risk_score = 11 score, 0 to 10: "
            "Input should be less than or equal to 10",
        ),
        (
            _candidate(climate=None, pue=0.8),
            "pue = 0.8 ratio, meter power / IT power: Input should be greater than or equal to 1",
        ),
        (
            _candidate(heat_reuse={"price_usd_per_mwh_thermal": 20.0, "recoverable_fraction": 1.5}),
            "heat_reuse.recoverable_fraction = 1.5 fraction, 0 to 1: Input should be less than or equal to 1",
        ),
        (_candidate(latency="rural"), "latency = 'rural': Input should be 'remote', 'regional' or 'metro'"),
        (_candidate(pue=1.3), "give either climate (cold, temperate, hot-arid, hot-humid) or pue"),
        (_candidate(climate="tropical"), "climate = 'tropical': Input should be 'cold', 'temperate'"),
        (_candidate(market_years=[2022, 2022]), "a year repeats"),
        (
            _candidate(market_years=[1900]),
            "market_years[0] = 1900 year: Input should be greater than or equal to 1990",
        ),
        (
            _candidate(policy_risk_score="3"),
            "policy_risk_score = '3' score, 0 to 10: Input should be a valid number",
        ),
        (
            _candidate(latencyy="remote"),
            "candidates[0] ('West Texas (ERCOT HB_WEST)').latencyy: unknown field; did you mean 'latency'?",
        ),
        (_candidate(market="nordpool"), "market = 'nordpool': unknown market; known markets:"),
    ],
)
def test_bad_candidates_name_field_value_unit_and_limit(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_candidates(data, base=EXAMPLES, source="c.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("c.yaml: invalid candidates file")


@pytest.mark.parametrize(
    ("section", "changes", "expected"),
    [
        (
            "assumptions",
            {"hashprice_usd_per_ph_day": -5},
            "assumptions.hashprice_usd_per_ph_day = -5 USD/PH/day: Input should be greater than 0",
        ),
        (
            "assumptions",
            {"gpu_interactive_usd_per_gpu_hour": 2.0},
            "must be at least gpu_batch_usd_per_gpu_hour = 2.35 USD/GPU-hour",
        ),
        (
            "assumptions",
            {"it_kw_per_gpu": 50.0},
            "it_kw_per_gpu = 50.0 kW per GPU: Input should be less than or",
        ),
        (
            "assumptions",
            {"gpu_life_years": 0},
            "assumptions.gpu_life_years = 0 years: Input should be greater than or equal to 1",
        ),
        (
            "assumptions",
            {"ai_capex_usd_per_mw": 9e7},
            "assumptions.ai_capex_usd_per_mw = 90000000.0 USD/MW: Input should be less than or equal to",
        ),
        (
            "assumptions",
            {"discount_rate_pct_per_year": 150.0},
            "discount_rate_pct_per_year = 150.0 %/year: Input should be less than or equal to 100",
        ),
        (
            "weights",
            {"value": 0, "below_breakeven": 0, "negative_prices": 0, "volatility": 0, "policy_risk": 0},
            "every weight is 0",
        ),
        ("weights", {"value": -1}, "weights.value = -1 weight: Input should be greater than or equal to 0"),
        ("evaluation", {"months": [3, 2]}, "evaluation.months = [3, 2]"),
        ("evaluation", {"strategy": "guess"}, "evaluation.strategy = 'guess': unknown strategy; one of"),
    ],
)
def test_bad_assumptions_weights_and_evaluation(section: str, changes: dict[str, Any], expected: str) -> None:
    data = _quick_example()
    data[section] = data[section] | changes
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_candidates(data, base=EXAMPLES)


def test_bad_site_references_and_overrides(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"candidates\[0\] \('West Texas \(ERCOT HB_WEST\)'\)\.site = 'nowhere.yaml': no such file",
    ):
        parse_candidates(_candidate(site="nowhere.yaml"), base=tmp_path)
    overrides = {"grid": {"connection_limit_mw": -1}}
    with pytest.raises(ConfigError, match=r"grid\.connection_limit_mw = -1 MW") as caught:
        parse_candidates(_candidate(overrides=overrides), base=EXAMPLES)
    assert "with the overrides of" in str(caught.value)
    # overrides merge key by key: the rest of the contract stays
    _plan, ready = parse_candidates(_candidate(overrides={"contract": {"block_mw": 60}}), base=EXAMPLES)
    assert ready[0].site.contract.kind == "fixed_block" and ready[0].site.contract.block_mw == 60
    assert ready[0].site.contract.block_price_usd_per_mwh == 35.0
    inline = yaml.safe_load((EXAMPLES / "caiso-index.yaml").read_text())
    _plan, ready = parse_candidates(_candidate(site=inline), base=EXAMPLES)
    assert ready[0].site.name == "Southern California index site (SP15)"


def test_the_cli_reports_a_bad_file_and_a_year_without_data(tmp_path: Path, cache: Path) -> None:
    bad = _candidate(policy_risk_score=12)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = CliRunner().invoke(app, ["sites", "rank", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "policy_risk_score = 12 score, 0 to 10" in result.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    missing = CliRunner().invoke(
        app, ["sites", "rank", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2 and "cannot read the candidates file: no such file" in missing.output
    plan, ready = parse_candidates(_candidate(market_years=[2019]), base=EXAMPLES)
    # review of issue 13: the message names the candidate's field, market_years, not only the year
    match = r"candidate 'West Texas \(ERCOT HB_WEST\)': market_years = \[2019\]: market year 2019"
    with pytest.raises(DataError, match=match):
        rank_sites(plan, ready, cache_dir=cache)


def test_a_cache_dir_that_is_a_file_is_refused_before_anything_runs(tmp_path: Path) -> None:
    # review of issue 13: a file given as --cache-dir ran every backtest uncached, with warnings
    mine = tmp_path / "mine.txt"
    mine.write_text("precious\n")
    args = ["sites", "rank", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--cache-dir", str(mine)])
    assert result.exit_code == 2, result.output
    assert f"--cache-dir = '{mine}': exists and is not a folder" in result.output
    assert mine.read_text() == "precious\n"
    # --no-cache reads and writes no cache: the folder is not looked at
    result = CliRunner().invoke(app, [*args, "--cache-dir", str(mine), "--no-cache"])
    assert "--cache-dir" not in result.output
