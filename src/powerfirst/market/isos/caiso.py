"""CAISO.

Tariff Section 6 (Day-Ahead Market results published at 13:00 Pacific the day before) and Section
11 (real-time settlement in 5-minute intervals; the bundled series is the 15-minute market);
Pacific prevailing time. Bundled data (``data/caiso``): 15-minute market LMP at NP15/SP15/ZP26.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import BundledSeries, Market

__all__ = ["CAISO"]

CAISO = Market(
    "caiso",
    "CAISO",
    "America/Los_Angeles",
    pd.Timedelta(minutes=5),
    time(13, 0),
    "CAISO Tariff Section 6 (DAM results at 13:00 PPT), Section 11 (5-minute real-time settlement)",
    bundled_prices=(
        BundledSeries(
            "caiso-rt",
            "caiso",
            "caiso_rt_lmp_15min_{year}.csv.gz",
            (2020, 2021, 2022, 2023, 2024),
            pd.Timedelta(minutes=15),
            column_suffix="_LMP",
            description="CAISO 15-minute market LMP",
        ),
    ),
)
"""CAISO (California Independent System Operator)."""
