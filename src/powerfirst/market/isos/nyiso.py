"""NYISO.

Market Administration and Control Area Services Tariff Section 4 (Day-Ahead Market schedules and
prices posted by 11:00 the day before), Eastern prevailing time; Real-Time Market settled on
5-minute RTD intervals.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import Market

__all__ = ["NYISO"]

NYISO = Market(
    "nyiso",
    "NYISO",
    "America/New_York",
    pd.Timedelta(minutes=5),
    time(11, 0),
    "NYISO Market Services Tariff Section 4 (DAM schedules and prices by 11:00 ET), 5-minute RTD settlement",
)
"""NYISO (New York Independent System Operator)."""
