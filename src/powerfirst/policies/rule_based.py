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
from pydantic import BaseModel, Field, model_validator

from powerfirst._types import Array
from powerfirst.control.contract import Observation
from powerfirst.control.decision import Decision
from powerfirst.control.plant import fill_merit_order
from powerfirst.fourcp.window import (
    RULE_WINDOW_END_HOUR,
    RULE_WINDOW_MONTHS,
    RULE_WINDOW_START_HOUR,
    RULE_WINDOW_WEEKDAYS_ONLY,
)
from powerfirst.policies.settings import StrategySettings, settings_of
from powerfirst.policies.simple import BreakevenPolicy, BreakevenStrategyConfig
from powerfirst.site.schema import Site

__all__ = ["RuleBasedPolicy", "RuleBasedStrategyConfig"]


class RuleBasedStrategyConfig(StrategySettings):
    """Parameters of the ``rule-based`` strategy (hybrid sites as run today).

    ASICs follow the strike-price rule; in the 4CP window (``fourcp_start_hour`` to
    ``fourcp_end_hour``, market-local, on weekdays of ``fourcp_months``) they are curtailed to
    must-run. GPUs always serve at full load; no ancillary services are offered.
    """

    fourcp_months: list[int] = Field(default_factory=lambda: list(RULE_WINDOW_MONTHS), max_length=12)
    fourcp_start_hour: int = Field(default=RULE_WINDOW_START_HOUR, ge=0, le=23)
    fourcp_end_hour: int = Field(default=RULE_WINDOW_END_HOUR, ge=1, le=24)
    weekdays_only: bool = RULE_WINDOW_WEEKDAYS_ONLY

    @model_validator(mode="after")
    def _check(self) -> RuleBasedStrategyConfig:
        if self.fourcp_end_hour <= self.fourcp_start_hour:
            raise ValueError(
                f"fourcp_end_hour {self.fourcp_end_hour} must be after fourcp_start_hour {self.fourcp_start_hour}"
            )
        bad = [m for m in self.fourcp_months if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"fourcp_months must be month numbers 1-12; got {bad}")
        return self


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

    @classmethod
    def from_settings(cls, site: Site, strategies: BaseModel, timezone: str) -> RuleBasedPolicy:
        """The policy with ``strategies.rule_based``'s window and ``strategies.breakeven``'s
        strike-price settings; ``timezone`` is the market-local zone of the window."""
        cfg = settings_of(strategies, BreakevenStrategyConfig)
        return cls(
            settings_of(strategies, RuleBasedStrategyConfig),
            timezone,
            hysteresis_usd_per_mwh=cfg.hysteresis_usd_per_mwh,
            confirm_intervals=cfg.confirm_intervals,
        )

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
