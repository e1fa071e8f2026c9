"""Bitcoin economics against hand-computed values: hashrate, hashprice, breakeven, the bundled data."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from powerfirst._paths import DATA_DIR
from powerfirst.bitcoin.economics import (
    BLOCKS_PER_DAY,
    breakeven_usd_per_mwh,
    hashprice_usd_per_th_day,
    mining_revenue_usd_per_mwh,
    network_hashrate_ths,
)
from powerfirst.bitcoin.hashprice import (
    BundledHashprice,
    ConstantHashprice,
    CsvHashprice,
    subsidy_btc_per_block_daily,
)
from powerfirst.errors import DataError
from powerfirst.site.asic_catalog import asic_models, lookup_asic_model
from powerfirst.site.compile import hashprice_source, site_params
from powerfirst.site.schema import BitcoinConfig, Site

NETWORK_CSV = DATA_DIR / "bitcoin" / "btc_network_daily_blockchaincom_2020_2025.csv"


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --- network hashrate and hashprice -------------------------------------------------------------


def test_network_hashrate_from_difficulty_by_hand() -> None:
    # difficulty 1 ↔ 2^32 hashes per block, one block per 600 s: 7.158e-6 TH/s
    assert network_hashrate_ths(1.0) == pytest.approx(7.158278826666667e-06, rel=1e-12)
    # 2024-04-20 difficulty 86.39 T → 618.4 EH/s = 6.184e8 TH/s
    assert network_hashrate_ths(86388558925171.2) == pytest.approx(618_393_392.22, rel=1e-9)
    # linear in difficulty, element-wise on arrays
    values = np.asarray(network_hashrate_ths(np.array([1e12, 2e12, 4e12])))
    assert values / values[0] == pytest.approx([1.0, 2.0, 4.0])


def test_hashprice_by_hand() -> None:
    assert BLOCKS_PER_DAY == 144.0
    # 6.25 BTC × 144 blocks × 20,000 USD / 250,000,000 TH/s = 0.072 USD per TH/s per day
    assert hashprice_usd_per_th_day(20_000.0, 2.5e8, 6.25) == pytest.approx(0.072, rel=1e-12)
    # 3.125 BTC × 144 × 60,000 USD / 600,000,000 TH/s = 0.045
    assert hashprice_usd_per_th_day(60_000.0, 6.0e8, 3.125) == pytest.approx(0.045, rel=1e-12)


@pytest.mark.parametrize("fees_btc", [0.0, 0.1, 0.25, 1.0, 3.125])
def test_fees_add_linearly_to_the_subsidy(fees_btc: float) -> None:
    base = hashprice_usd_per_th_day(30_000.0, 4e8, 3.125)
    with_fees = hashprice_usd_per_th_day(30_000.0, 4e8, 3.125, fees_btc)
    # each BTC of fees per block adds 144 × price / hashrate
    assert with_fees - base == pytest.approx(fees_btc * 144 * 30_000.0 / 4e8, abs=1e-15)
    assert with_fees / base == pytest.approx((3.125 + fees_btc) / 3.125)


def test_hashprice_is_element_wise_on_arrays() -> None:
    price = np.array([20_000.0, 40_000.0])
    hashrate = np.array([2.5e8, 5.0e8])
    values = np.asarray(hashprice_usd_per_th_day(price, hashrate, np.array([6.25, 3.125])))
    assert values.tolist() == pytest.approx([0.072, 0.036])


# --- breakeven and mining revenue ---------------------------------------------------------------


def test_domain_breakeven_example() -> None:
    # DOMAIN.md: 74.73 USD/PH/day at 29.5 J/TH → 105.5 USD/MWh; 74.73 / (0.024 × 29.5) = 105.5508
    assert breakeven_usd_per_mwh(74.73, 29.5) == pytest.approx(105.55, abs=0.005)
    assert breakeven_usd_per_mwh(74.73, 29.5) == pytest.approx(74.73 / (0.024 * 29.5), rel=1e-12)


def test_mining_revenue_per_mwh_by_hand() -> None:
    # 1 MW of 25 J/TH machines = 40,000 TH/s; at 0.05 USD/TH/day: 2,000 USD/day = 83.33 USD/MWh
    assert mining_revenue_usd_per_mwh(0.05, 25.0) == pytest.approx(2000.0 / 24.0)
    # per TH and per PH agree: breakeven takes USD/PH/day
    assert breakeven_usd_per_mwh(50.0, 25.0) == pytest.approx(mining_revenue_usd_per_mwh(0.05, 25.0))
    values = np.asarray(mining_revenue_usd_per_mwh(np.array([0.05, 0.1]), 25.0))
    assert values.tolist() == pytest.approx([2000.0 / 24.0, 4000.0 / 24.0])


@pytest.mark.parametrize("pue", [1.0, 1.05, 1.15, 1.4])
def test_pue_divides_the_breakeven(pue: float) -> None:
    # at the meter, 1 MW runs only 1/PUE MW of machines
    assert breakeven_usd_per_mwh(74.73, 29.5, pue=pue) == pytest.approx(105.5508 / pue, rel=1e-6)


@pytest.mark.parametrize("fee", [0.0, 0.01, 0.02, 0.04])
def test_pool_fee_scales_the_breakeven(fee: float) -> None:
    assert breakeven_usd_per_mwh(74.73, 29.5, pool_fee_fraction=fee) == pytest.approx(
        105.5508 * (1 - fee), rel=1e-6
    )


def test_pue_and_pool_fee_together() -> None:
    # 60 USD/PH/day at 20 J/TH → 125 USD/MWh; PUE 1.25 and 2 % fee → 125 / 1.25 × 0.98 = 98
    assert breakeven_usd_per_mwh(60.0, 20.0) == pytest.approx(125.0)
    assert breakeven_usd_per_mwh(60.0, 20.0, pue=1.25, pool_fee_fraction=0.02) == pytest.approx(98.0)


def test_site_breakeven_is_where_the_margin_is_zero(
    site_factory: Callable[..., Site], fleet_spec: Callable[..., dict[str, Any]]
) -> None:
    # fleet: 30 J/TH, PUE 1.1, fee 2 %; contract adders 3.5 USD/MWh
    site = site_factory(
        [fleet_spec(pue=1.1, pool_fee_fraction=0.02)],
        contract={"kind": "index", "price_series": "p.csv:P", "adders_usd_per_mwh": {"a": 1.5, "b": 2.0}},
    )
    params = site_params(site, 0.25)
    strike = params.breakeven_usd_per_mwh(0.1)
    expected = 100.0 / (0.024 * 30.0) / 1.1 * 0.98 - 3.5
    assert strike.tolist() == pytest.approx([expected])
    assert params.mining_rate_usd_per_mwh(0.1)[0] - (strike[0] + 3.5) == pytest.approx(0.0, abs=1e-9)


# --- the bundled data ---------------------------------------------------------------------------


def test_bundled_hashprice_equals_the_bundled_derived_column() -> None:
    reference = pd.read_csv(NETWORK_CSV)
    reference.index = pd.DatetimeIndex(pd.to_datetime(reference["date_utc"], utc=True))
    ours = BundledHashprice().full_series()
    both = pd.concat([ours, reference["hashprice_subsidy_only_usd_per_th_day"]], axis=1).dropna()
    assert len(both) > 1800  # 2020-04 to 2025-04, daily
    difference = (both.iloc[:, 0] - both.iloc[:, 1]).abs()
    assert difference.max() <= 1e-5, difference.idxmax()


def test_subsidy_schedule_matches_the_bundled_subsidy_column() -> None:
    reference = pd.read_csv(NETWORK_CSV)
    days = pd.DatetimeIndex(pd.to_datetime(reference["date_utc"], utc=True))
    ours = subsidy_btc_per_block_daily(days).to_numpy()
    assert np.allclose(ours, reference["block_subsidy_btc"].to_numpy(), atol=1e-6, rtol=0)


def test_halving_days_are_time_weighted() -> None:
    subsidy = subsidy_btc_per_block_daily(pd.date_range("2024-04-19", "2024-04-21", freq="D", tz="UTC"))
    # 2024-04-20 halving at 00:09:27 UTC: 567 s at 6.25, the rest at 3.125 → 3.1455
    assert subsidy.tolist() == pytest.approx([6.25, (567 * 6.25 + 85_833 * 3.125) / 86_400, 3.125])
    assert subsidy.iloc[1] == pytest.approx(3.1455, abs=1e-4)
    # 2020-05-11 halving at 19:23:43 UTC: 69,823 s at 12.5, the rest at 6.25 → 11.3009
    earlier = subsidy_btc_per_block_daily(pd.date_range("2020-05-11", periods=1, freq="D", tz="UTC"))
    assert earlier.iloc[0] == pytest.approx(11.300854, abs=1e-6)


def test_halving_day_hashprice_by_hand() -> None:
    # 2024-04-20: close 64,994.44 USD, difficulty 86,388,558,925,171.2, subsidy 3.1455078
    by_hand = 3.1455078125 * 144 * 64994.44140625 / (86388558925171.2 * 2**32 / 600 / 1e12)
    assert by_hand == pytest.approx(0.0476063, abs=1e-7)
    series = BundledHashprice().daily(_utc("2024-04-20"), _utc("2024-04-21"))
    assert series.tolist() == pytest.approx([by_hand], rel=1e-9)


def test_fees_scale_the_bundled_hashprice() -> None:
    start, end = _utc("2023-03-01"), _utc("2023-03-04")
    without = BundledHashprice(0.0).daily(start, end)
    with_fees = BundledHashprice(0.5).daily(start, end)
    assert len(without) == 3
    assert (with_fees / without).tolist() == pytest.approx([6.75 / 6.25] * 3)
    assert "NOT included" in BundledHashprice(0.0).description
    assert "NOT included" not in BundledHashprice(0.5).description


def test_daily_covers_every_utc_day_the_window_overlaps() -> None:
    # 06:00 to 06:00 two days later overlaps three UTC days; an end at midnight adds no day
    series = ConstantHashprice(50.0).daily(_utc("2023-01-01T06:00"), _utc("2023-01-03T06:00"))
    assert list(pd.DatetimeIndex(series.index).strftime("%Y-%m-%d")) == [
        "2023-01-01",
        "2023-01-02",
        "2023-01-03",
    ]
    assert series.tolist() == pytest.approx([0.05] * 3)
    assert len(ConstantHashprice(50.0).daily(_utc("2023-01-01"), _utc("2023-01-03"))) == 2


def test_bundled_hashprice_outside_the_data_names_the_coverage() -> None:
    with pytest.raises(DataError, match=r"first 2019-01-01; the data covers 2020-04-11 to "):
        BundledHashprice().daily(_utc("2019-01-01"), _utc("2019-01-05"))


# --- user hashprice files -----------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hashprice.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_hashprice_is_read_per_ph_and_returned_per_th(tmp_path: Path) -> None:
    path = _write(tmp_path, "date_utc,hashprice_usd_per_ph_day\n2023-01-01,50\n2023-01-02,60.5\n")
    series = CsvHashprice(path).daily(_utc("2023-01-01"), _utc("2023-01-03"))
    assert series.tolist() == pytest.approx([0.05, 0.0605])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,hashprice_usd_per_ph_day\n2023-01-01,50\n", r"missing column 'date_utc'"),
        (
            "date_utc,hashprice_usd_per_ph_day\n2023-01-01,abc\n",
            r"row 2: .*hashprice_usd_per_ph_day = abc USD/PH/day: need a date \(YYYY-MM-DD\) and a number",
        ),
        (
            "date_utc,hashprice_usd_per_ph_day\n2023-01-01,-5\n",
            r"row 2: .*= -5 USD/PH/day: need a date .* and a number in \(0, 1,000,000\]",
        ),
        ("date_utc,hashprice_usd_per_ph_day\n2023-01-01,50\n2023-01-01,51\n", r"2023-01-01 repeats"),
        ("date_utc,hashprice_usd_per_ph_day\n2023-01-01,50\n", r"no value for 1 UTC day.*first 2023-01-02"),
    ],
)
def test_csv_hashprice_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message):
        CsvHashprice(path).daily(_utc("2023-01-01"), _utc("2023-01-03"))


def test_csv_hashprice_error_shows_the_value_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path, "date_utc,hashprice_usd_per_ph_day\n2023-01-01,-5\n")
    with pytest.raises(DataError) as caught:
        CsvHashprice(path).daily(_utc("2023-01-01"), _utc("2023-01-02"))
    assert "hashprice_usd_per_ph_day = -5 USD/PH/day:" in str(caught.value)
    assert "np." not in str(caught.value)


def test_hashprice_source_follows_the_site_config(tmp_path: Path) -> None:
    assert isinstance(hashprice_source(BitcoinConfig()), BundledHashprice)
    fees = hashprice_source(BitcoinConfig(tx_fees_btc_per_block=0.2))
    assert isinstance(fees, BundledHashprice) and fees.tx_fees_btc_per_block == 0.2
    constant = hashprice_source(BitcoinConfig(source="constant", constant_usd_per_ph_day=45.0))
    assert isinstance(constant, ConstantHashprice) and constant.usd_per_ph_day == 45.0
    from_file = hashprice_source(BitcoinConfig(source="csv", csv_path=str(tmp_path / "h.csv")))
    assert isinstance(from_file, CsvHashprice)


# --- the ASIC catalog ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hashrate_ths", "power_w", "efficiency"),
    [
        ("S19jPro", 104.0, 3068.0, 29.5),
        ("S19XP", 140.0, 3010.0, 21.5),
        ("S21", 200.0, 3500.0, 17.5),
        ("S21Pro", 234.0, 3510.0, 15.0),
    ],
)
def test_catalog_has_the_domain_reference_figures(
    name: str, hashrate_ths: float, power_w: float, efficiency: float
) -> None:
    model = lookup_asic_model(name)
    assert model is not None
    assert (model.hashrate_ths, model.power_w) == (hashrate_ths, power_w)
    assert model.efficiency_j_per_th == pytest.approx(efficiency, abs=0.01)


def test_catalog_lookup_ignores_case_spaces_and_dashes() -> None:
    assert lookup_asic_model("s19j-pro") == lookup_asic_model("S19j Pro") == lookup_asic_model("S19JPRO")
    assert lookup_asic_model("S99") is None
    # '+' is kept: M30S++ is not M30S
    assert lookup_asic_model("M30S++") is not None
    assert lookup_asic_model("M30S") is None


def test_catalog_efficiency_column_agrees_with_power_over_hashrate() -> None:
    rows = list(csv.DictReader((DATA_DIR / "asic_models.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) == len(asic_models())
    for row in rows:
        model = lookup_asic_model(row["model"])
        assert model is not None and model.source
        assert model.efficiency_j_per_th == pytest.approx(float(row["efficiency_j_per_th"]), abs=0.05)


def test_fleet_from_a_catalog_model(site_factory: Callable[..., Site]) -> None:
    site = site_factory([{"name": "s19", "model": "S19jPro", "units": 10_000, "pue": 1.1}])
    fleet = site.fleets[0]
    assert fleet.efficiency_j_per_th == pytest.approx(29.5, abs=0.01)
    assert fleet.hashrate_ths_total == pytest.approx(1_040_000.0)
    # 10,000 × 3,068 W × 1.1 = 33.748 MW at the meter
    assert fleet.max_power_mw == pytest.approx(33.748)
