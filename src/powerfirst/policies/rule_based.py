"""``rule-based``: how hybrid mining + GPU sites are run today.

* ASICs follow the strike-price rule (:class:`~powerfirst.policies.simple.BreakevenPolicy`);
* in the configured 4CP window (afternoon hours, market-local, on weekdays of the summer months)
  the ASICs are curtailed to must-run, whatever the price;
* GPUs always serve at full load (the site's default rule: inference demand, then training jobs
  by earliest deadline at their most GPUs, then rentals);
* heat is sold up to what the customer takes; no ancillary-service offers.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from powerfirst._types import Array
from powerfirst.control.contract import Observation
from powerfirst.control.decision import Decision
from powerfirst.control.plant import fill_merit_order
from powerfirst.policies.simple import BreakevenPolicy
from powerfirst.site.streams import RuleBasedStrategyConfig

__all__ = ["RuleBasedPolicy"]


class RuleBasedPolicy(BreakevenPolicy):
    name: ClassVar[str] = "rule-based"
    label: ClassVar[str] = (
        "rules of today: ASICs on strike price and off in 4CP afternoon windows, GPUs at full load, no AS offers"
    )

    def __init__(
        self,
        config: RuleBasedStrategyConfig,
        timezone: str,
        *,
        hysteresis_usd_per_mwh: float = 5.0,
        confirm_intervals: int = 1,
    ) -> None:
        super().__init__(hysteresis_usd_per_mwh, confirm_intervals)
        self.config = config
        self.timezone = timezone
        self.months = frozenset(config.fourcp_months)

    def in_fourcp_window(self, obs: Observation) -> bool:
        local = obs.interval_start_utc.tz_convert(self.timezone)
        cfg = self.config
        if local.month not in self.months:
            return False
        if cfg.weekdays_only and local.day_of_week >= 5:
            return False
        return cfg.fourcp_start_hour <= local.hour < cfg.fourcp_end_hour

    def decide(self, obs: Observation) -> Decision | Array:
        power = np.asarray(super().decide(obs))
        if self.in_fourcp_window(obs):
            power = fill_merit_order(self.site.min_power_mw, self.site, obs.available_mw)
        return Decision(power_mw=power)
