"""A policy handed the realised data of the whole window before the run: the hindsight bound.

Only the backtest calls :meth:`HindsightPolicy.prepare`; a live controller has no realised future to
give. Its results are an upper bound, never a strategy, and every output labels them so.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from powerfirst._types import Array
from powerfirst.control.contract import Policy
from powerfirst.dispatch.inputs import DispatchInputs

__all__ = ["HindsightPolicy"]


class HindsightPolicy(Policy):
    """A policy that is given the realised data of the whole window: an upper bound, not a strategy."""

    uses_hindsight: ClassVar[bool] = True

    @abstractmethod
    def prepare(self, realised: DispatchInputs, initial_power_mw: Array) -> None:
        """Receive the realised window before the run (only the backtest calls this)."""
