"""Which miners run for a fleet's power: the most efficient first, the least efficient shed first.

The plant decides each fleet's power [MW]; this module turns it into the set of miners that should
be hashing. A fleet's miners are ranked by efficiency (J/TH, lowest first; unknown efficiency
last; then by device id, so the order is stable). The fleet's power is read as a share of the
fleet's nominal power in the site file, and that share of the discovered miners' nominal power
runs: the first miners in merit order whose power adds up to it (to the nearest miner). So
shedding stops the least efficient miners first and restoring wakes the most efficient first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from powerfirst.live.devices import DeviceInfo

__all__ = ["FleetMap"]


@dataclass(frozen=True)
class FleetMiners:
    """One fleet's miners in merit order and its nominal power in the site file."""

    fleet: str
    miners: tuple[DeviceInfo, ...]
    site_max_power_mw: float
    cumulative_w: np.ndarray
    """Nominal power of the first k+1 miners in merit order [W]."""

    @property
    def nominal_w(self) -> float:
        return float(self.cumulative_w[-1]) if self.cumulative_w.size else 0.0


def _merit_key(info: DeviceInfo) -> tuple[float, str]:
    eff = info.efficiency_j_per_th
    return (eff if eff is not None and eff > 0 else float("inf"), info.device_id)


class FleetMap:
    """The miners of each fleet (by fleet name, in the site's fleet order)."""

    def __init__(self, fleets: Sequence[tuple[str, float, Sequence[DeviceInfo]]]) -> None:
        """``fleets``: (name, the site file's max power [MW], its discovered miners) per fleet."""
        self.fleets: list[FleetMiners] = []
        for name, max_mw, miners in fleets:
            ranked = tuple(sorted(miners, key=_merit_key))
            power = np.array([max(m.nominal_power_w, 0.0) for m in ranked])
            self.fleets.append(FleetMiners(name, ranked, max_mw, np.cumsum(power)))

    def running(self, fleet: int, power_mw: float) -> list[str]:
        """The miners of ``fleet`` that run for ``power_mw`` [MW], most efficient first."""
        group = self.fleets[fleet]
        if not group.miners or group.site_max_power_mw <= 0:
            return []
        share = min(max(power_mw / group.site_max_power_mw, 0.0), 1.0)
        target_w = share * group.nominal_w
        count = self.count_for(fleet, target_w)
        return [m.device_id for m in group.miners[:count]]

    def count_for(self, fleet: int, target_w: float) -> int:
        """How many miners, in merit order, come nearest to ``target_w`` [W]."""
        cum = self.fleets[fleet].cumulative_w
        if target_w <= 0 or not cum.size:
            return 0
        k = int(np.searchsorted(cum, target_w, side="right"))  # cum[k-1] <= target < cum[k]
        if k < cum.size:
            below = cum[k - 1] if k > 0 else 0.0
            if cum[k] - target_w < target_w - below - 1e-9:  # the next miner comes nearer
                k += 1
        return min(k, int(cum.size))

    def power_share(self, fleet: int, running: int) -> float:
        """The site-file power [MW] that ``running`` miners of ``fleet`` in merit order stand for."""
        group = self.fleets[fleet]
        if not group.miners or group.nominal_w <= 0:
            return 0.0
        w = float(group.cumulative_w[running - 1]) if running > 0 else 0.0
        return w / group.nominal_w * group.site_max_power_mw

    def mismatches(self, tolerance: float = 0.1) -> list[str]:
        """Fleets whose discovered miners' nominal power differs from the site file by more than
        ``tolerance`` (a share): stated at start, since the agent then scales to the miners found."""
        notes = []
        for g in self.fleets:
            site_w = g.site_max_power_mw * 1e6
            if site_w > 0 and abs(g.nominal_w - site_w) > tolerance * site_w:
                notes.append(
                    f"fleet {g.fleet!r}: the site file says {g.site_max_power_mw:g} MW, the {len(g.miners)} "
                    f"miners found draw {g.nominal_w / 1e6:.4g} MW nominal: its decided power is applied "
                    "as a share of the miners found"
                )
        return notes
