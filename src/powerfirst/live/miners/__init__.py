"""ASIC miners through pyasic: ``driver`` (:class:`MinerDriver`) and ``telemetry`` (status rules)."""

from powerfirst.live.miners.driver import FirmwareTimeouts, MinerDriver, MinerDriverConfig
from powerfirst.live.miners.telemetry import StatusRules, classify

__all__ = ["FirmwareTimeouts", "MinerDriver", "MinerDriverConfig", "StatusRules", "classify"]
