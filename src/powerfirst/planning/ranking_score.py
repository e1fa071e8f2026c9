"""The score of ``powerfirst sites rank``: weighted components, each relative to the best candidate.

Each component's raw figure is scored 0 … 1 (1 = the best candidate) by its ratio to the best, so
that two candidates do not collapse to 0 and 1 whatever their gap (min–max normalisation did):

* ``higher`` is better: value / best when the best is > 0 (a value ≤ 0 scores 0); when every value
  is ≤ 0, best / value (a loss twice the best's scores 0.5); all 0: each 1;
* ``lower`` is better: best / value (a volatility twice the best's scores 0.5); best 0: 1 for a 0,
  else 0;
* a component with a fixed scale (policy risk, 0–10) scores against it: 1 − value / scale.

A missing figure (NaN) scores 0. Points = 100 × weight / Σ weights × score; the candidate's score
(0–100) is the sum of the points. Adding a candidate can move the others' scores only by changing
the best, never their order on a single component.
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
    scale: float | None = None
    """A fixed scale the figure is scored on (0 = best, ``scale`` = worst); None: relative to the best."""


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec(
        "value", "value per MW of the use ranked, net of capital (capex × CRF)", "USD/MW-year", "higher"
    ),
    ComponentSpec(
        "below_breakeven", "share of priced hours below the mining breakeven", "fraction", "higher"
    ),
    ComponentSpec("negative_prices", "share of priced hours with a negative price", "fraction", "higher"),
    ComponentSpec("volatility", "volatility of hourly prices", "USD/MWh", "lower"),
    ComponentSpec("policy_risk", "policy risk (the user's score)", "0 to 10", "lower", scale=10.0),
)
"""The components, in the order shown."""


def _normalised(value: float, values: Sequence[float], spec: ComponentSpec) -> float:
    """``value``'s score 0 … 1 among ``values`` (see the module docstring)."""
    if not math.isfinite(value):
        return 0.0
    if spec.scale is not None:
        return min(max(1.0 - value / spec.scale, 0.0), 1.0)
    finite = [v for v in values if math.isfinite(v)]
    if spec.better == "higher":
        best = max(finite)
        if best > 0.0:
            return max(value, 0.0) / best
        if best == 0.0:
            return 1.0 if value == 0.0 else 0.0
        return best / value
    best = min(finite)
    if best <= 0.0:
        return 1.0 if value == best else 0.0
    return best / value


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
            normalised = _normalised(value, column, spec)
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
