"""Formulas against hand-computed values: hashrate, hashprice, breakeven, mining revenue."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from powerfirst._paths import DATA_DIR
from powerfirst.asic_catalog import lookup_asic_model
from powerfirst.bitcoin.economics import (
    breakeven_usd_per_mwh,
    hashprice_usd_per_th_day,
    mining_revenue_usd_per_mwh,
    network_hashrate_ths,
)
from powerfirst.bitcoin.hashprice import (
    BundledHashprice,
    ConstantHashprice,
    subsidy_btc_per_block_daily,
)
from powerfirst.errors import DataError


def test_network_hashrate_from_difficulty() -> None:
    # difficulty 1 ↔ 2^32 hashes per block every 600 s
    assert network_hashrate_ths(1.0) == pytest.approx(2**32 / 600 / 1e12)
    # 2023-01-01 difficulty 35.36 T → about 253 EH/s = 2.53e8 TH/s
    assert network_hashrate_ths(35.364e12) == pytest.approx(35.364e12 * 2**32 / 600 / 1e12)
    assert 2.4e8 < network_hashrate_ths(35.364e12) < 2.6e8


def test_hashprice_by_hand() -> None:
    # 6.25 BTC × 144 blocks × 20,000 USD / 250,000,000 TH/s = 0.072 USD per TH/s per day
    assert hashprice_usd_per_th_day(20_000.0, 2.5e8, 6.25) == pytest.approx(0.072)
    # fees add linearly: 0.25 BTC/block more → × 6.5 / 6.25
    assert hashprice_usd_per_th_day(20_000.0, 2.5e8, 6.25, 0.25) == pytest.approx(0.072 * 6.5 / 6.25)


def test_breakeven_matches_the_reference_example() -> None:
    # DOMAIN.md: 74.73 USD/PH/day at 29.5 J/TH → 105.5 USD/MWh
    assert breakeven_usd_per_mwh(74.73, 29.5) == pytest.approx(74.73 / (0.024 * 29.5))
    assert breakeven_usd_per_mwh(74.73, 29.5) == pytest.approx(105.55, abs=0.01)


def test_pue_and_pool_fee_lower_the_breakeven() -> None:
    base = breakeven_usd_per_mwh(60.0, 20.0)
    assert breakeven_usd_per_mwh(60.0, 20.0, pue=1.25) == pytest.approx(base / 1.25)
    assert breakeven_usd_per_mwh(60.0, 20.0, pool_fee_fraction=0.02) == pytest.approx(base * 0.98)


def test_mining_revenue_per_mwh_by_hand() -> None:
    # 1 MW of 25 J/TH machines = 40,000 TH/s; at 0.05 USD/TH/day that is 2,000 USD/day = 83.33 USD/h
    assert mining_revenue_usd_per_mwh(0.05, 25.0) == pytest.approx(2000.0 / 24.0)
    values = mining_revenue_usd_per_mwh(np.array([0.05, 0.1]), 25.0)
    assert np.allclose(values, [2000.0 / 24.0, 4000.0 / 24.0])


def test_bundled_hashprice_equals_the_published_derived_column() -> None:
    reference = pd.read_csv(DATA_DIR / "bitcoin" / "btc_network_daily_blockchaincom_2020_2025.csv")
    reference.index = pd.to_datetime(reference["date_utc"], utc=True)
    ours = BundledHashprice().full_series()
    both = pd.concat([ours, reference["hashprice_subsidy_only_usd_per_th_day"]], axis=1).dropna()
    assert len(both) > 1800
    assert np.allclose(both.iloc[:, 0], both.iloc[:, 1], atol=1e-5, rtol=0)


def test_subsidy_on_the_halving_day_is_time_weighted() -> None:
    days = pd.date_range("2024-04-19", "2024-04-21", freq="D", tz="UTC")
    subsidy = subsidy_btc_per_block_daily(days)
    assert subsidy.iloc[0] == pytest.approx(6.25)
    # halving at 00:09:27 UTC: 567 s at 6.25, the rest at 3.125
    assert subsidy.iloc[1] == pytest.approx((567 * 6.25 + (86400 - 567) * 3.125) / 86400)
    assert subsidy.iloc[1] == pytest.approx(3.1455, abs=1e-4)
    assert subsidy.iloc[2] == pytest.approx(3.125)


def test_fees_scale_the_bundled_hashprice() -> None:
    start, end = pd.Timestamp("2023-03-01", tz="UTC"), pd.Timestamp("2023-03-03", tz="UTC")
    without = BundledHashprice(0.0).daily(start, end)
    with_fees = BundledHashprice(0.5).daily(start, end)
    assert len(without) == 2
    assert np.allclose(with_fees / without, 6.75 / 6.25)
    assert "NOT included" in BundledHashprice(0.0).description
    assert "NOT included" not in BundledHashprice(0.5).description


def test_bundled_hashprice_outside_the_data_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"no value for .* first 2019-01-01; the data covers 2020-04-11"):
        BundledHashprice().daily(pd.Timestamp("2019-01-01", tz="UTC"), pd.Timestamp("2019-01-05", tz="UTC"))


def test_constant_hashprice_covers_every_day_of_the_window() -> None:
    series = ConstantHashprice(50.0).daily(
        pd.Timestamp("2023-01-01T06:00Z"), pd.Timestamp("2023-01-03T06:00Z")
    )
    assert list(series.index.strftime("%Y-%m-%d")) == ["2023-01-01", "2023-01-02", "2023-01-03"]
    assert np.allclose(series, 0.05)


def test_asic_catalog() -> None:
    s19jpro = lookup_asic_model("s19j-pro")
    assert s19jpro is not None
    assert s19jpro.efficiency_j_per_th == pytest.approx(29.5, abs=0.01)
    s21pro = lookup_asic_model("S21 Pro")
    assert s21pro is not None and math.isclose(s21pro.efficiency_j_per_th, 15.0)
    assert lookup_asic_model("S99") is None
