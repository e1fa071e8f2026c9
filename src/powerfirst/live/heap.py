"""Keep the garbage collector off a fleet's long-lived objects during a command wave.

After setup the agent (and the emulator) hold tens of thousands of long-lived objects — a
driver object, a cached configuration and a kept connection per miner, the plant, the policy's
models. CPython's cyclic collector walks every tracked object on each full collection, and a
command wave to 10,000 miners allocates enough (tasks, requests, answers) to trigger several:
measured on the fan-out benchmark, a large part of the agent's CPU for the wave went to the
collector. :func:`freeze_setup` collects once and moves every object alive into the permanent
generation (:func:`gc.freeze`), which collections skip; objects made later are collected as usual.
Call it at the end of setup (and again after a rediscovery); it frees nothing that is still alive
and keeps nothing alive that would otherwise be freed.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_setup"]


def freeze_setup() -> int:
    """Collect, then freeze every object alive; returns how many are frozen now."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
