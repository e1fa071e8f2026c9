"""pyasic, imported once with its import-time deprecation warnings silenced.

pyasic 0.79 still declares class-based pydantic ``Config`` and its dependency passlib imports the
``crypt`` module Python 3.13 removes; those warnings are raised while pyasic imports and say nothing
about this project (whose tests turn warnings into errors).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import pyasic
    from pyasic import settings as pyasic_settings
    from pyasic.config.mining import MiningModeConfig
    from pyasic.miners.antminer import BMMinerS19jPro
    from pyasic.miners.backends.antminer import AntminerModern
    from pyasic.miners.factory import MinerFactory

__all__ = [
    "AntminerModern",
    "BMMinerS19jPro",
    "MinerFactory",
    "MiningModeConfig",
    "pyasic",
    "pyasic_settings",
]
