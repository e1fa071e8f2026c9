"""The block subsidy per month from Bitcoin's real halving schedule, projected past the last known one.

The rule: the subsidy starts at 50 BTC and halves every 210,000 blocks (the bundled
``bitcoin/btc_block_subsidy_schedule.csv`` lists the eras with their heights and subsidies). An era
whose first block time the file gives starts then; a later era is projected from the last known
era start at the target rate of 144 blocks a day (one per 600 s): 210,000 blocks = 1,458⅓ days per
era, so era 5 (1.5625 BTC) from 2024-04-20T00:09:27Z + 1,458.33 days ≈ 2028-04-17. Real blocks
come a little faster while hashrate grows (difficulty trails it), so the real date may be weeks
earlier; a month's figure is time-weighted over its seconds, so the error is one month's blend.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from powerfirst._paths import DATA_DIR
from powerfirst._types import Array

__all__ = ["BLOCKS_PER_ERA", "ERA_DAYS", "halving_schedule", "subsidy_btc_per_block_monthly"]

BLOCKS_PER_ERA = 210_000
"""Blocks between halvings (protocol rule)."""
ERA_DAYS = BLOCKS_PER_ERA / 144.0
"""Projected length of an era at the target 144 blocks a day [days]."""
_LAST_ERA = 33
"""The subsidy rounds to 0 satoshi from era 33 on (50 BTC / 2^33 < 1e-8 BTC)."""


@cache
def halving_schedule() -> pd.DataFrame:
    """Every era: ``era``, ``first_height``, ``subsidy_btc``, ``start_utc`` and ``projected`` (True
    where the start time is projected at 144 blocks a day rather than a known block time)."""
    table = pd.read_csv(DATA_DIR / "bitcoin" / "btc_block_subsidy_schedule.csv")
    known = table.dropna(subset=["era_start_block_time_utc"]).sort_values("era")
    last = known.iloc[-1]
    last_start = pd.Timestamp(last["era_start_block_time_utc"])
    eras = np.arange(_LAST_ERA + 1)
    starts = []
    for era in eras:
        row = known[known["era"] == era]
        if len(row):
            starts.append(pd.Timestamp(row["era_start_block_time_utc"].iloc[0]))
        else:
            starts.append(last_start + pd.Timedelta(days=float((era - int(last["era"])) * ERA_DAYS)))
    return pd.DataFrame(
        {
            "era": eras,
            "first_height": eras * BLOCKS_PER_ERA,
            "subsidy_btc": 50.0 / 2.0**eras,
            "start_utc": pd.DatetimeIndex(starts).tz_convert("UTC"),
            "projected": eras > int(last["era"]),
        }
    )


def subsidy_btc_per_block_monthly(start_month: str, months: int) -> Array:
    """(months,) block subsidy in force over each month from ``start_month`` (``YYYY-MM``, UTC),
    time-weighted over the month's seconds [BTC/block]."""
    table = halving_schedule()
    edges = pd.date_range(pd.Timestamp(f"{start_month}-01", tz="UTC"), periods=months + 1, freq="MS")
    lo = edges[:-1].as_unit("ns").asi8.astype(np.float64)
    hi = edges[1:].as_unit("ns").asi8.astype(np.float64)
    starts = table["start_utc"].dt.as_unit("ns").astype("int64").to_numpy().astype(np.float64)
    ends = np.append(starts[1:], np.inf)
    overlap = np.clip(
        np.minimum(hi[:, None], ends[None, :]) - np.maximum(lo[:, None], starts[None, :]), 0.0, None
    )
    weights = overlap / (hi - lo)[:, None]
    return np.asarray(weights @ table["subsidy_btc"].to_numpy(dtype=np.float64), dtype=np.float64)
