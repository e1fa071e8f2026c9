"""``perfect``: the hindsight optimum over the whole window. An upper bound, not a strategy."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from powerfirst._types import Array
from powerfirst.control.contract import Observation
from powerfirst.control.decision import Decision
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.optimize import DispatchPlan, optimize_dispatch
from powerfirst.errors import PolicyError
from powerfirst.policies.hindsight import HindsightPolicy
from powerfirst.site.params import SiteParams
from powerfirst.site.schema import Site
from powerfirst.solver import Solver

__all__ = ["PerfectHindsightPolicy"]


class PerfectHindsightPolicy(HindsightPolicy):
    """Solves the co-optimization over the realised window once, then replays the plan
    (every stream: fleets, the GPU hall's split, heat, ancillary offers)."""

    name: ClassVar[str] = "perfect"
    label: ClassVar[str] = "perfect hindsight (upper bound: knows every future price; not achievable)"

    def __init__(self, solver: Solver | None = None) -> None:
        self.solver = solver
        self.plan: DispatchPlan | None = None

    @classmethod
    def from_settings(cls, site: Site, strategies: BaseModel, timezone: str) -> PerfectHindsightPolicy:
        """The policy for ``site`` (it has no settings)."""
        return cls()

    def reset(self, site: SiteParams) -> None:
        super().reset(site)
        self.plan = None

    def prepare(self, realised: DispatchInputs, initial_power_mw: Array) -> None:
        self.plan = optimize_dispatch(realised, initial_power_mw=initial_power_mw, solver=self.solver)

    def decide(self, obs: Observation) -> Decision:
        if self.plan is None:
            raise PolicyError(
                "perfect: prepare() must run before decide() (only a backtest can give hindsight)"
            )
        return self.plan.schedule.decision(obs.step)
