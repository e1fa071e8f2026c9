"""Strategies behind one Policy interface, and the registry the CLI uses."""

from __future__ import annotations

from powerfirst.control.contract import Observation, Policy
from powerfirst.control.plant import fill_merit_order
from powerfirst.policies.hindsight import HindsightPolicy
from powerfirst.policies.perfect import PerfectHindsightPolicy
from powerfirst.policies.registry import STRATEGIES, load_site, make_policy, parse_site
from powerfirst.policies.rolling import RollingPolicy
from powerfirst.policies.rule_based import RuleBasedPolicy
from powerfirst.policies.simple import AlwaysOnPolicy, BreakevenPolicy

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
    "load_site",
    "make_policy",
    "parse_site",
]
