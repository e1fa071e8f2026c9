"""The score of ``powerfirst sites rank``: weighted, min–max normalised components.

Each component's raw figure is normalised over the candidates to 0 (the worst) … 1 (the best),
``higher`` or ``lower`` being better; when every candidate has the same figure each gets 1; a
missing figure (NaN) gets 0. Points = 100 × weight / Σ weights × normalised; the score (0–100) is
the sum of the points. The normalisation is relative: adding a candidate can move the others'
scores, never their order on a single component.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from powerfirst.planning.ranking_result import ScoreComponent

__all__ = ["COMPONENTS", "ComponentSpec", "score_components"]


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    """The weight's name in the candidates file."""
    label: str
    unit: str
    better: Literal["higher", "lower"]


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("value", "value per MW of the use ranked", "USD/MW-year", "higher"),
    ComponentSpec(
        "below_breakeven", "share of priced hours below the mining breakeven", "fraction", "higher"
    ),
    ComponentSpec("negative_prices", "share of priced hours with a negative price", "fraction", "higher"),
    ComponentSpec("volatility", "volatility of hourly prices", "USD/MWh", "lower"),
    ComponentSpec("policy_risk", "policy risk (the user's score)", "0 to 10", "lower"),
)
"""The components, in the order shown."""


def _normalised(value: float, values: Sequence[float], better: str) -> float:
    finite = [v for v in values if math.isfinite(v)]
    if not math.isfinite(value):
        return 0.0
    low, high = min(finite), max(finite)
    if high - low <= 1e-12 * max(1.0, abs(high)):
        return 1.0
    share = (value - low) / (high - low)
    return share if better == "higher" else 1.0 - share


def score_components(
    raw: Sequence[Mapping[str, float]], weights: Mapping[str, float]
) -> list[list[ScoreComponent]]:
    """For each candidate's raw figures (by component name), its scored components."""
    total = sum(weights.values())
    scored: list[list[ScoreComponent]] = []
    for figures in raw:
        parts = []
        for spec in COMPONENTS:
            column = [r[spec.name] for r in raw]
            value = figures[spec.name]
            normalised = _normalised(value, column, spec.better)
            weight = weights[spec.name] / total
            parts.append(
                ScoreComponent(
                    name=spec.name,
                    label=spec.label,
                    raw=value if math.isfinite(value) else None,
                    unit=spec.unit,
                    better=spec.better,
                    normalised=normalised,
                    weight=weight,
                    points=100.0 * weight * normalised,
                )
            )
        scored.append(parts)
    return scored
