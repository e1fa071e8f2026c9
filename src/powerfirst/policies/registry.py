"""The strategies, by name: each one's policy class, settings model and one-line label.

Adding a strategy is one module (its policy, with a ``from_settings`` constructor, and its settings
model, a :class:`~powerfirst.policies.settings.StrategySettings`) plus one line in :data:`_REGISTRY`.

The site file's ``strategies:`` section holds each strategy's settings under its name (``-`` read as
``_``: ``strategies.rule_based``). The site layer keeps that section as raw mappings; the functions
here validate it with the rest of the file (:func:`load_site`, :func:`parse_site`), so that its
errors read like any other field's (the field path, the value, the unit and the limit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, create_model

from powerfirst.control.contract import Policy
from powerfirst.errors import ConfigError
from powerfirst.policies.perfect import PerfectHindsightPolicy
from powerfirst.policies.rolling import RollingPolicy, RollingStrategyConfig
from powerfirst.policies.rule_based import RuleBasedPolicy, RuleBasedStrategyConfig
from powerfirst.policies.settings import StrategySettings
from powerfirst.policies.simple import AlwaysOnPolicy, BreakevenPolicy, BreakevenStrategyConfig
from powerfirst.site import schema
from powerfirst.site.schema import Site

__all__ = [
    "REGISTRY",
    "STRATEGIES",
    "StrategiesConfig",
    "Strategy",
    "load_site",
    "make_policy",
    "parse_site",
    "strategy_settings",
]


@dataclass(frozen=True)
class Strategy:
    """One strategy: its policy class, how it is built and its settings model."""

    policy: type[Policy]
    build: Callable[[Site, BaseModel, str], Policy]
    """The policy for a site, from the validated ``strategies:`` section and the market-local zone."""
    settings: type[StrategySettings] | None = None
    """Its settings model (``strategies.<name>``); None: it has no settings."""

    @property
    def name(self) -> str:
        """The ``--strategy`` value."""
        return self.policy.name

    @property
    def label(self) -> str:
        """One line saying what it does."""
        return self.policy.label

    @property
    def section(self) -> str:
        """Its key in the site file's ``strategies:`` section."""
        return self.name.replace("-", "_")


_REGISTRY: tuple[Strategy, ...] = (
    Strategy(PerfectHindsightPolicy, PerfectHindsightPolicy.from_settings),
    Strategy(BreakevenPolicy, BreakevenPolicy.from_settings, BreakevenStrategyConfig),
    Strategy(AlwaysOnPolicy, AlwaysOnPolicy.from_settings),
    Strategy(RuleBasedPolicy, RuleBasedPolicy.from_settings, RuleBasedStrategyConfig),
    Strategy(RollingPolicy, RollingPolicy.from_settings, RollingStrategyConfig),
)
"""Every strategy, in the order the CLI lists and runs them."""

REGISTRY: dict[str, Strategy] = {s.name: s for s in _REGISTRY}
"""Strategy name (the ``--strategy`` value) → its entry."""

STRATEGIES: dict[str, str] = {s.name: s.label for s in _REGISTRY}
"""Strategy name → one-line label."""

_SETTINGS: dict[str, Any] = {
    s.section: (s.settings, Field(default_factory=s.settings)) for s in _REGISTRY if s.settings is not None
}

StrategiesConfig: type[StrategySettings] = create_model(
    "StrategiesConfig", __base__=StrategySettings, __module__=__name__, **_SETTINGS
)
"""The site file's ``strategies:`` section: each strategy's settings under its section key."""

_SECTION = create_model(
    "Site",
    __base__=StrategySettings,
    __module__=__name__,
    strategies=(StrategiesConfig, Field(default_factory=StrategiesConfig)),
)
"""The ``strategies:`` section alone, for a site validated without it."""


def parse_site(
    data: Any, *, source: str | None = "<site>", options: Mapping[tuple[str, ...], str] | None = None
) -> Site:
    """Validate a site given as a mapping (already parsed YAML), its ``strategies:`` section
    included (see :func:`powerfirst.site.schema.parse_site`)."""
    return schema.parse_site(data, source=source, options=options, strategies=StrategiesConfig)


def load_site(path: str | Path) -> Site:
    """Read and validate a site YAML file, its ``strategies:`` section included. Nothing is run on
    an invalid file."""
    return schema.load_site(path, strategies=StrategiesConfig)


def strategy_settings(site: Site) -> BaseModel:
    """The site's validated ``strategies:`` section; a site read without it (by
    :mod:`powerfirst.site.schema` alone) has it validated now, with the site file's messages."""
    section: object = site.strategies
    if isinstance(section, StrategiesConfig):
        return section
    data = {"strategies": section}
    try:
        validated: BaseModel = getattr(_SECTION.model_validate(data), "strategies")  # noqa: B009
        return validated
    except ValidationError as exc:
        raise schema.site_error(exc, _SECTION, data, source="<site>") from None


def known_strategy(name: str) -> str:
    """``name`` when a strategy of that name is registered, else ValueError naming the strategies
    (for the validators of files that name a strategy: the scenario's margins, the candidates)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown strategy; one of {', '.join(REGISTRY)}")
    return name


def make_policy(name: str, site: Site, timezone: str = "UTC") -> Policy:
    """The policy called ``name``, configured from the site's ``strategies`` section.

    ``timezone`` is the market-local zone (the rule-based 4CP window is in local hours)."""
    strategy = REGISTRY.get(name)
    if strategy is None:
        raise ConfigError(f"--strategy = {name!r}: unknown strategy; choose from {', '.join(STRATEGIES)}")
    return strategy.build(site, strategy_settings(site), timezone)
