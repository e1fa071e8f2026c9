"""The site's physics: what a decision may physically do.

Fleet power within [must-run, available] in whole switch blocks, and all fleets together within
the grid limit, the most profitable fleets first.
"""

from __future__ import annotations

import numpy as np

from powerfirst._types import Array
from powerfirst.site.params import SiteParams

__all__ = ["fill_merit_order"]


def _whole_blocks(power_mw: Array, block_mw: Array) -> Array:
    """Round power down to whole switch blocks where a fleet has them (block 0: unchanged)."""
    blocked = block_mw > 0
    if not blocked.any():
        return power_mw
    rounded = power_mw.copy()
    rounded[blocked] = np.floor(power_mw[blocked] / block_mw[blocked] + 1e-6) * block_mw[blocked]
    return rounded


def fill_merit_order(
    wanted_mw: Array, site: SiteParams, available_mw: Array, *, grid_limit_mw: float | None = None
) -> Array:
    """Clip wanted fleet power to [min, available] and to the grid limit, keeping the most
    profitable fleets (highest mining revenue per MWh, i.e. lowest J/TH × PUE) first.

    Must-run power is placed first; the rest of the grid limit goes down the merit order. A fleet
    that switches in blocks gets whole blocks only (rounded down). ``grid_limit_mw`` is what the
    fleets may draw together (default: the site's limit; less when a GPU hall takes its share).
    """
    limit = site.grid_limit_mw if grid_limit_mw is None else grid_limit_mw
    low = site.min_power_mw
    blocks = site.switch_block_mw
    high = np.maximum(np.minimum(available_mw, site.max_power_mw), low)
    target = np.maximum(_whole_blocks(np.clip(wanted_mw, low, high), blocks), low)
    if target.sum() <= limit + 1e-9:
        return target
    result = low.copy()
    headroom = limit - result.sum()
    for f in site.merit_order:
        extra = min(target[f] - low[f], max(headroom, 0.0))
        if blocks[f] > 0:
            extra = float(np.floor(extra / blocks[f] + 1e-6) * blocks[f])
        result[f] += extra
        headroom -= extra
    return result
