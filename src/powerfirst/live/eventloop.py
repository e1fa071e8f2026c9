"""The event loop the agent, the emulator and their benchmarks run on: uvloop where installed.

The command path of a large fleet is socket work: 10,000 miners mean 10,000 connects, writes and
answers within seconds, and on 2 cores the asyncio loop's own bookkeeping is a large part of the
CPU it costs. uvloop (libuv under the asyncio API; MagicStack, widely used under uvicorn) runs the
same coroutines with a cheaper loop. It has no Windows build, so where it cannot be imported the
standard loop runs the same code. ``POWERFIRST_EVENT_LOOP=asyncio`` in the environment chooses the
standard loop anyway (to compare the two, or to rule the loop out when chasing a problem).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["loop_name", "run"]

T = TypeVar("T")


def _factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if os.environ.get("POWERFIRST_EVENT_LOOP", "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:  # no build for this platform: the standard loop
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    """``uvloop x.y.z`` or ``asyncio`` (for benchmark headers and the agent's start line)."""
    from importlib.metadata import PackageNotFoundError, version

    if _factory() is None:
        return "asyncio"
    try:
        return f"uvloop {version('uvloop')}"
    except PackageNotFoundError:  # importable but not installed as a distribution
        return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new loop (uvloop where installed), as :func:`asyncio.run`."""
    with asyncio.Runner(loop_factory=_factory()) as runner:
        return runner.run(main)
