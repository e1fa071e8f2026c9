"""The strategy registry: each strategy's settings model, the ``strategies:`` section validated
through it with the site file's messages, and the rule's defaults shared with the 4CP evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from powerfirst.errors import ConfigError
from powerfirst.fourcp.window import (
    RULE_WINDOW_END_HOUR,
    RULE_WINDOW_MONTHS,
    RULE_WINDOW_START_HOUR,
    RULE_WINDOW_WEEKDAYS_ONLY,
)
from powerfirst.policies.registry import REGISTRY, STRATEGIES, StrategiesConfig, make_policy, parse_site
from powerfirst.policies.rolling import RollingStrategyConfig
from powerfirst.policies.rule_based import RuleBasedPolicy, RuleBasedStrategyConfig
from powerfirst.policies.simple import BreakevenStrategyConfig
from powerfirst.site import schema


def _data(**extra: Any) -> dict[str, Any]:
    return {
        "name": "registry site",
        "grid": {"connection_limit_mw": 100.0},
        "contract": {"kind": "index", "price_series": "prices.csv:P"},
        "fleets": [{"name": "a", "units": 100, "hashrate_ths": 100.0, "power_w": 3000.0}],
        **extra,
    }


def test_each_strategy_with_settings_has_its_section() -> None:
    assert list(STRATEGIES) == list(REGISTRY)
    assert list(StrategiesConfig.model_fields) == ["breakeven", "rule_based", "rolling"]
    assert {s.section: s.settings for s in REGISTRY.values() if s.settings is not None} == {
        "breakeven": BreakevenStrategyConfig,
        "rule_based": RuleBasedStrategyConfig,
        "rolling": RollingStrategyConfig,
    }
    assert {name: s.label for name, s in REGISTRY.items()} == STRATEGIES


def test_the_site_layer_alone_keeps_the_section_raw() -> None:
    raw = schema.parse_site(_data(strategies={"breakeven": {"confirm_intervals": 3}}))
    assert raw.strategies == {"breakeven": {"confirm_intervals": 3}}
    full = parse_site(_data(strategies={"breakeven": {"confirm_intervals": 3}}))
    assert isinstance(full, schema.Site)
    assert full.strategies.breakeven.confirm_intervals == 3
    assert full.strategies.rolling == RollingStrategyConfig()


def test_a_raw_section_is_validated_when_a_policy_is_made_with_the_same_message() -> None:
    bad = _data(strategies={"rolling": {"horizon_hours": 500}, "rule_base": {}})
    with pytest.raises(ConfigError) as from_file:
        parse_site(bad)
    raw = schema.parse_site(bad)
    with pytest.raises(ConfigError) as from_policy:
        make_policy("rolling", raw)
    assert str(from_policy.value) == str(from_file.value)
    assert "strategies.rolling.horizon_hours = 500 hours: Input should be less than or equal to 168" in str(
        from_file.value
    )
    assert "strategies.rule_base: unknown field; did you mean 'rule_based'?" in str(from_file.value)
    policy = make_policy(
        "breakeven", schema.parse_site(_data(strategies={"breakeven": {"confirm_intervals": 4}}))
    )
    assert getattr(policy, "confirm_intervals") == 4  # noqa: B009


def test_the_rules_window_defaults_are_the_4cp_evaluations() -> None:
    cfg = RuleBasedStrategyConfig()
    assert cfg.fourcp_months == [6, 7, 8, 9] == list(RULE_WINDOW_MONTHS)
    assert (
        (cfg.fourcp_start_hour, cfg.fourcp_end_hour)
        == (15, 19)
        == (RULE_WINDOW_START_HOUR, RULE_WINDOW_END_HOUR)
    )
    assert cfg.weekdays_only is RULE_WINDOW_WEEKDAYS_ONLY is True
    policy = make_policy("rule-based", parse_site(_data()), "America/Chicago")
    assert isinstance(policy, RuleBasedPolicy)
    assert policy.config == cfg
