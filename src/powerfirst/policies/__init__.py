"""Strategies behind one Policy interface, and the registry the CLI uses."""

from __future__ import annotations

from powerfirst.control.contract import Observation, Policy
from powerfirst.control.plant import fill_merit_order
from powerfirst.errors import ConfigError
from powerfirst.forecast.base import make_forecaster
from powerfirst.fourcp.predictor import FourCpPredictor
from powerfirst.policies.hindsight import HindsightPolicy
from powerfirst.policies.perfect import PerfectHindsightPolicy
from powerfirst.policies.rolling import RollingPolicy
from powerfirst.policies.rule_based import RuleBasedPolicy
from powerfirst.policies.simple import AlwaysOnPolicy, BreakevenPolicy
from powerfirst.site.schema import Site

__all__ = [
    "STRATEGIES",
    "AlwaysOnPolicy",
    "BreakevenPolicy",
    "HindsightPolicy",
    "Observation",
    "PerfectHindsightPolicy",
    "Policy",
    "RollingPolicy",
    "RuleBasedPolicy",
    "fill_merit_order",
    "make_policy",
]

STRATEGIES: dict[str, str] = {
    PerfectHindsightPolicy.name: PerfectHindsightPolicy.label,
    BreakevenPolicy.name: BreakevenPolicy.label,
    AlwaysOnPolicy.name: AlwaysOnPolicy.label,
    RuleBasedPolicy.name: RuleBasedPolicy.label,
    RollingPolicy.name: RollingPolicy.label,
}


def make_policy(name: str, site: Site, timezone: str = "UTC") -> Policy:
    """The policy called ``name``, configured from the site's ``strategies`` section.

    ``timezone`` is the market-local zone (the rule-based 4CP window is in local hours)."""
    if name == PerfectHindsightPolicy.name:
        return PerfectHindsightPolicy()
    if name == BreakevenPolicy.name:
        cfg = site.strategies.breakeven
        return BreakevenPolicy(cfg.hysteresis_usd_per_mwh, cfg.confirm_intervals)
    if name == AlwaysOnPolicy.name:
        return AlwaysOnPolicy()
    if name == RuleBasedPolicy.name:
        cfg = site.strategies.breakeven
        return RuleBasedPolicy(
            site.strategies.rule_based,
            timezone,
            hysteresis_usd_per_mwh=cfg.hysteresis_usd_per_mwh,
            confirm_intervals=cfg.confirm_intervals,
        )
    if name == RollingPolicy.name:
        rolling = site.strategies.rolling
        return RollingPolicy(
            rolling,
            make_forecaster(rolling.forecast),
            timezone,
            fourcp=FourCpPredictor() if site.fourcp is not None else None,
        )
    raise ConfigError(f"--strategy = {name!r}: unknown strategy; choose from {', '.join(STRATEGIES)}")
