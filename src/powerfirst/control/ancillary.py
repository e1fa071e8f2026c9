"""Ancillary-service (AS) offers: awarded for the clock hour, delivered from curtailable load.

The offer made in an hour's first interval is awarded for the whole hour: products not offered
this hour (no price) get nothing, negative offers are 0, and the total is scaled down to the site's
``max_offer_mw``. In each interval the award is scaled down to the fleets' curtailable load (their
power above must-run), since only that can be curtailed on a deployment.
"""

from __future__ import annotations

import numpy as np

from powerfirst._types import Array
from powerfirst.control.interval import IntervalInput
from powerfirst.site.params import SiteParams

__all__ = ["AncillaryAward"]

_AWARD_TOLERANCE_MW = 1e-6


class AncillaryAward:
    """The hour's AS award and what is offered from it in each interval (one per run)."""

    def __init__(self, site: SiteParams) -> None:
        self.params = site.ancillary
        self.award_mw = np.zeros(site.num_products)
        """Award of the current hour per product, (P,) [MW]."""
        self._must_run_mw = float(site.min_power_mw.sum())
        self._hour_id: int | None = None

    def apply(
        self, offer_mw: Array | None, interval: IntervalInput, fleet_power_mw: float, tolerance_mw: float
    ) -> tuple[Array, bool, bool]:
        """MW offered per product in the interval, (P,), whether the hour's award was cut from the
        offer (at the hour's first interval only), and whether the award was scaled to the
        curtailable load (by more than ``tolerance_mw`` in total).

        ``offer_mw`` is the policy's offer (None: no offer); ``fleet_power_mw`` the fleets' applied
        power in the interval [MW].
        """
        anc = self.params
        assert anc is not None
        award_cut = False
        if self._hour_id is None or interval.hour_id != self._hour_id:
            count = len(anc.products)
            offer = np.zeros(count) if offer_mw is None else np.asarray(offer_mw, dtype=np.float64)
            award = np.where(interval.as_available, np.clip(offer, 0.0, None), 0.0)
            if award.sum() > anc.max_offer_mw:
                award *= anc.max_offer_mw / award.sum()
            award_cut = bool(np.any(np.abs(award - offer) > _AWARD_TOLERANCE_MW))
            self.award_mw = award
        self._hour_id = interval.hour_id
        award = self.award_mw
        curtailable = fleet_power_mw - self._must_run_mw
        scale = min(1.0, curtailable / award.sum()) if award.sum() > 1e-12 else 1.0
        offered: Array = award * max(scale, 0.0)
        scaled = float(award.sum()) * (1.0 - max(scale, 0.0)) > tolerance_mw
        return offered, award_cut, scaled
