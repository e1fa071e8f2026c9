"""How much price history a backtest's window had: the days of real-time prices before the window
that the clock reveals to policies and forecasters from its first interval.

The history is optional: a window that starts on (or less than the history's length after) the
first day of its price source runs with the history that exists, and the shortfall is stated,
never filled. Missing intervals inside the source's coverage are gaps, not a shorter history.
"""

from __future__ import annotations

import pandas as pd

from powerfirst.market.sources import PriceSource

__all__ = ["history_days", "history_note"]

_ISO = "%Y-%m-%dT%H:%M:%SZ"
_DAY = pd.Timedelta(days=1)


def history_days(
    first_priced_utc: pd.Timestamp | None, window_start_utc: pd.Timestamp, asked_days: int
) -> float:
    """Days of the ``asked_days`` before the window that the price source covers [days]: from its
    first priced interval (``first_priced_utc``, None: none) or the asked start, whichever is
    later, to the window's start."""
    if first_priced_utc is None:
        return 0.0
    asked = window_start_utc - pd.Timedelta(days=asked_days)
    covered = window_start_utc - max(asked, first_priced_utc)
    return max(0.0, float(covered / _DAY))


def history_note(
    source: PriceSource, loaded_usd_per_mwh: pd.Series, window_start_utc: pd.Timestamp, asked_days: int
) -> str:
    """The statement of a window's short history, e.g. ``"history before the window: 0 of 28 days
    (ercot-rt:HB_WEST prices start 2020-01-01T06:00:00Z) …"``; "" when the source covers all
    ``asked_days`` days before it [days]. ``loaded_usd_per_mwh``: the real-time prices loaded
    around the window by UTC interval start (the source is asked where they start only when they
    start after the asked history's start)."""
    asked = window_start_utc - pd.Timedelta(days=asked_days)
    loaded = loaded_usd_per_mwh.dropna().index
    if len(loaded) and loaded[0] <= asked:
        return ""
    first = source.first_priced_utc()
    had = history_days(first, window_start_utc, asked_days)
    if had >= asked_days:
        return ""
    start = f"prices start {first.strftime(_ISO)}" if first is not None else "no price"
    return (
        f"history before the window: {round(had, 2):g} of {asked_days} days ({source.name}: {start}); "
        "policies and forecasters see only those days before the window's first interval"
    )
