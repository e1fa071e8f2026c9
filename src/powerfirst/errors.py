"""The one exception hierarchy of powerfirst.

Every error carries enough context to act on it: the field, the value, the unit and the limit
for bad input; the source and the row for bad data; the solver status and an explanation for a
failed optimisation.

    PowerfirstError
    ├── ConfigError          a site file or a CLI option is invalid
    ├── DataError            market or Bitcoin data is missing, unparsable or does not cover a window
    ├── SolverError          the solver failed or stopped without a usable solution
    │   └── InfeasibleError  the site's constraints cannot all hold; ``explanation`` says which
    ├── PolicyError          a policy returned a decision of the wrong shape or kind
    └── AgentError           the live agent cannot go on safely (journal unreadable, held by another)
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "ConfigError",
    "DataError",
    "InfeasibleError",
    "PolicyError",
    "PowerfirstError",
    "SolverError",
]


class PowerfirstError(Exception):
    """Base class of every error raised by powerfirst."""


class ConfigError(PowerfirstError):
    """Invalid site file or option. The message names the field, the value, the unit and the limit."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class DataError(PowerfirstError):
    """Market or Bitcoin data that is missing, unparsable or does not cover the requested window."""


class SolverError(PowerfirstError):
    """The solver failed, or stopped without a usable solution."""

    def __init__(self, message: str, *, status: str | None = None) -> None:
        self.status = status
        super().__init__(message)


class InfeasibleError(SolverError):
    """The constraints of the site cannot all hold at once.

    ``explanation`` lists the conflicting constraints in words (from the solver's irreducible
    infeasible subset where it has one).
    """

    def __init__(self, message: str, *, explanation: list[str]) -> None:
        self.explanation = explanation
        detail = "\n".join(f"  - {line}" for line in explanation)
        super().__init__(f"{message}\n{detail}" if explanation else message, status="infeasible")


class PolicyError(PowerfirstError):
    """A policy returned a decision that the site cannot interpret."""


class AgentError(PowerfirstError):
    """The live agent cannot go on safely: its journal is unreadable or held by another agent."""
