"""PJM.

Manual 11 Section 2 (Day-Ahead Market results posted by 13:30 EPT the day before) and Manual 28
(five-minute real-time settlement since 2018), Eastern prevailing time.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import Market

__all__ = ["PJM"]

PJM = Market(
    "pjm",
    "PJM",
    "America/New_York",
    pd.Timedelta(minutes=5),
    time(13, 30),
    "PJM Manual 11 Section 2 (DA results by 13:30 EPT), Manual 28 (5-minute settlement since 2018)",
)
"""PJM (PJM Interconnection)."""
