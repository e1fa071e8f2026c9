"""Per-MW margins for planning (issue 13): backtests of a site under a market year at a constant
hashprice, read back from a disk cache.

Each backtest here is one month of one market year (about 0.3–0.5 s); the figures are checked
against the ledger of the same backtest run directly through the engine.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from powerfirst.backtest import runner
from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.errors import ConfigError, DataError
from powerfirst.market.sources import read_bundled_table
from powerfirst.planning import margins_backtest
from powerfirst.planning.margins import available_market_years, margin_runs, margin_table, mining_site
from powerfirst.planning.margins_cache import MarginCacheWarning
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GRID = [0.05, 0.1]
"""Hashprices [USD/(TH/s)/day] (50 and 100 USD/PH/day)."""


@pytest.fixture(scope="module")
def hybrid() -> Site:
    return load_site(EXAMPLES / "west-texas-hybrid.yaml")


@pytest.fixture(scope="module")
def block() -> Site:
    return load_site(EXAMPLES / "west-texas-fixed-block.yaml")


@pytest.fixture
def backtests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every backtest the margins module runs (the real engine), by market year and hashprice."""
    ran: list[str] = []

    def counted(bt: runner.Backtest, name: str, **kwargs: Any) -> runner.StrategyResult:
        ran.append(f"{bt.window.start_utc.isoformat()} {bt.inputs.hashprice_usd_per_th_day[0]:g}")
        return run_strategy(bt, name, **kwargs)

    monkeypatch.setattr(margins_backtest, "run_strategy", counted)
    yield ran


def test_the_table_is_the_ledger_of_the_same_backtest_and_grows_with_hashprice(hybrid: Site) -> None:
    grid = [0.04, 0.07, 0.1]
    # the block inside the mining margin: the margin is then the ledger's net margin per MW
    table = margin_table(hybrid, [2023], grid, months=(8, 8), use_cache=False, block_in_mining_margin=True)
    assert table.mining_margin_usd_per_mw_month.shape == (1, 3, 12)
    assert table.ai_power_cost_usd_per_mw_month.shape == (1, 12)
    august = table.mining_margin_usd_per_mw_month[0, :, 7]
    assert np.all(np.diff(august) > 0), august
    others = np.delete(table.mining_margin_usd_per_mw_month[0], 7, axis=1)
    assert np.isnan(others).all() and np.isnan(np.delete(table.ai_power_cost_usd_per_mw_month[0], 7)).all()

    # the same backtest, run directly: the site without its hall, hashprice held at 0.1
    bt = prepare_backtest(mining_site(hybrid, 0.1), "2023-08-01", "2023-08-31")
    assert bt.inputs.site.hall is None and bt.inputs.num_intervals == 31 * 96
    ledger = run_strategy(bt, "breakeven").ledger
    fleet_mw = (10000 * 3.068 * 1.06 + 12000 * 3.010 * 1.10) / 1000  # S19jPro and S19XP units × W × PUE
    assert float(np.sum(bt.inputs.site.max_power_mw)) == pytest.approx(fleet_mw, rel=1e-3)
    assert august[2] == pytest.approx(
        ledger.net_margin_usd / float(np.sum(bt.inputs.site.max_power_mw)), rel=1e-9
    )
    frame = ledger.intervals
    assert frame["fourcp_usd_per_mw"].sum() > 0  # August has a 4CP peak: its charge is in both figures
    flat = ((frame["price_usd_per_mwh"] + 3.5) * 0.25).sum() + frame["fourcp_usd_per_mw"].sum()
    assert table.ai_power_cost_usd_per_mw_month[0, 7] == pytest.approx(flat, rel=1e-9)
    text = " ".join(table.notes)
    assert "GPU hall is left out" in text and "fixed block" in text and "months 1, 2, 3" in text


def test_the_cache_is_hit_then_invalidated_by_the_site_and_the_data(
    block: Site, tmp_path: Path, backtests: list[str]
) -> None:
    cache = tmp_path / "cache"
    first = margin_table(block, [2023], GRID, months=(3, 3), cache_dir=cache)
    assert len(backtests) == 2
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert len(list(cache.glob("margins-*.json"))) == 2
    again = margin_table(block, [2023], GRID, months=(3, 3), cache_dir=cache)
    assert len(backtests) == 2  # nothing run again
    np.testing.assert_array_equal(again.mining_margin_usd_per_mw_month, first.mining_margin_usd_per_mw_month)
    np.testing.assert_array_equal(again.ai_power_cost_usd_per_mw_month, first.ai_power_cost_usd_per_mw_month)
    assert "2 of 2 backtests read from the cache" in again.notes[-1]

    cheaper = block.model_copy(
        update={"contract": block.contract.model_copy(update={"block_price_usd_per_mwh": 30.0})}
    )
    changed = margin_table(cheaper, [2023], GRID, months=(3, 3), cache_dir=cache)
    assert len(backtests) == 4
    # a cheaper block: the same per-MW mining margin, a larger site-level contract margin
    assert changed.contract_fixed_margin_usd_per_month is not None
    assert first.contract_fixed_margin_usd_per_month is not None
    assert changed.contract_fixed_margin_usd_per_month[0, 2] > first.contract_fixed_margin_usd_per_month[0, 2]


def test_the_block_apart_is_the_same_site_on_an_index_contract(block: Site, tmp_path: Path) -> None:
    """Energy under a block = p·L + (K − p)·Q: without that fixed part the mining margin is the
    one of the same fleets buying everything at the real-time price (same adders)."""
    apart = margin_table(block, [2023], GRID, months=(3, 3), cache_dir=tmp_path, block_in_mining_margin=False)
    within = margin_table(block, [2023], GRID, months=(3, 3), cache_dir=tmp_path, block_in_mining_margin=True)
    contract = block.contract.model_dump(exclude={"kind", "block_mw", "block_price_usd_per_mwh"})
    data = block.model_dump(mode="json", exclude_none=True) | {"contract": {"kind": "index", **contract}}
    index = margin_table(parse_site(data, source="index"), [2023], GRID, months=(3, 3), use_cache=False)
    march = np.s_[0, :, 2]
    np.testing.assert_allclose(
        apart.mining_margin_usd_per_mw_month[march], index.mining_margin_usd_per_mw_month[march], rtol=1e-9
    )
    assert not np.allclose(
        within.mining_margin_usd_per_mw_month[march], apart.mining_margin_usd_per_mw_month[march]
    )
    np.testing.assert_allclose(
        within.ai_power_cost_usd_per_mw_month, index.ai_power_cost_usd_per_mw_month, rtol=1e-9
    )
    assert "mining margin leaves out" in " ".join(apart.notes)
    # what is left out is the site-level term, per MW of the fleets
    assert (
        apart.contract_fixed_margin_usd_per_month is not None
        and within.contract_fixed_margin_usd_per_month is None
    )
    mining_mw = margin_runs(block, [2023], GRID, months=(3, 3), cache_dir=tmp_path)[0][0].mining_mw
    np.testing.assert_allclose(
        within.mining_margin_usd_per_mw_month[march] - apart.mining_margin_usd_per_mw_month[march],
        apart.contract_fixed_margin_usd_per_month[0, 2] / mining_mw,
        rtol=1e-6,
    )


def _shifted_csv(folder: Path, name: str = "west_2025.csv") -> Path:
    """April 2023 of the bundled ERCOT HB_WEST series, moved 731 days later (April 2025, same
    weekdays' offsets: CDT both), in the bundled file format under other names."""
    table = read_bundled_table("ercot", "ercot_rt_hub_spp_15min_2023.csv.gz")
    start, end = pd.Timestamp("2023-04-01T05:00Z"), pd.Timestamp("2023-05-01T05:00Z")
    april = table.loc[(table.index >= start) & (table.index < end), "HB_WEST"]
    stamps = april.index + pd.Timedelta(days=731)
    frame = pd.DataFrame(
        {
            "interval_start_utc": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_start_local": stamps.tz_convert("America/Chicago").strftime("%Y-%m-%dT%H:%M:%S%z"),
            "west_hub_usd_per_mwh": april.to_numpy(),
        }
    )
    frame["interval_start_local"] = frame["interval_start_local"].str.replace(
        r"(\d{2})(\d{2})$", r"\1:\2", regex=True
    )
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def _csv_site(block: Site, path: Path) -> Site:
    data = block.model_dump(mode="json", exclude_none=True)
    data["contract"]["price_series"] = f"{path}:west_hub_usd_per_mwh"
    data["market"] = "ercot"
    return parse_site(data, source="csv site")


def test_a_user_csv_of_another_year_gives_the_same_margins_as_the_same_prices_bundled(
    block: Site, tmp_path: Path, backtests: list[str]
) -> None:
    site = _csv_site(block, _shifted_csv(tmp_path))
    assert available_market_years(site) == (2025,)
    assert available_market_years(block) == (2020, 2021, 2022, 2023)
    table = margin_table(site, [2025], GRID, cache_dir=tmp_path / "cache")  # the whole year asked for
    assert len(backtests) == 2 and all(b.startswith("2025-04-01T05:00:00") for b in backtests)  # April only
    bundled = margin_table(block, [2023], GRID, months=(4, 4), use_cache=False)
    np.testing.assert_allclose(
        table.mining_margin_usd_per_mw_month[0, :, 3],
        bundled.mining_margin_usd_per_mw_month[0, :, 3],
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        table.ai_power_cost_usd_per_mw_month[0, 3], bundled.ai_power_cost_usd_per_mw_month[0, 3], rtol=1e-9
    )
    finite = np.isfinite(table.mining_margin_usd_per_mw_month[0, 0])
    assert finite.tolist() == [m == 3 for m in range(12)]
    assert any("months 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12 not backtested" in n for n in table.notes)


def test_a_hole_in_the_data_is_said_and_its_month_scaled(block: Site, tmp_path: Path) -> None:
    path = _shifted_csv(tmp_path)
    lines = path.read_text().splitlines()
    del lines[1001:1097]  # one day of April 2025 without a row: a hole, not filled
    path.write_text("\n".join(lines) + "\n")
    runs = margin_runs(_csv_site(block, path), [2025], GRID, months=(4, 4), use_cache=False)
    april = runs[0][1]
    assert april.months["intervals_priced"][3] == 30 * 96 - 96
    assert april.months["intervals_in_month"][3] == 30 * 96
    scaled = april.months["net_margin_usd"][3] * 30 / 29 / april.mining_mw
    assert april.mining_margin_usd_per_mw_month[3] == pytest.approx(scaled, rel=1e-12)
    text = " ".join(april.notes)
    assert "4: 2,784 of 2,880" in text and "96 missing" in text


def test_changed_input_data_and_corrupt_entries_are_recomputed(
    block: Site, tmp_path: Path, backtests: list[str]
) -> None:
    path = _shifted_csv(tmp_path)
    site = _csv_site(block, path)
    cache = tmp_path / "cache"
    first = margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)
    assert len(backtests) == 2
    margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)
    assert len(backtests) == 2

    text = path.read_text().splitlines()
    row = text[500].split(",")
    row[-1] = "4999.0"  # one interval at the price cap
    text[500] = ",".join(row)
    path.write_text("\n".join(text) + "\n")
    dearer = margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)
    assert len(backtests) == 4
    assert dearer.ai_power_cost_usd_per_mw_month[0, 3] > first.ai_power_cost_usd_per_mw_month[0, 3]

    entries = sorted(cache.glob("margins-*.json"), key=lambda p: p.stat().st_mtime_ns)[-2:]
    tampered = json.loads(entries[0].read_text())
    tampered["payload"]["result"]["mining_mw"] *= 2
    entries[0].write_text(json.dumps(tampered))
    entries[1].write_text(entries[1].read_text()[:200])  # cut short
    with pytest.warns(MarginCacheWarning, match="corrupt"):
        again = margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)
    assert len(backtests) == 6
    np.testing.assert_array_equal(again.mining_margin_usd_per_mw_month, dearer.mining_margin_usd_per_mw_month)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)  # rewritten, trusted again
    assert len(backtests) == 6


def test_a_file_the_program_did_not_write_is_left_alone(
    block: Site, tmp_path: Path, backtests: list[str]
) -> None:
    site = _csv_site(block, _shifted_csv(tmp_path))
    cache = tmp_path / "cache"
    cache.mkdir()
    key = "0" * 64
    stale, young, users = (cache / f".margins-{key}.json.{t}.part" for t in ("abcd1234", "efgh5678", "mine"))
    for path in (stale, young, users):
        path.write_text("partial")
    os.utime(stale, (1e9, 1e9))
    os.utime(users, (1e9, 1e9))
    margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)
    assert not stale.exists() and young.exists() and users.exists()  # only a killed write's leftover goes
    entry = sorted(cache.glob("margins-*.json"))[0]
    entry.write_text("my own notes, not a cache entry\n")
    with pytest.warns(MarginCacheWarning, match="not an entry powerfirst wrote"):
        table = margin_table(site, [2025], GRID, months=(4, 4), cache_dir=cache)
    assert len(backtests) == 3  # that one recomputed, the other read
    assert entry.read_text() == "my own notes, not a cache entry\n"
    assert np.isfinite(table.mining_margin_usd_per_mw_month[0, :, 3]).all()


def test_a_year_without_data_names_the_year_and_the_coverage(
    block: Site, hybrid: Site, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"market year 2019 .*ercot-rt:HB_WEST.*2020–2023"):
        margin_table(block, [2019], GRID, use_cache=False)
    with pytest.raises(DataError, match=r"market year 2021 \(ercot-rt:HB_WEST.*ancillary.*covers 2022-01-01"):
        margin_table(
            hybrid, [2021], GRID, months=(7, 7), use_cache=False
        )  # bundled ancillary prices: 2022–2023
    site = _csv_site(block, _shifted_csv(tmp_path))
    with pytest.raises(
        DataError, match=r"market year 2024 .*covers 2025-04-01T05:00:00\+00:00 to 2025-05-01"
    ):
        margin_table(site, [2024], GRID, use_cache=False)


def test_the_first_bundled_year_is_backtested_whole_and_says_its_history_is_short(block: Site) -> None:
    """ERCOT's bundled prices start 2020-01-01 and the engine reads up to 28 days before a window:
    January 2020 is backtested whole, and the notes say the window had no history before it."""
    january = margin_runs(block, [2020], GRID, months=(1, 1), use_cache=False)[0][0]
    assert january.window_start_utc == "2020-01-01T06:00:00Z"
    assert int(january.months["intervals_priced"][0]) == 2976
    assert "history before the window: 0 of 28 days" in " ".join(january.notes)
    assert np.isfinite(january.mining_margin_usd_per_mw_month[0])


@pytest.mark.parametrize(
    ("years", "grid", "strategy", "message"),
    [
        ([2023], [0.1, 0.05], "breakeven", "strictly increasing"),
        ([2023], [0.05], "breakeven", "at least 2"),
        ([2023], [0.0, 0.05], "breakeven", r"in \(0, 100\]"),
        ([2023, 2023], GRID, "breakeven", "each once"),
        ([2023], GRID, "psychic", "unknown; one of"),
    ],
)
def test_bad_arguments_name_field_value_and_limit(
    block: Site, years: list[int], grid: list[float], strategy: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        margin_table(block, years, grid, strategy=strategy, use_cache=False)


def test_perfect_hindsight_is_labelled_an_upper_bound(block: Site) -> None:
    table = margin_table(block, [2023], GRID, months=(2, 2), strategy="perfect", use_cache=False)
    assert "hindsight upper bound" in table.notes[0]
