"""The agent's clocks: the wall clock, and a replay clock that runs ``speed`` times faster.

Both count seconds since the epoch (UTC) as floats. A replay clock starts at a chosen instant of
history and advances ``speed`` seconds per real second (``--speed 900``: 15 minutes per second),
so a day of prices replays through real devices in 96 s.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod

__all__ = ["AgentClock", "ReplayClock", "WallClock"]


class AgentClock(ABC):
    """Seconds since the epoch (UTC) on the agent's time line."""

    speed: float = 1.0
    """Agent seconds per real second."""

    @abstractmethod
    def now(self) -> float:
        """The current instant [s since the epoch, UTC]."""

    async def sleep_until(self, instant_s: float) -> None:
        """Wait until ``instant_s`` on this clock (at once when it has passed)."""
        left = instant_s - self.now()
        if left > 0:
            await asyncio.sleep(left / self.speed)

    def real_seconds(self, agent_seconds: float) -> float:
        """Real time that ``agent_seconds`` of this clock take [s]."""
        return agent_seconds / self.speed


class WallClock(AgentClock):
    """The real time."""

    def now(self) -> float:
        return time.time()


class ReplayClock(AgentClock):
    """History replayed from ``start_s`` at ``speed`` agent seconds per real second."""

    def __init__(self, start_s: float, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 agent seconds per real second, got {speed}")
        self.start_s = start_s
        self.speed = speed
        self._origin = time.monotonic()

    def now(self) -> float:
        return self.start_s + (time.monotonic() - self._origin) * self.speed

    def jump(self, instant_s: float) -> None:
        """Go on from ``instant_s`` (a resumed replay skips the intervals it had done)."""
        self.start_s = instant_s
        self._origin = time.monotonic()
