"""ASIC miners through pyasic: ``driver`` (:class:`MinerDriver`, its settings in ``config``), its fast
path for stock Antminers (``stock_bulk``, ``cgminer_rpc``) and ``telemetry`` (status rules)."""

from powerfirst.live.miners.driver import FirmwareTimeouts, MinerDriver, MinerDriverConfig
from powerfirst.live.miners.telemetry import StatusRules, classify

__all__ = ["FirmwareTimeouts", "MinerDriver", "MinerDriverConfig", "StatusRules", "classify"]
