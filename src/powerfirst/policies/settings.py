"""What every strategy's settings model shares, and how a strategy finds settings in the site's
validated ``strategies:`` section.

Each strategy module defines its own settings model (a :class:`StrategySettings`: strict like the
site file: YAML ``yes`` is not a number, ``"5"`` is not 5, NaN and infinity are not values); the
registry (:mod:`powerfirst.policies.registry`) gathers them into the ``strategies:`` section.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["StrategySettings", "settings_of"]


class StrategySettings(BaseModel):
    """Base of every strategy's settings model (and of the ``strategies:`` section itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


SettingsT = TypeVar("SettingsT", bound=StrategySettings)


def settings_of(strategies: BaseModel, model: type[SettingsT]) -> SettingsT:
    """The settings of type ``model`` in a validated ``strategies:`` section (a strategy may read
    another's: ``rule-based`` runs the strike-price rule with ``breakeven``'s settings)."""
    for name in type(strategies).model_fields:
        value = getattr(strategies, name)
        if type(value) is model:
            return value
    raise LookupError(f"the strategies section has no {model.__name__} (is its strategy registered?)")
