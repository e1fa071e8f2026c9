"""ISO-NE.

Market Rule 1 Section III.1.10 (Day-Ahead Energy Market results posted by 13:30 the day before;
five-minute real-time settlement since 2017), Eastern prevailing time.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import Market

__all__ = ["ISONE"]

ISONE = Market(
    "isone",
    "ISO-NE",
    "America/New_York",
    pd.Timedelta(minutes=5),
    time(13, 30),
    "ISO-NE Market Rule 1 Section III.1.10 (DA results by 13:30 ET), 5-minute settlement since 2017",
)
"""ISO-NE (ISO New England)."""
