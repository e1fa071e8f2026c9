"""Emulated ASIC miners on loopback that speak the real protocols (for tests and load runs).

``model`` is the physics (work modes, warm-up, sleep, reboot), ``miner`` one miner with its injected
fault, ``cgminer_api`` the JSON API on TCP 4028, ``web_api`` the digest-protected web API on TCP 80
(``digest`` its authentication), ``fleet`` many miners on one loopback network.
"""

from powerfirst.live.emulator.fleet import Fleet, FleetConfig, fleet_addresses, raise_nofile_limit
from powerfirst.live.emulator.miner import EmulatedMiner, FaultTiming
from powerfirst.live.emulator.model import MODELS, Fault, ModelSpec, WorkMode

__all__ = [
    "MODELS",
    "EmulatedMiner",
    "Fault",
    "FaultTiming",
    "Fleet",
    "FleetConfig",
    "ModelSpec",
    "WorkMode",
    "fleet_addresses",
    "raise_nofile_limit",
]
