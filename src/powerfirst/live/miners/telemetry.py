"""From one miner's telemetry to a :class:`DeviceStatus`: the rules, kept apart from the I/O.

A miner told to sleep is CURTAILED only once its hashrate is gone *and* (where it reports power) its
power is down to idle; before that it is TRANSITIONING. An awake miner is RUNNING once its hashrate
reaches ``running_fraction`` of what it should make at its settings, TRANSITIONING while it warms up.
Units: TH/s, W.
"""

from __future__ import annotations

from dataclasses import dataclass

from powerfirst.errors import ConfigError
from powerfirst.live.devices import DeviceStatus

__all__ = ["NAMEPLATE_J_PER_TH", "StatusRules", "classify", "parse_power_w"]

NAMEPLATE_J_PER_TH: dict[str, float] = {
    "S19j Pro": 29.5,
    "S19 Pro": 29.5,
    "S19 XP": 21.5,
    "S21": 17.5,
}
"""Vendor nameplate efficiency per model [J/TH], for a miner that is not hashing when discovered."""


@dataclass(frozen=True)
class StatusRules:
    """Thresholds of :func:`classify`."""

    running_fraction: float = 0.9
    """Awake and at least this share of the expected hashrate: RUNNING."""
    stopped_fraction: float = 0.01
    """Asleep and at most this share of the expected hashrate (or none): hashing has stopped."""
    idle_power_max_w: float = 100.0
    """Asleep and at most this power (where reported): CURTAILED [W]."""

    def __post_init__(self) -> None:
        for name in ("running_fraction", "stopped_fraction"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"{name}: {value} is outside 0–1 (a share of the expected hashrate)")
        if not 0 <= self.idle_power_max_w <= 1000:
            raise ConfigError(f"idle_power_max_w: {self.idle_power_max_w} W is outside 0–1000 W")


def classify(
    mining: bool | None,
    hashrate_ths: float | None,
    expected_ths: float | None,
    power_w: float | None,
    rules: StatusRules,
) -> tuple[DeviceStatus, str]:
    """Status and a short reason from what the miner reports.

    ``mining`` is the firmware's own flag (False: its work mode is sleep); ``expected_ths`` the
    hashrate its settings should give (None: unknown, then any hashrate counts as running).
    """
    if hashrate_ths is None:
        return DeviceStatus.UNAVAILABLE, "no hashrate in the answer"
    scale = expected_ths if expected_ths and expected_ths > 0 else None
    if mining is False:
        stopped = hashrate_ths <= (rules.stopped_fraction * scale if scale else 0.0)
        idle = power_w is None or power_w <= rules.idle_power_max_w
        if stopped and idle:
            return DeviceStatus.CURTAILED, "asleep"
        return DeviceStatus.TRANSITIONING, "going to sleep"
    if scale is None:
        if hashrate_ths > 0:
            return DeviceStatus.RUNNING, "hashing"
        return DeviceStatus.TRANSITIONING, "awake, not hashing yet"
    if hashrate_ths >= rules.running_fraction * scale:
        return DeviceStatus.RUNNING, "hashing"
    return DeviceStatus.TRANSITIONING, f"warming up ({hashrate_ths / scale:.0%} of expected hashrate)"


def parse_power_w(stats_body: dict[str, object]) -> float | None:
    """Wall power from bmminer ``stats`` (``chain_power: "3068 W"`` or a numeric ``power``) [W]."""
    raw = stats_body.get("chain_power")
    if isinstance(raw, str) and raw.split():
        try:
            return float(raw.split()[0])
        except ValueError:
            return None
    for key in ("power", "Power"):
        value = stats_body.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None
