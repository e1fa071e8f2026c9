"""The rules fleets run today: always on, and the strike-price (breakeven) rule with its settings."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field

from powerfirst._types import Array
from powerfirst.control.contract import Observation, Policy
from powerfirst.control.decision import Decision
from powerfirst.control.plant import fill_merit_order
from powerfirst.policies.settings import StrategySettings, settings_of
from powerfirst.site.params import SiteParams
from powerfirst.site.schema import Site

__all__ = ["AlwaysOnPolicy", "BreakevenPolicy", "BreakevenStrategyConfig"]


class BreakevenStrategyConfig(StrategySettings):
    """Parameters of the strike-price rule (``strategies.breakeven``; see :class:`BreakevenPolicy`)."""

    hysteresis_usd_per_mwh: float = Field(default=5.0, ge=0.0, le=1_000.0)
    """A fleet that was switched off returns only below breakeven minus this [USD/MWh]."""
    confirm_intervals: int = Field(default=1, ge=1, le=96)
    """Consecutive observed intervals past the threshold before switching [-]."""


class AlwaysOnPolicy(Policy):
    """Run every fleet at full power, up to the grid limit (most efficient fleets first)."""

    name: ClassVar[str] = "always-on"
    label: ClassVar[str] = "always on: every fleet at full power"

    @classmethod
    def from_settings(cls, site: Site, strategies: BaseModel, timezone: str) -> AlwaysOnPolicy:
        """The policy for ``site`` (it has no settings)."""
        return cls()

    def decide(self, obs: Observation) -> Decision | Array:
        return fill_merit_order(self.site.max_power_mw, self.site, obs.available_mw)


class BreakevenPolicy(Policy):
    """Strike-price curtailment, as fleet tools run it today.

    Each fleet's strike is its breakeven real-time price: mining revenue per MWh at the meter (net
    of pool fee, from the latest published hashprice) less the contract's adders. A running fleet is
    switched off when the last settled real-time price has been above its strike for
    ``confirm_intervals`` consecutive intervals; a fleet that is off returns when the price has been
    below strike − ``hysteresis_usd_per_mwh`` for ``confirm_intervals`` consecutive intervals.
    """

    name: ClassVar[str] = "breakeven"
    label: ClassVar[str] = "strike price: off while the last real-time price is above breakeven"

    def __init__(self, hysteresis_usd_per_mwh: float = 5.0, confirm_intervals: int = 1) -> None:
        self.hysteresis_usd_per_mwh = hysteresis_usd_per_mwh
        self.confirm_intervals = confirm_intervals

    @classmethod
    def from_settings(cls, site: Site, strategies: BaseModel, timezone: str) -> BreakevenPolicy:
        """The policy with ``strategies.breakeven``'s settings."""
        cfg = settings_of(strategies, BreakevenStrategyConfig)
        return cls(cfg.hysteresis_usd_per_mwh, cfg.confirm_intervals)

    def reset(self, site: SiteParams) -> None:
        super().reset(site)
        count = len(site.fleets)
        self.running = np.ones(count, dtype=bool)
        self.above = np.zeros(count, dtype=np.int64)
        self.below = np.zeros(count, dtype=np.int64)

    def strikes_usd_per_mwh(self, hashprice_usd_per_th_day: float) -> Array:
        return self.site.breakeven_usd_per_mwh(hashprice_usd_per_th_day)

    def decide(self, obs: Observation) -> Decision | Array:
        price = obs.last_price_usd_per_mwh
        if price is not None:
            strike = self.strikes_usd_per_mwh(obs.hashprice_usd_per_th_day)
            self.above = np.where(price > strike, self.above + 1, 0)
            self.below = np.where(price < strike - self.hysteresis_usd_per_mwh, self.below + 1, 0)
            switch_off = self.running & (self.above >= self.confirm_intervals)
            switch_on = ~self.running & (self.below >= self.confirm_intervals)
            self.running = (self.running & ~switch_off) | switch_on
        wanted = np.where(self.running, self.site.max_power_mw, self.site.min_power_mw)
        return fill_merit_order(wanted, self.site, obs.available_mw)
