"""Anti-cycling: units switched off stay off for their fleet's minimum off time.

A unit switched off in interval k stays off through k + L − 1 (L = the fleet's
``min_off_intervals``). :class:`AntiCycling` keeps the running total of power switched off before
each interval, ``stopped_before[t]`` [MW], for the last L intervals only (a live plant runs
without end), so that the power still held off at t is ``stopped_before[t] − stopped_before[t − L + 1]``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from powerfirst._types import Array
from powerfirst.site.params import SiteParams

__all__ = ["AntiCycling"]


class AntiCycling:
    """Power each fleet switched off recently, and what that holds off now and ahead (one per run)."""

    def __init__(self, site: SiteParams) -> None:
        self.lags = np.array([f.min_off_intervals for f in site.fleets], dtype=np.int64)
        longest = int(self.lags.max(initial=0))
        self._ahead = np.arange(longest)
        self._fleet_index = np.arange(len(site.fleets))
        # stopped_before[:, i] is kept at column i % size, for the last ``size`` intervals
        self._size = max(longest, 1)
        self._stopped_before = np.zeros((len(site.fleets), self._size))
        self.step = 0
        """The interval whose held power :meth:`held_mw` gives (intervals recorded so far)."""

    def _at(self, index: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return index % self._size

    def held_mw(self) -> Array:
        """Power of each fleet switched off earlier and still held off now, (F,) [MW]."""
        t = self.step
        window_start = np.minimum(np.maximum(t - self.lags + 1, 0), t)
        now = self._stopped_before[:, t % self._size]
        held: Array = now - self._stopped_before[self._fleet_index, self._at(window_start)]
        return held

    def held_ahead_mw(self) -> Array:
        """Power switched off before now that is still held off now and in each of the next
        intervals, (F, L) [MW] (L = the longest minimum off time; column 0 is :meth:`held_mw`)."""
        t = self.step
        later_start = np.minimum(np.maximum(t + self._ahead[None, :] - self.lags[:, None] + 1, 0), t)
        now = self._stopped_before[:, t % self._size]
        held: Array = now[:, None] - self._stopped_before[self._fleet_index[:, None], self._at(later_start)]
        return held

    def record(self, previous_mw: Array, applied_mw: Array) -> None:
        """Book the interval: fleet power went from ``previous_mw`` to ``applied_mw`` (F,) [MW]."""
        t = self.step
        self._stopped_before[:, (t + 1) % self._size] = self._stopped_before[:, t % self._size] + np.clip(
            previous_mw - applied_mw, 0.0, None
        )
        self.step = t + 1
