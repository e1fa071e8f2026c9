"""MISO.

BPM-002 Energy and Operating Reserve Markets: the Operating Day is on **Eastern Standard Time all
year** (no daylight saving; IANA ``Etc/GMT+5`` = UTC−5), while the day-ahead window closes at
10:30 and results are posted by 13:30 **Eastern Prevailing** Time (MISO's FERC Order 809
compliance, 2016); five-minute real-time settlement (FERC Order 825, 2021).
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from powerfirst.market.iso import Market

__all__ = ["MISO"]

MISO = Market(
    "miso",
    "MISO",
    "Etc/GMT+5",
    pd.Timedelta(minutes=5),
    time(13, 30),
    "MISO BPM-002 (operating day on EST all year; DA results by 13:30 EPT), FERC Order 825 "
    "(5-minute settlement)",
    da_publish_timezone="America/New_York",
)
"""MISO (Midcontinent Independent System Operator)."""
