"""ERCOT.

Nodal Protocols Section 4 (Day-Ahead Operations: DAM results published by 13:30 the day before
the Operating Day) and Section 6 (15-minute Settlement Intervals); the Operating Day is on Central
Prevailing Time. Grid programs: Four Coincident Peak transmission charges (PUCT Substantive Rule
25.192; the monthly system peaks of June–September) and day-ahead ancillary services (Reg-Up,
Reg-Down, RRS, ECRS, Non-Spin; a site may offer RRS, ECRS and Non-Spin).

Bundled data (``data/ercot``, see ``data/PROVENANCE.md``): real-time hub prices 2020–2023,
day-ahead hub and load-zone prices 2021–2023, hourly native load 2021–2023 (the 4CP peaks and the
forecasters' load input) and day-ahead ancillary-service capacity prices (MCPC) 2022–2023.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import BundledSeries, Market

__all__ = ["ERCOT"]

_HOUR = pd.Timedelta(hours=1)

ERCOT = Market(
    "ercot",
    "ERCOT",
    "America/Chicago",
    pd.Timedelta(minutes=15),
    time(13, 30),
    "ERCOT Nodal Protocols Section 4 (DAM results by 13:30 CPT), Section 6 (15-minute settlement)",
    grid_programs=frozenset({"fourcp", "ancillary"}),
    bundled_prices=(
        BundledSeries(
            "ercot-rt",
            "ercot",
            "ercot_rt_hub_spp_15min_{year}.csv.gz",
            (2020, 2021, 2022, 2023),
            pd.Timedelta(minutes=15),
            description="ERCOT real-time hub SPP, 15 min",
            day_ahead="ercot-da",
        ),
        BundledSeries(
            "ercot-da",
            "ercot",
            "ercot_dam_spp_hourly_{year}.csv.gz",
            (2021, 2022, 2023),
            _HOUR,
            description="ERCOT day-ahead hub and load-zone SPP, hourly",
        ),
    ),
    fourcp_months=(6, 7, 8, 9),
    as_products=("RRS", "ECRS", "NSPIN"),
    bundled_load=BundledSeries(
        "ercot-load",
        "ercot",
        "ercot_native_load_hourly_{year}.csv.gz",
        (2021, 2022, 2023),
        _HOUR,
        description="bundled ERCOT native load 2021–2023 (ercot_native_load_hourly_*.csv.gz:ERCOT)",
        column="ERCOT",
    ),
    bundled_as_prices=BundledSeries(
        "ercot-as",
        "ercot",
        "ercot_dam_as_mcpc_hourly_2022_2023.csv.gz",
        (2022, 2023),
        _HOUR,
        description="bundled ERCOT DAM MCPC 2022–2023 (ercot_dam_as_mcpc_hourly_2022_2023.csv.gz)",
    ),
)
"""ERCOT (Electric Reliability Council of Texas)."""
