"""SPP.

Integrated Marketplace Market Protocols Section 4 (Day-Ahead Market results posted by 14:00
Central the day before, the timeline adopted for FERC Order 809 in 2016); Real-Time Balancing
Market settled in 5-minute intervals; Central prevailing time.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import Market

__all__ = ["SPP"]

SPP = Market(
    "spp",
    "SPP",
    "America/Chicago",
    pd.Timedelta(minutes=5),
    time(14, 0),
    "SPP Market Protocols Section 4 (DA Market results by 14:00 CPT; 5-minute RTBM settlement)",
)
"""SPP (Southwest Power Pool)."""
